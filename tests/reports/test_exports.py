"""Every table's CSV and XLSX hold exactly what its page shows, cell by cell; large exports are jobs."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from flask import Flask
from flask.testing import FlaskClient

from learning.auth.models import User
from learning.db import utcnow
from learning.extensions import db
from learning.reports import jobs
from learning.reports.models import ReportExport
from learning.reports.tables import EMPTY
from tests.conftest import csrf_from
from tests.reports.conftest import DataSet, run_queued


class Tables(HTMLParser):
    """The report tables of a page ({data-report name: [[header...], [cells...], ...]}) and their export
    links ({"csv": [...], "xlsx": [...]}, in page order)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.exports: dict[str, list[str]] = {"csv": [], "xlsx": []}
        self._table: str | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "table" and values.get("data-report"):
            self._table = str(values["data-report"])
            self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag == "a" and (href := values.get("href") or "") and "/reports/export/" in href:
            self.exports[href.split("?")[0].rsplit(".", 1)[1]].append(href)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None and self._table:
            self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def page_tables(client: FlaskClient, path: str) -> Tables:
    response = client.get(path)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    parser = Tables()
    parser.feed(response.get_data(as_text=True))
    return parser


def csv_rows(client: FlaskClient, href: str) -> list[list[str]]:
    response = client.get(href)
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def xlsx_rows(client: FlaskClient, href: str) -> list[list[str]]:
    response = client.get(href)
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    return read_xlsx(response.data)


def read_xlsx(data: bytes) -> list[list[str]]:
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    sheet = book.worksheets[0]
    out = []
    for row in sheet.iter_rows():
        out.append([xlsx_text(cell.value, cell.number_format) for cell in row])
    book.close()
    return out


def xlsx_text(value: Any, number_format: str) -> str:
    """A spreadsheet cell as a spreadsheet shows it: numbers in their cell's format, dates as ISO days."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        assert number_format == "yyyy-mm-dd"
        return value.date().isoformat()
    if isinstance(value, int | float) and number_format == "0.0":
        return f"{value:.1f}"
    if isinstance(value, float):
        assert value.is_integer(), value
        return str(int(value))
    return str(value)


def screen_as_export(rows: list[list[str]]) -> list[list[str]]:
    """The page's cells, with the dash it shows for a figure that cannot be computed left empty."""
    return [["" if cell == EMPTY else cell for cell in row] for row in rows]


PAGES = [
    "/reports/",
    "/reports/?country=TH",
    "/reports/?from=2026-01-01&to=2026-02-28",
    *[
        f"/reports/completion?group_by={g}"
        for g in ("country", "organisation_type", "organisation", "course", "module", "cohort", "month")
    ],  # fmt: skip
    "/reports/completion?group_by=organisation&country=TH",
    "/reports/funnel",
    "/reports/time-to-complete",
    "/reports/quiz-pass-rates",
    "/reports/reminders",
    "/reports/learners",
    "/reports/learners?country=TH&organisation=Marine+Department",
]


@pytest.mark.parametrize("path", PAGES)
def test_csv_and_xlsx_equal_the_screen(path: str, dataset: DataSet, staff_client: FlaskClient) -> None:
    page = page_tables(staff_client, path)
    assert page.tables, "no report table on the page"
    assert len(page.exports["csv"]) == len(page.tables) == len(page.exports["xlsx"])
    for (name, screen), csv_href, xlsx_href in zip(
        page.tables.items(), page.exports["csv"], page.exports["xlsx"], strict=True
    ):
        if len(screen) == 2 and len(screen[1]) == 1:  # "Nothing to count" spans the table
            screen = screen[:1]
        expected = screen_as_export(screen)
        assert csv_rows(staff_client, csv_href) == expected, (name, "csv")
        assert xlsx_rows(staff_client, xlsx_href) == expected, (name, "xlsx")


def test_the_screen_shows_the_hand_computed_figures(dataset: DataSet, staff_client: FlaskClient) -> None:
    page = page_tables(staff_client, "/reports/")
    assert page.tables["completion-by-country"] == [
        ["Country", "Enrolled", "Started", "Completed", "Certified", "Completion rate (%)"],
        ["Thailand", "4", "4", "3", "2", "75.0"],
        ["Viet Nam", "3", "2", "1", "1", "33.3"],
        ["Indonesia", "1", "1", "0", "0", "0.0"],
    ]
    empty = page_tables(staff_client, "/reports/?from=2030-01-01")
    assert empty.tables["headline"][-1] == ["Completion rate of these enrolments (%)", EMPTY]
    rate = csv_rows(staff_client, empty.exports["csv"][0])[-1]
    assert rate == ["Completion rate of these enrolments (%)", ""]


