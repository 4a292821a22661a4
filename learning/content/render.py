"""Markdown to sanitized HTML: the one renderer for lessons, previews and explanations."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

import nh3
from markdown_it import MarkdownIt

ALLOWED_TAGS = {
    "a",
    "abbr",
    "b",
    "blockquote",
    "br",
    "code",
    "del",
    "em",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "img",
    "li",
    "ol",
    "p",
    "pre",
    "s",
    "strong",
    "sub",
    "sup",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "tr",
    "ul",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title", "class"},
    "img": {"src", "alt", "title"},
    "th": {"align"},
    "td": {"align"},
    "ol": {"start"},
}
URL_SCHEMES = {"http", "https", "mailto"}
CITATION = re.compile(r"\[((?:S\d{1,3}[a-z]?)|EGM)\]")
LESSON_LINK = "lesson:"
WORD = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*")
TAG = re.compile(r"<[^>]+>")


@lru_cache(maxsize=1)
def _markdown() -> MarkdownIt:
    # Raw HTML in the source is not rendered: it comes out as escaped text.
    return MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")


def sanitize(html: str) -> str:
    """Return ``html`` reduced to the tags, attributes and URL schemes lessons may use."""
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer",
        strip_comments=True,
    )


def render_markdown(text: str, lesson_url: Callable[[str], str] | None = None) -> str:
    """Render Markdown to sanitized HTML; ``lesson:<slug>`` links go through ``lesson_url``."""
    md = _markdown()
    tokens = md.parse(text)
    for token in tokens:
        for child in token.children or ():
            if child.type == "link_open":
                href = str(child.attrGet("href") or "")
                if href.startswith(LESSON_LINK):
                    slug = href.removeprefix(LESSON_LINK)
                    child.attrSet("href", lesson_url(slug) if lesson_url else "#")
    html = md.renderer.render(tokens, md.options, {})
    html = CITATION.sub(r'<a class="cite" href="#ref-\1">[\1]</a>', html)
    return sanitize(html)


def lesson_links(text: str) -> list[tuple[int, str]]:
    """Return (line, slug) for every ``lesson:`` link in Markdown ``text``."""
    found = []
    for token in _markdown().parse(text):
        for child in token.children or ():
            href = str(child.attrGet("href") or "") if child.type == "link_open" else ""
            if href.startswith(LESSON_LINK):
                line = (token.map[0] + 1) if token.map else 1
                found.append((line, href.removeprefix(LESSON_LINK)))
    return found


def citations(text: str) -> list[tuple[int, str]]:
    """Return (line, key) for every ``[S18]``-style citation in ``text``."""
    return [
        (number, match.group(1))
        for number, line in enumerate(text.splitlines(), start=1)
        for match in CITATION.finditer(line)
    ]


def count_words(text: str) -> int:
    """Count the words of Markdown ``text`` as a reader sees them (no markup, no citations)."""
    html = _markdown().render(CITATION.sub(" ", text))
    return len(WORD.findall(TAG.sub(" ", html)))
