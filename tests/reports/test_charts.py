"""Server-side SVG charts: accessible, escaped, proportional."""

from __future__ import annotations

import re
from xml.etree import ElementTree

from learning.reports import charts

SVG = "{http://www.w3.org/2000/svg}"


def parse(markup: str) -> ElementTree.Element:
    return ElementTree.fromstring(markup)  # noqa: S314 - our own output, not untrusted input


def test_a_bar_chart_is_an_image_with_a_title_and_escaped_labels() -> None:
    items = [("<script>alert(1)</script>", 50.0), ("Fiji", None), ("Samoa", 100.0)]
    svg = charts.bar_chart("c1", "Rate <by> country", "Bars & figures", items, "%")
    assert "<script>" not in svg
    root = parse(svg)
    assert root.get("role") == "img" and root.get("aria-labelledby") == "c1-title c1-desc"
    assert root.find(f"{SVG}title").text == "Rate <by> country"  # type: ignore[union-attr]
    assert root.find(f"{SVG}desc").text == "Bars & figures"  # type: ignore[union-attr]
    widths = [float(r.get("width", "0")) for r in root.iter(f"{SVG}rect")]
    assert widths == [190.0, 0.0, 380.0]  # on a 0-100 % scale; no value draws no bar
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "<script>alert(1)</script>" in texts and "–" in texts and "50%" in texts


def test_a_long_label_is_shortened() -> None:
    svg = charts.bar_chart("c2", "t", "d", [("A very long organisation name that goes on and on", 5)])
    assert "A very long organisation name t…" in svg


def test_a_column_chart_scales_to_a_round_number_and_thins_its_labels() -> None:
    items = [(f"2026-{m:02d}", m * 7) for m in range(1, 13)] + [(f"2027-{m:02d}", 3) for m in range(1, 13)]
    root = parse(charts.column_chart("c3", "Completions", "by month", items, "completions"))
    heights = [float(r.get("height", "0")) for r in root.iter(f"{SVG}rect")]
    assert max(heights) == 200 * 84 / 100  # the axis tops at 100 for a maximum of 84
    labels = [t.text for t in root.iter(f"{SVG}text") if t.text and re.match(r"\d{4}-\d\d$", t.text)]
    assert 12 <= len(labels) < len(items)
    assert [t.text for t in root.iter(f"{SVG}title")][1] == "2026-01: 7 completions"


def test_an_empty_column_chart_still_draws() -> None:
    root = parse(charts.column_chart("c4", "Nothing", "no data", [], "completions"))
    assert root.get("role") == "img"


def test_the_funnel_narrows_with_each_stage() -> None:
    stages = [("Enrolled", 10), ("Started", 5), ("Completed", 0)]
    root = parse(charts.funnel_chart("c5", "Funnel", "stages", [("Course A", stages)]))
    widths = [float(r.get("width", "0")) for r in root.iter(f"{SVG}rect")]
    assert widths == [420.0, 210.0, 0.0]