def test_cells_that_would_run_as_formulas_are_neutralised(
    dataset: DataSet, staff_client: FlaskClient, create_user: Callable[..., User], enrol: Callable[..., Any]
) -> None:
    tricky = create_user(organisation='=HYPERLINK("http://x")', country="TH", consent_share_progress=True)
    enrol(tricky)
    page = page_tables(staff_client, "/reports/completion?group_by=organisation&country=TH")
    labels = [row[0] for row in page.tables["completion-by-organisation"][1:]]
    assert '=HYPERLINK("http://x")' in labels
    exported = [row[0] for row in csv_rows(staff_client, page.exports["csv"][0])[1:]]
    assert '\'=HYPERLINK("http://x")' in exported
    in_xlsx = [row[0] for row in xlsx_rows(staff_client, page.exports["xlsx"][0])[1:]]
    assert '\'=HYPERLINK("http://x")' in in_xlsx


def test_a_large_export_is_prepared_by_a_job(
    app: Flask, dataset: DataSet, staff_client: FlaskClient, tmp_path: Path, queued: list[int]
) -> None:
    # Thailand's consenting learners have 3 enrolments: at a limit of 3 they download at once
    app.config.update(REPORT_SYNC_EXPORT_LIMIT=3, REPORT_EXPORT_PATH=str(tmp_path))
    assert staff_client.get("/reports/export/learners.xlsx?country=TH").mimetype.endswith(".sheet")
    app.config.update(REPORT_SYNC_EXPORT_LIMIT=2)
    offer = staff_client.get("/reports/export/learners.xlsx?country=TH")
    assert "This table has 3 rows" in offer.get_data(as_text=True)
    response = staff_client.post("/reports/export/learners.xlsx?country=TH",
                                 data={"csrf_token": csrf_from(offer.get_data(as_text=True))})  # fmt: skip
    assert response.status_code == 302
    job_page = response.headers["Location"]
    job = db.session.get(ReportExport, int(re.findall(r"\d+", job_page)[-1]))
    assert job is not None and job.status == "pending" and queued == [job.id]
    pending = staff_client.get(job_page).get_data(as_text=True)
    assert "0 of 3 rows" in pending and 'http-equiv="refresh"' in pending
    run_queued(app, queued)
    db.session.refresh(job)
    assert (job.status, job.rows_done, job.report, job.format) == ("done", 3, "learners", "xlsx")
    html = staff_client.get(job_page).get_data(as_text=True)
    assert "Ready: 3 rows." in html
    download = staff_client.get(f"{job_page}/download")
    data = download.data
    download.close()
    assert download.status_code == 200
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    app.config.update(REPORT_SYNC_EXPORT_LIMIT=10_000)
    same = staff_client.get("/reports/export/learners.xlsx?country=TH")
    assert read_xlsx(data) == read_xlsx(same.data)


def test_job_pages_belong_to_their_owner(
    app: Flask, dataset: DataSet, staff_client: FlaskClient, create_user: Callable[..., User], login: Any,
    tmp_path: Path, queued: list[int],
) -> None:  # fmt: skip
    app.config.update(REPORT_EXPORT_PATH=str(tmp_path))
    owner = db.session.query(User).filter_by(email="officer@escap.example.org").one()
    job = jobs.start_export(owner.id, "funnel", {}, "csv", 2)
    db.session.commit()
    run_queued(app, queued)
    assert staff_client.get(f"/reports/exports/{job.id}").status_code == 200
    other = app.test_client()
    other.environ_base["wsgi.url_scheme"] = "https"
    login(other, create_user(roles=("secretariat",)))
    assert other.get(f"/reports/exports/{job.id}").status_code == 404
    assert other.get(f"/reports/exports/{job.id}/download").status_code == 404
    assert other.get("/reports/exports/999999").status_code == 404
    admin = app.test_client()
    admin.environ_base["wsgi.url_scheme"] = "https"
    login(admin, create_user(roles=("admin",)))
    with admin.get(f"/reports/exports/{job.id}/download") as download:
        assert download.status_code == 200 and download.mimetype == "text/csv"


