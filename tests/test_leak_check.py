"""The whole-run check for secrets in the logs (tests/fixtures/leaks.py) fails a run when one leaks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.fixtures.leaks import leaks

ROOT = Path(__file__).resolve().parent.parent

LEAKY = """
import logging

from learning.auth.passwords import hash_password

logging.getLogger("learning").setLevel(logging.INFO)  # as create_app() does


def test_logs_a_password():
    hash_password("a password that leaks")
    logging.getLogger("learning.security").info("signing in with a password that leaks")


def test_logs_nothing_secret():
    hash_password("a password that stays put")
    logging.getLogger("learning.security").info("signing in")
"""

CLEAN = LEAKY.replace('"signing in with a password that leaks"', '"signing in"')


@pytest.mark.parametrize(("source", "errors"), [(LEAKY, 1), (CLEAN, 0)])
def test_a_run_that_logs_a_password_fails(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, source: str, errors: int
) -> None:
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    pytester.makepyfile(test_inner=source)
    result = pytester.runpytest_subprocess("-p", "tests.fixtures.leaks", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, errors=errors)
    if errors:
        result.stdout.fnmatch_lines(
            ["*1 secrets appear in the logs of this run*", "*secret a pa... (length 21)*"]
        )


def test_leaks_are_found_as_whole_words_only() -> None:
    token = "Zm9vYmFyLWJhei1xdXV4LTEyMzQ1Njc4"
    records = ['{"event": "password_change", "outcome": "success"}', f"GET /password/reset/{token}."]
    assert leaks(records, {"password", "correct horse battery staple"}) == []
    assert len(leaks(records, {token})) == 1
    assert len(leaks(["tried 'correct horse battery staple'"], {"correct horse battery staple"})) == 1
