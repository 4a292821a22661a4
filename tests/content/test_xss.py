"""XSS vectors through the one Markdown renderer: nothing active survives, and sanitizing is idempotent."""

from __future__ import annotations

import pytest

from learning.content.render import render_markdown, sanitize
from tests.fixtures.xss import VECTORS, active_content


def test_there_are_at_least_a_hundred_distinct_vectors() -> None:
    assert len(set(VECTORS)) == len(VECTORS) >= 100


@pytest.mark.parametrize("vector", VECTORS)
def test_nothing_active_survives_rendering_and_sanitizing_twice_equals_once(vector: str) -> None:
    html = render_markdown(vector, lambda slug: f"/courses/c/lessons/{slug}")
    assert active_content(html) == [], html
    assert sanitize(html) == html
    # raw HTML handed to the sanitizer directly (as a bundle's or an editor's output would be)
    once = sanitize(vector)
    assert active_content(once) == [], once
    assert sanitize(once) == once
