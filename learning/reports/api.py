"""The reports through the API: the same tables as the pages, as JSON or (Accept: text/csv) as CSV."""

from __future__ import annotations

from typing import Any

from flask import request
from pydantic import BaseModel, Field

from learning.api.routing import ApiError, api_route
from learning.reports import catalogue, queries
from learning.reports.exports import table_csv_response
from learning.reports.filters import FilterError, Filters, parse_filters
from learning.reports.tables import Table

STAFF = ("secretariat", "admin")
FILTER_QUERY = {
    "course": "string",
    "version": "integer",
    "country": "string",
    "organisation_type": "string",
    "organisation": "string",
    "cohort": "integer",
    "from": "string",
    "to": "string",
}
TABLES = ("headline", "trend", "funnel", "time-to-complete", "quiz-pass-rates", "reminders", "learners")


class CompletionRowOut(BaseModel):
    key: str = Field(description="a stable key: country code, organisation type, course slug, YYYY-MM ...")
    label: str
    enrolled: int
    started: int
    completed: int
    certified: int
    completion_rate: float | None = Field(description="completed / enrolled in per cent, one decimal")


class CompletionReportOut(BaseModel):
    group_by: str
    filters: dict[str, str]
    rows: list[CompletionRowOut]
    notes: list[str]


class ColumnOut(BaseModel):
    key: str
    label: str
    kind: str = Field(description="text, int, percent, days or date")


class TableRowOut(BaseModel):
    key: str | None
    cells: list[str | int | float | None] = Field(description="in the order of the columns; dates as text")


class TableOut(BaseModel):
    name: str
    title: str
    filters: dict[str, str]
    columns: list[ColumnOut]
    rows: list[TableRowOut]
    notes: list[str]


def _filters() -> Filters:
    try:
        return parse_filters(request.args)
    except FilterError as exc:
        raise ApiError(422, "validation_failed", "Some filters are not valid.", exc.fields) from None


def _wants_csv() -> bool:
    best = request.accept_mimetypes.best_match(["application/json", "text/csv"])
    return best == "text/csv"


@api_route(
    "/reports/completion",
    "GET",
    summary="Completion grouped by country, organisation type, organisation, course, module, cohort or month",
    response=CompletionReportOut,
    query={"group_by": "string", **FILTER_QUERY},
    errors=(422,),
    roles=STAFF,
    alternative_media=("text/csv",),
)
def completion_report() -> Any:
    group_by = request.args.get("group_by") or "country"
    if group_by not in queries.GROUPS:
        raise ApiError(422, "validation_failed", "Some parameters are not valid.",
                       {"group_by": f"one of {', '.join(queries.GROUPS)}"})  # fmt: skip
    f = _filters()
    table = queries.completion(f, group_by)
    if _wants_csv():
        return table_csv_response(table)
    rows = [
        CompletionRowOut(
            key=row.key or "",
            label=row.cells[0],
            enrolled=row.cells[1],
            started=row.cells[2],
            completed=row.cells[3],
            certified=row.cells[4],
            completion_rate=row.cells[5],
        )  # fmt: skip
        for row in table.rows
    ]
    return CompletionReportOut(group_by=group_by, filters=f.params(), rows=rows, notes=table.notes)


@api_route(
    "/reports/tables/<name>",
    "GET",
    summary=f"Another report as a table: {', '.join(TABLES)}",
    response=TableOut,
    query={**FILTER_QUERY},
    errors=(404, 422),
    roles=STAFF,
    alternative_media=("text/csv",),
)
def report_table(name: str) -> Any:
    if name not in TABLES:
        raise ApiError(404, "not_found", f"There is no report {name!r}; there are: {', '.join(TABLES)}.")
    f = _filters()
    table = catalogue.build(name, f)
    if _wants_csv():
        return table_csv_response(table)
    return _table_out(table, f)


def _table_out(table: Table, f: Filters) -> TableOut:
    def cell(value: Any) -> str | int | float | None:
        return value.isoformat() if hasattr(value, "isoformat") else value

    return TableOut(
        name=table.name,
        title=table.title,
        filters=f.params(),
        columns=[ColumnOut(key=c.key, label=c.label, kind=c.kind) for c in table.columns],
        rows=[TableRowOut(key=row.key, cells=[cell(v) for v in row.cells]) for row in table.rows],
        notes=table.notes,
    )
