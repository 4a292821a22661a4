"""Hypothesis over every form: each POST route of the site is found in ``app.url_map``, the forms its view
builds are recorded by posting to it once, and each is then sent FUZZ_EXAMPLES hostile bodies (Unicode, NUL,
megabyte strings, files where text was expected, duplicate keys, unknown fields, bad CSRF tokens).

Target: no 500 and no exception out of the app. A new form is fuzzed without editing this file; a form
class that no POST route builds fails ``test_every_form_is_fuzzed``.
"""

from __future__ import annotations

import functools
import json
import os
import time
import urllib.parse
from typing import Any

import pytest
from flask import Flask, request
from flask.testing import FlaskClient
from flask_wtf import FlaskForm
from hypothesis import given
from hypothesis import strategies as st
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.routing import Rule
from werkzeug.test import encode_multipart

from learning.forms import Form
from tests.fuzz.conftest import EXAMPLES, World, fuzz_settings, isolated, seed_of
from tests.fuzz.strategies import value_for

# the world is committed to a database of its own, and each example is rolled back (conftest.isolated)
pytestmark = pytest.mark.no_rollback

# FUZZ_ONLY=/authoring fuzzes only the routes whose rule begins with it, FUZZ_ONLY=/login,/register those
# that begin with one of them (to replay a failure faster, or to share a large run between processes)
ONLY = [part for part in os.environ.get("FUZZ_ONLY", "").split(",") if part]
# URL arguments that mean something else on one route
OVERRIDES = {
    "reports.export": {"name": "completion"},
    "reports.table_page": {"name": "funnel"},
}
# form classes that are only bases of others (their fields are fuzzed through the subclasses)
BASES = {"ProfileFields"}


def post_rules(app: Flask) -> list[Rule]:
    """Every rule of the site (not the JSON API, fuzzed by schemathesis) that accepts a POST."""
    return sorted(
        (
            rule
            for rule in app.url_map.iter_rules()
            if "POST" in (rule.methods or ()) and not rule.rule.startswith("/api/")
        ),
        key=lambda rule: rule.rule,
    )


def path_of(rule: Rule, values: dict[str, Any]) -> str:
    arguments = {**values, **OVERRIDES.get(rule.endpoint, {})}
    missing = rule.arguments - arguments.keys()
    assert not missing, f"tests/fuzz/conftest.py: give the world a value for {missing} ({rule.rule})"
    built = rule.build({name: arguments[name] for name in rule.arguments}, append_unknown=False)
    assert built is not None, rule.rule
    return built[1]


def all_forms() -> set[type[FlaskForm]]:
    found: set[type[FlaskForm]] = set()
    pending = [FlaskForm]
    while pending:
        for cls in pending.pop().__subclasses__():
            pending.append(cls)
            if cls.__module__.startswith("learning.") and cls.__name__ not in BASES:
                found.add(cls)
    return found


Probe = dict[str, tuple[str, set[type[FlaskForm]]]]


def record_forms(world: World, monkeypatch: pytest.MonkeyPatch) -> Probe:
    """POST once (CSRF token only) to every POST rule, signed in and then anonymous; return, for each rule,
    the first principal whose request built a form, and the form classes the view built for it."""
    seen: set[type[FlaskForm]] = set()
    original = FlaskForm.__init__

    def recording(self: FlaskForm, *args: Any, **kwargs: Any) -> None:
        if request.method == "POST":
            seen.add(type(self))
        original(self, *args, **kwargs)

    monkeypatch.setattr(FlaskForm, "__init__", recording)
    found: Probe = {}
    for rule in post_rules(world.client.application):
        for principal, client, token in world.principals():
            seen.clear()
            with isolated(client):
                response = client.post(path_of(rule, world.values), data={"csrf_token": token})
            assert response.status_code < 500, (rule.rule, principal, response.status_code)
            if seen:
                found[rule.rule] = (principal, set(seen))
                break
    monkeypatch.setattr(FlaskForm, "__init__", original)
    return found


@pytest.fixture
def forms_by_rule(world: World, monkeypatch: pytest.MonkeyPatch) -> Probe:
    return record_forms(world, monkeypatch)


def test_every_form_is_fuzzed(forms_by_rule: Probe) -> None:
    """Each form class of the app is built by a POST route reachable in the fuzzers' world."""
    fuzzed: set[type[FlaskForm]] = set().union(*(forms for _, forms in forms_by_rule.values()))
    missing = sorted(cls.__qualname__ for cls in all_forms() - fuzzed)
    assert missing == [], f"forms no POST route built in the fuzzers' world: {missing}"
    unsafe = sorted(cls.__qualname__ for cls in all_forms() if not issubclass(cls, Form))
    assert unsafe == [], f"forms not built on learning.forms.Form: {unsafe}"
    assert len(fuzzed) >= 25


