"""schemathesis over /api/v1/openapi.json, in process: FUZZ_API_CALLS calls spread over every operation of
the document, each checked by schemathesis (no 500, documented status, body as documented).

Half the calls of an operation with path parameters use the world's real ids, so that they reach past the
404 into the view; the others keep schemathesis's own values (Unicode, huge numbers, empty strings).
"""

from __future__ import annotations

import time
from typing import Any

import pytest
import schemathesis
from flask.testing import FlaskClient
from hypothesis import given
from hypothesis import strategies as st
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from learning.api.openapi import document
from learning.auth import services as auth
from learning.extensions import db
from tests.fuzz.conftest import API_CALLS, World, fuzz_settings, isolated, seed_of

# the world is committed to a database of its own, and each example is rolled back (conftest.isolated)
pytestmark = pytest.mark.no_rollback

REAL = {"name": "funnel"}


def not_a_server_error(ctx: Any, response: Any, case: Any) -> bool:
    status = response.status_code
    assert status < 500, f"{case.method} {case.formatted_path} answered {status}"
    return True


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def test_api_never_answers_500(world: World) -> None:
    """FUZZ_API_CALLS calls in all: 0 answers 500, every answer as the document says."""
    app = world.client.application
    with app.test_request_context():
        schema = schemathesis.openapi.from_dict(document())
    schema.app = app
    schema.location = "/api/v1/openapi.json"
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20
    token, _ = auth.create_api_token(world.user)
    db.session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    real = {**world.values, **REAL}
    per_operation = -(-API_CALLS // len(operations))  # rounded up, so that the total is at least API_CALLS
    statuses: dict[int, int] = {}
    started = time.process_time()
    for operation in operations:
        run_operation(world.client, operation, headers, real, per_operation, statuses)
    spent = time.process_time() - started
    calls = sum(statuses.values())
    print(
        f"\nAPI fuzzing: {calls} calls to {len(operations)} operations, {spent:.1f} s of CPU, "
        f"statuses {dict(sorted(statuses.items()))}"
    )
    assert calls >= API_CALLS


def run_operation(
    client: FlaskClient,
    operation: Any,
    headers: dict[str, str],
    real: dict[str, Any],
    examples: int,
    statuses: dict[int, int],
) -> None:
    @fuzz_settings(examples)
    @given(case=operation.as_strategy(), use_real=st.booleans(), signed_in=st.integers(0, 9))
    def call(case: Any, use_real: bool, signed_in: int) -> None:
        if use_real and case.path_parameters:
            case.path_parameters = {
                name: real.get(name, value) for name, value in case.path_parameters.items()
            }
        sent = {**(case.headers or {}), **(headers if signed_in else {})}
        with isolated(client):
            response = case.call(headers=sent)
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        case.validate_response(response, checks=CHECKS, headers=sent)

    seed_of(call)()