def test_a_running_job_shows_its_progress_and_a_failed_one_says_so(
    app: Flask, dataset: DataSet, staff_client: FlaskClient, tmp_path: Path
) -> None:
    app.config.update(REPORT_EXPORT_PATH=str(tmp_path))
    owner = db.session.query(User).filter_by(email="officer@escap.example.org").one()
    job = ReportExport(user_id=owner.id, report="learners", params={}, format="csv", status="running",
                       rows_total=200, rows_done=50, file_name="learners.csv")  # fmt: skip
    db.session.add(job)
    db.session.commit()
    html = staff_client.get(f"/reports/exports/{job.id}").get_data(as_text=True)
    assert 'http-equiv="refresh"' in html and "50 of 200 rows" in html and 'value="25"' in html
    assert staff_client.get(f"/reports/exports/{job.id}/download").status_code == 404
    job.params = {"country": "XX"}  # a stored filter that is no longer valid
    db.session.commit()
    with pytest.raises(Exception, match="country"):
        jobs.run_export(job.id)
    db.session.refresh(job)
    assert job.status == "failed" and job.error == "FilterError"
    assert "This export failed" in staff_client.get(f"/reports/exports/{job.id}").get_data(as_text=True)
    assert list(tmp_path.iterdir()) == []  # no partial file left behind


def test_a_job_already_done_is_left_alone(
    app: Flask, dataset: DataSet, tmp_path: Path, queued: list[int]
) -> None:
    app.config.update(REPORT_EXPORT_PATH=str(tmp_path))
    owner = dataset.users["A"]
    job = jobs.start_export(owner.id, "completion", {"group_by": "course"}, "csv", 2)
    db.session.rollback()  # a job whose transaction rolls back queues nothing
    assert queued == []
    job = jobs.start_export(owner.id, "completion", {"group_by": "course"}, "csv", 2)
    db.session.commit()
    run_queued(app, queued)
    db.session.refresh(job)
    assert job.status == "done" and job.file_name == "completion-by-course.csv"
    path = jobs.file_of(job)
    assert path is not None
    rows = list(csv.reader(io.StringIO(path.read_text())))
    assert rows[1] == ["Harbour basics", "6", "5", "3", "2", "50.0"]
    finished = job.finished_at
    jobs.run_export(job.id)  # delivered twice
    db.session.refresh(job)
    assert job.finished_at == finished
    path.unlink()
    assert jobs.file_of(job) is None


def test_files_of_old_exports_are_deleted_when_the_next_export_runs(
    app: Flask, dataset: DataSet, staff_client: FlaskClient, tmp_path: Path, queued: list[int]
) -> None:
    app.config.update(REPORT_EXPORT_PATH=str(tmp_path))
    owner = db.session.query(User).filter_by(email="officer@escap.example.org").one()
    old = jobs.start_export(owner.id, "funnel", {}, "csv", 2)
    db.session.commit()
    run_queued(app, queued)
    db.session.refresh(old)
    assert jobs.file_of(old) is not None
    old.finished_at = utcnow() - timedelta(days=8)
    db.session.commit()
    new = jobs.start_export(owner.id, "trend", {}, "xlsx", 4)
    db.session.commit()
    run_queued(app, queued)
    db.session.refresh(old)
    assert old.path is None and len(list(tmp_path.iterdir())) == 1
    assert "no longer kept" in staff_client.get(f"/reports/exports/{old.id}").get_data(as_text=True)
    assert staff_client.get(f"/reports/exports/{new.id}").status_code == 200


def test_bad_export_requests(dataset: DataSet, staff_client: FlaskClient) -> None:
    assert staff_client.get("/reports/export/nothing.csv").status_code == 404
    assert staff_client.get("/reports/export/funnel.pdf").status_code == 404
    bad = staff_client.get("/reports/export/completion.csv?group_by=planet")
    assert bad.status_code == 400 and "group_by" in bad.get_data(as_text=True)
    assert staff_client.get("/reports/export/funnel.csv?from=soon").status_code == 400
    assert staff_client.post("/reports/export/funnel.csv", data={}).status_code == 400  # no CSRF token
