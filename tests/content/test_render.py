"""The one Markdown renderer: sanitized output, lesson links, citations."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from learning.content.render import count_words, render_markdown, sanitize

VECTORS = [
    "<script>alert(1)</script>",
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](vbscript:msgbox(1))",
    "![x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    '<img src=x onerror="alert(1)">',
    "<svg onload=alert(1)>",
    '<a href="javascript:alert(1)">x</a>',
    "[x](  javascript:alert(1))",
    "<iframe src=https://evil.example></iframe>",
    "<style>body{display:none}</style>",
    '[x](https://example.org "title" onmouseover="alert(1)")',
]


class ActiveContent(HTMLParser):
    """Collects what a browser would execute or load: elements, handlers and URL schemes."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {
            "script",
            "style",
            "iframe",
            "svg",
            "object",
            "embed",
            "form",
            "math",
            "base",
            "link",
            "meta",
        }:
            self.found.append(tag)
        for name, value in attrs:
            scheme = (value or "").strip().lower().split(":", 1)[0]
            if name.startswith("on") or (
                name in {"href", "src"} and ":" in (value or "") and scheme not in {"http", "https", "mailto"}
            ):
                self.found.append(f"{tag} {name}={value}")


def active_content(html: str) -> list[str]:
    parser = ActiveContent()
    parser.feed(html)
    return parser.found


@pytest.mark.parametrize("vector", VECTORS)
def test_dangerous_markup_never_survives(vector: str) -> None:
    html = render_markdown(vector)
    assert active_content(html) == [], html


@pytest.mark.parametrize("vector", VECTORS)
def test_sanitizing_twice_equals_once(vector: str) -> None:
    once = render_markdown(vector)
    assert sanitize(once) == once


def test_lesson_links_citations_and_tables() -> None:
    html = render_markdown(
        "See [B](lesson:b) [S18] [EGM].\n\n| a | b |\n|---|---|\n| 1 | 2 |",
        lambda slug: f"/courses/c/lessons/{slug}",
    )
    assert 'href="/courses/c/lessons/b"' in html
    assert '<a class="cite" href="#ref-S18"' in html and 'href="#ref-EGM"' in html
    assert "<table>" in html and "<td>1</td>" in html


def test_word_count_ignores_markup_and_citations() -> None:
    assert count_words("## Heading\n\nOne *two* [three](lesson:x) four's [S18].") == 5
    assert count_words("Việt Nam và Thái Lan") == 5
