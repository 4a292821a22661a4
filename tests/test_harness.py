"""The harness itself: a missing service skips its tests, unless ACADEMY_REQUIRE makes that a failure."""

from __future__ import annotations

import pytest

from tests.conftest import unavailable


def test_a_missing_leg_is_skipped_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ACADEMY_REQUIRE", raising=False)
    with pytest.raises(pytest.skip.Exception, match="needs Chromium"):
        unavailable("browser", "needs Chromium")


def test_a_required_leg_that_is_missing_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACADEMY_REQUIRE", "postgres, Browser")
    with pytest.raises(pytest.fail.Exception, match="needs Chromium.*a failure, not a skip"):
        unavailable("browser", "needs Chromium")
    with pytest.raises(pytest.skip.Exception):
        unavailable("broker", "needs a broker")
