"""The reports API: the figures of the pages as JSON (checked against the OpenAPI document) or CSV."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from tests.fixtures.api import ApiClient
from tests.reports.conftest import DataSet
from tests.reports.test_figures import EXPECTED_GROUPS


@pytest.mark.parametrize("group_by", list(EXPECTED_GROUPS))
def test_completion_as_json(
    group_by: str, api: ApiClient, dataset: DataSet, staff_headers: dict[str, Any]
) -> None:
    response = api.get(f"/api/v1/reports/completion?group_by={group_by}", headers=staff_headers)
    assert response.status_code == 200
    body = response.get_json()
    assert body["group_by"] == group_by
    rows = [tuple(row.values()) for row in body["rows"]]
    assert rows == EXPECTED_GROUPS[group_by]
    assert list(body["rows"][0]) == ["key", "label", "enrolled", "started", "completed", "certified",
                                     "completion_rate"]  # fmt: skip


def test_completion_with_filters_and_the_default_grouping(
    api: ApiClient, dataset: DataSet, staff_headers: dict[str, Any]
) -> None:
    query = "country=th&course=harbour-basics&from=2026-01-01&to=2026-01-31"
    response = api.get(f"/api/v1/reports/completion?{query}", headers=staff_headers)
    body = response.get_json()
    assert body["group_by"] == "country"
    assert body["filters"] == {
        "course": "harbour-basics",
        "country": "TH",
        "from": "2026-01-01",
        "to": "2026-01-31",
    }
    assert [tuple(r.values()) for r in body["rows"]] == [("TH", "Thailand", 2, 2, 2, 1, 100.0)]


def test_completion_as_csv(api: ApiClient, dataset: DataSet, staff_headers: dict[str, Any]) -> None:
    response = api.get("/api/v1/reports/completion?group_by=country",
                       headers={**staff_headers, "Accept": "text/csv"})  # fmt: skip
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows == [
        ["Country", "Enrolled", "Started", "Completed", "Certified", "Completion rate (%)"],
        ["Thailand", "4", "4", "3", "2", "75.0"],
        ["Viet Nam", "3", "2", "1", "1", "33.3"],
        ["Indonesia", "1", "1", "0", "0", "0.0"],
    ]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("group_by=galaxy", "group_by"),
        ("from=2026-13-01", "from"),
        ("to=tomorrow", "to"),
        ("course=unknown-course", "course"),
        ("country=Thailand", "country"),
        ("cohort=999999", "cohort"),
    ],
)
def test_bad_parameters_answer_422(
    query: str, field: str, api: ApiClient, dataset: DataSet, staff_headers: dict[str, Any]
) -> None:
    response = api.get(f"/api/v1/reports/completion?{query}", headers=staff_headers)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "validation_failed" and field in error["fields"]


@pytest.mark.parametrize("name", ["headline", "trend", "funnel", "time-to-complete", "quiz-pass-rates",
                                  "reminders", "learners"])  # fmt: skip
def test_other_tables(name: str, api: ApiClient, dataset: DataSet, staff_headers: dict[str, Any]) -> None:
    body = api.get(f"/api/v1/reports/tables/{name}", headers=staff_headers).get_json()
    assert body["rows"], name
    assert all(len(row["cells"]) == len(body["columns"]) for row in body["rows"])


def test_tables_carry_the_figures_of_the_pages(
    api: ApiClient, dataset: DataSet, staff_headers: dict[str, Any]
) -> None:
    funnel = api.get("/api/v1/reports/tables/funnel", headers=staff_headers).get_json()
    assert funnel["rows"][0] == {"key": "harbour-basics", "cells": ["Harbour basics", 6, 5, 83.3, 4, 66.7, 3,
                                                                    50.0, 2, 33.3]}  # fmt: skip
    learners = api.get("/api/v1/reports/tables/learners?country=ID", headers=staff_headers).get_json()
    assert [row["cells"][:2] + row["cells"][6:] for row in learners["rows"]] == [
        ["Learner F", "Officer", "2026-01-15", 50, None, "no"]
    ]
    headline = api.get("/api/v1/reports/tables/headline?from=2030-01-01", headers=staff_headers).get_json()
    assert headline["rows"][-1]["cells"][1] is None
    as_csv = api.get("/api/v1/reports/tables/trend", headers={**staff_headers, "Accept": "text/csv"})
    assert as_csv.mimetype == "text/csv" and as_csv.get_data(as_text=True).splitlines()[1] == "2025-12,2,1,1"


def test_an_unknown_table_is_404(api: ApiClient, dataset: DataSet, staff_headers: dict[str, Any]) -> None:
    response = api.get("/api/v1/reports/tables/salaries", headers=staff_headers)
    assert response.status_code == 404 and "funnel" in response.get_json()["error"]["message"]


def test_learners_and_trainers_are_refused(api: ApiClient, create_user: Any, api_token: Any) -> None:
    for roles in ((), ("trainer",)):
        headers = api_token(create_user(roles=roles))
        response = api.get("/api/v1/reports/completion", headers=headers)
        assert response.status_code == 403
    assert api.get("/api/v1/reports/completion").status_code == 401