def fields_of(app: Flask, forms: set[type[FlaskForm]]) -> dict[str, Any]:
    """The fields of ``forms`` by name (bound, so that choices and types are known)."""
    fields: dict[str, Any] = {}
    with app.test_request_context(method="POST"):
        for cls in forms:
            try:
                form = cls(meta={"csrf": False})
            except TypeError:  # a form that needs arguments: its fields come from the class
                form = cls.__new__(cls)
                FlaskForm.__init__(form, meta={"csrf": False})
            for name, field in form._fields.items():
                fields.setdefault(name, field)
    fields.pop("csrf_token", None)
    return fields


@functools.lru_cache(maxsize=64)
def _quoted(value: str | bytes) -> str:
    return urllib.parse.quote_plus(value)


def urlencoded(pairs: list[tuple[str, Any]]) -> bytes:
    """``urllib.parse.urlencode``, remembering the encoding of the few megabyte values (it quotes byte by
    byte in Python: 40 % of this fuzzer's CPU went there before, by cProfile)."""
    return "&".join(
        f"{_quoted(name)}={_quoted(value if isinstance(value, str | bytes) else str(value))}"
        for name, value in pairs
    ).encode()


def body(pairs: list[tuple[str, Any]], encoding: str) -> tuple[bytes, str]:
    """Encode the pairs as a browser would (multipart when a file is among them, else urlencoded), or
    as multipart, or as a JSON object or list, or as text that claims to be JSON."""
    if encoding == "json":
        plain = {name: value if isinstance(value, str) else repr(value) for name, value in pairs}
        return json.dumps(plain).encode(), "application/json"
    if encoding == "json-list":
        return json.dumps([name for name, _ in pairs]).encode(), "application/json"
    if encoding == "bad-json":
        return b"{" + urlencoded(pairs), "application/json"
    if encoding == "multipart" or any(isinstance(value, FileStorage) for _, value in pairs):
        for _, value in pairs:
            if isinstance(value, FileStorage):
                value.stream.seek(0)
        boundary, data = encode_multipart(MultiDict(pairs))
        return data, f"multipart/form-data; boundary={boundary}"
    return urlencoded(pairs), "application/x-www-form-urlencoded"


ENCODINGS = st.sampled_from(["form"] * 6 + ["multipart"] * 2 + ["json", "json-list", "bad-json"])
Body = tuple[list[tuple[str, Any]], str]


def form_bodies(fields: dict[str, Any], token: str) -> st.SearchStrategy[Body]:
    names = sorted(fields)
    per_field = st.fixed_dictionaries({}, optional={name: value_for(fields[name]) for name in names})
    extra = st.dictionaries(st.text(max_size=12), value_for(None), max_size=2)
    csrf = st.sampled_from([token] * 8 + ["", "forged", "\x00"])

    def flatten(chosen: dict[str, Any], unknown: dict[str, Any], csrf_token: str, encoding: str) -> Body:
        pairs: list[tuple[str, Any]] = [("csrf_token", csrf_token)]
        for name, value in {**unknown, **chosen}.items():
            for one in value if isinstance(value, list) else [value]:
                pairs.append((name, one))
        return pairs, encoding

    return st.builds(flatten, per_field, extra, csrf, ENCODINGS)


def fuzz_route(
    client: FlaskClient, path: str, bodies: st.SearchStrategy[Body], examples: int
) -> dict[int, int]:
    """POST ``examples`` bodies to ``path``; fail on the first 500; return the count of each status."""
    statuses: dict[int, int] = {}
    started = time.process_time()

    @fuzz_settings(examples)
    @given(sent=bodies)
    def post(sent: Body) -> None:
        data, content_type = body(*sent)
        with isolated(client):
            response = client.post(path, data=data, content_type=content_type)
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        assert response.status_code < 500, f"POST {path}: {response.status_code}"

    seed_of(post)()
    spent = time.process_time() - started
    print(f"  POST {path}: {sum(statuses.values())} requests, {spent:.1f} s of CPU")
    return statuses


def test_forms_never_answer_500(world: World, forms_by_rule: Probe) -> None:
    """FUZZ_EXAMPLES hostile bodies per form class (the first route that builds it gets them all; the
    other routes built on the same form get a tenth): 0 answers 500, 0 exceptions out of the app."""
    app = world.client.application
    clients = {name: (client, token) for name, client, token in world.principals()}
    done: set[type[FlaskForm]] = set()
    counts: dict[str, int] = {}
    statuses: dict[int, int] = {}
    for rule in post_rules(app):
        if rule.rule not in forms_by_rule or (ONLY and not rule.rule.startswith(tuple(ONLY))):
            continue
        principal, forms = forms_by_rule[rule.rule]
        client, token = clients[principal]
        fresh = forms - done
        done |= forms
        examples = EXAMPLES if fresh else max(EXAMPLES // 10, 10)
        path = path_of(rule, world.values)
        fields = fields_of(app, forms)

        record = fuzz_route(client, path, form_bodies(fields, token), examples)
        for status, n in record.items():
            statuses[status] = statuses.get(status, 0) + n
        counts[rule.rule] = sum(record.values())
    total = sum(counts.values())
    print(
        f"\nform fuzzing: {total} requests to {len(counts)} POST routes ({len(done)} form classes), "
        f"statuses {dict(sorted(statuses.items()))}"
    )
    if not ONLY:
        assert set(counts) == set(forms_by_rule)
