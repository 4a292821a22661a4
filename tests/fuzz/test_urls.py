"""Hypothesis over every URL argument and query string: each GET rule of ``app.url_map`` (the JSON API has
schemathesis) is called with hostile path arguments (any Unicode, NUL, encoded slashes, huge numbers) and
query strings (duplicate keys, megabyte values), signed in as the world's user who may see every page.

Target: no 500 and no exception out of the app; HTML answers carry a CSP with a nonce.
"""

from __future__ import annotations

import time
import urllib.parse
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from werkzeug.routing import Rule

from tests.fuzz.conftest import EXAMPLES, World, fuzz_settings, isolated, seed_of
from tests.fuzz.strategies import CHARACTERS, HUGE, TEXT, TRICKY

# the world is committed to a database of its own, and each example is rolled back (conftest.isolated)
pytestmark = pytest.mark.no_rollback

# a tenth of a form's examples per rule: a rule's arguments are few and its view reads them in one place
PER_RULE = max(EXAMPLES // 10, 10)
NUMBERS = st.one_of(
    st.integers(min_value=0, max_value=2**70),
    st.integers(min_value=0, max_value=50),
    st.sampled_from([2**31 - 1, 2**31, 2**63 - 1, 2**63, 2**64, 10**30]),
)


def get_rules(world: World) -> list[Rule]:
    return sorted(
        (
            rule
            for rule in world.client.application.url_map.iter_rules()
            if "GET" in (rule.methods or ())
            and not rule.rule.startswith("/api/")
            and rule.endpoint != "static"
        ),
        key=lambda rule: rule.rule,
    )


def argument(rule: Rule, name: str, real: Any) -> st.SearchStrategy[str]:
    converter = type(rule._converters[name]).__name__  # noqa: SLF001 - the converter decides what matches
    if converter == "IntegerConverter":
        return st.one_of(st.just(str(real)), NUMBERS.map(str))
    if converter == "AnyConverter":
        return st.just(str(real))
    return st.one_of(
        st.just(str(real)),
        st.text(CHARACTERS, min_size=1, max_size=40),
        st.sampled_from([value for value in TRICKY if value]),
        st.just("x" * 5000),
    )


def paths(rule: Rule, real: dict[str, Any]) -> st.SearchStrategy[str]:
    """The rule's path with each argument drawn (percent-encoded, so that any character may appear)."""
    names = sorted(rule.arguments)
    overrides = {"reports.export": {"name": "completion"}, "reports.table_page": {"name": "funnel"}}
    values = {**real, **overrides.get(rule.endpoint, {})}

    def build(drawn: list[str]) -> str:
        path = rule.rule
        for name, value in zip(names, drawn, strict=True):
            path = _replace(path, name, urllib.parse.quote(value, safe=""))
        return path

    return st.tuples(*(argument(rule, name, values[name]) for name in names)).map(lambda t: build(list(t)))


def _replace(path: str, name: str, value: str) -> str:
    start = path.index("<")
    while not path[start:].split(">", 1)[0].endswith(name) and not path[start:].startswith(f"<{name}>"):
        start = path.index("<", start + 1)
    end = path.index(">", start)
    return path[:start] + value + path[end + 1 :]


QUERY = st.lists(
    st.tuples(
        st.one_of(
            st.sampled_from(["page", "group_by", "q", "next", "country", "course", "from", "to", "sort"]),
            st.text(max_size=8),
        ),
        st.one_of(TEXT, HUGE.map(lambda text: text[:100_000])),
    ),
    max_size=4,
).map(lambda pairs: urllib.parse.urlencode(pairs))


def test_url_arguments_never_answer_500(world: World) -> None:
    """PER_RULE calls of every GET rule: 0 answers 500, and every HTML answer has a CSP nonce."""
    statuses: dict[int, int] = {}
    started = time.process_time()
    rules = get_rules(world)
    assert len(rules) >= 40
    for rule in rules:
        fuzz_rule(world, rule, statuses)
    spent = time.process_time() - started
    print(
        f"\nURL fuzzing: {sum(statuses.values())} requests to {len(rules)} GET rules, {spent:.1f} s of CPU, "
        f"statuses {dict(sorted(statuses.items()))}"
    )


def fuzz_rule(world: World, rule: Rule, statuses: dict[int, int]) -> None:
    @fuzz_settings(PER_RULE if rule.arguments else max(PER_RULE // 5, 5))
    @given(path=paths(rule, world.values), query=QUERY)
    def call(path: str, query: str) -> None:
        with isolated(world.client):
            response = world.client.get(f"{path}?{query}" if query else path)
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        assert response.status_code < 500, f"GET {path}?{query[:200]}: {response.status_code}"
        if response.mimetype == "text/html":
            assert "'nonce-" in response.headers.get("Content-Security-Policy", ""), path

    seed_of(call)()
