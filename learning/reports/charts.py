"""Charts drawn on the server as SVG: no script, no external resource, every text escaped.

Each chart is an image with a title and a description (role="img", aria-labelledby); the page puts the
table of its figures next to it, for screen readers and for copying. Colours are presentation
attributes, not styles, so that the Content-Security-Policy needs no exception.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

INK = "#1b1f24"
MUTED = "#4a5560"
LINE = "#d0d7de"
BAR = "#0b5394"
SECOND = "#7fa7d1"
FONT = 'font-family="system-ui, sans-serif"'


def _svg(chart_id: str, width: int, height: int, title: str, desc: str, body: list[str]) -> Markup:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{escape(chart_id)}" role="img" '
        f'aria-labelledby="{escape(chart_id)}-title {escape(chart_id)}-desc" viewBox="0 0 {width} {height}" '
        f'width="100%" preserveAspectRatio="xMinYMin meet" {FONT} font-size="13">'
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>'
        f'<desc id="{escape(chart_id)}-desc">{escape(desc)}</desc>'
    )
    # Every interpolated text is escaped (numbers and our constants are not text).
    # nosemgrep: markup-constructor
    return Markup(head + "".join(body) + "</svg>")  # noqa: S704  # nosec B704


def _number(value: float) -> str:
    return f"{value:.1f}" if isinstance(value, float) and not value.is_integer() else f"{value:.0f}"


def bar_chart(
    chart_id: str, title: str, desc: str, items: Sequence[tuple[str, float | None]], unit: str = ""
) -> Markup:
    """Horizontal bars, one per (label, value), largest scale 100 when ``unit`` is %, else the maximum."""
    label_width, bar_width, row = 230, 380, 26
    height = 10 + row * max(len(items), 1) + 10
    scale = 100.0 if unit == "%" else max([v or 0 for _, v in items] + [1])
    body = [
        f'<line x1="{label_width}" y1="6" x2="{label_width}" y2="{height - 6}" stroke="{LINE}"/>',
    ]
    for index, (label, value) in enumerate(items):
        y = 10 + index * row
        shown = "–" if value is None else f"{_number(value)}{unit}"
        length = 0.0 if value is None else bar_width * min(value, scale) / scale
        short = label if len(label) <= 32 else label[:31] + "…"
        body.append(
            f'<text x="{label_width - 8}" y="{y + 17}" text-anchor="end" fill="{INK}">{escape(short)}</text>'
            f'<rect x="{label_width}" y="{y + 4}" width="{length:.1f}" height="{row - 8}" fill="{BAR}"/>'
            f'<text x="{label_width + length + 6:.1f}" y="{y + 17}" fill="{INK}">{escape(shown)}</text>'
        )
    return _svg(chart_id, label_width + bar_width + 70, height, title, desc, body)


def column_chart(
    chart_id: str, title: str, desc: str, items: Sequence[tuple[str, int]], series: str
) -> Markup:
    """Vertical columns, one per (label, value): a trend over months."""
    left, top, plot_height, bottom = 48, 24, 200, 64
    count = max(len(items), 1)
    step = min(48.0, 640 / count)
    width = left + step * count + 20
    top_value = max([v for _, v in items] + [1])
    nice = _nice(top_value)
    body = []
    for tick in range(5):
        value = nice * tick / 4
        y = top + plot_height - plot_height * tick / 4
        body.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{width - 10:.1f}" y2="{y:.1f}" stroke="{LINE}"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{MUTED}">{_number(value)}</text>'
        )
    for index, (label, value) in enumerate(items):
        x = left + index * step
        height = plot_height * value / nice
        y = top + plot_height - height
        body.append(
            f'<rect x="{x + step * 0.15:.1f}" y="{y:.1f}" width="{step * 0.7:.1f}" height="{height:.1f}" '
            f'fill="{BAR}"><title>{escape(label)}: {value} {escape(series)}</title></rect>'
        )
        if count <= 12 or index % max(1, count // 12) == 0:
            lx, ly = x + step / 2, top + plot_height + 12
            body.append(
                f'<text x="{lx:.1f}" y="{ly:.1f}" text-anchor="end" fill="{INK}" '
                f'transform="rotate(-45 {lx:.1f} {ly:.1f})">{escape(label)}</text>'
            )
    body.append(f'<text x="{left}" y="14" fill="{MUTED}">{escape(series)}</text>')
    return _svg(chart_id, int(width), top + plot_height + bottom, title, desc, body)


def _nice(value: float) -> float:
    """A round number at least ``value`` for the top of an axis."""
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10.0 * magnitude  # pragma: no cover - the loop ends at 10 x magnitude, which covers any value


def funnel_chart(
    chart_id: str, title: str, desc: str, courses: Sequence[tuple[str, Sequence[tuple[str, int]]]]
) -> Markup:
    """For each course, its stages as bars centred on one axis, each as wide as its count."""
    label_width, bar_width, row = 150, 420, 24
    rows = sum(len(stages) + 1 for _, stages in courses)
    height = 10 + row * max(rows, 1)
    body = []
    y = 10
    for course, stages in courses:
        body.append(f'<text x="0" y="{y + 16}" font-weight="700" fill="{INK}">{escape(course)}</text>')
        y += row
        first = max(stages[0][1], 1) if stages else 1
        for stage, value in stages:
            length = bar_width * value / first
            x = label_width + (bar_width - length) / 2
            body.append(
                f'<text x="{label_width - 8}" y="{y + 16}" text-anchor="end" fill="{INK}">'
                f"{escape(stage)}</text>"
                f'<rect x="{x:.1f}" y="{y + 3}" width="{length:.1f}" height="{row - 6}" fill="{SECOND}"/>'
                f'<text x="{label_width + bar_width / 2}" y="{y + 16}" text-anchor="middle" '
                f'fill="{INK}">{value}</text>'
            )
            y += row
    return _svg(chart_id, label_width + bar_width + 20, height, title, desc, body)
