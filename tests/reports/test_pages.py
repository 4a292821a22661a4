"""The report pages: drill-down links, filters kept in links, friendly refusals of bad input, paging."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from learning.auth.models import User
from learning.extensions import db
from learning.progress.models import Enrolment
from learning.reports import views
from learning.reports.models import ReportExport, ReportMailing
from tests.reports.conftest import DataSet


def html(client: FlaskClient, path: str, status: int = 200) -> str:
    response = client.get(path)
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    return response.get_data(as_text=True)


def test_the_dashboard_has_charts_tables_and_definitions_and_no_script(
    dataset: DataSet, staff_client: FlaskClient
) -> None:
    page = html(staff_client, "/reports/")
    assert page.count('role="img"') == 3
    assert "<script" not in page
    assert "How these figures are counted" in page
    assert page.count("<caption>") == 4


def test_drill_down_from_country_to_organisation_to_learners(
    dataset: DataSet, staff_client: FlaskClient
) -> None:
    page = html(staff_client, "/reports/?course=harbour-basics")
    thailand = re.search(r'<a href="([^"]+)">Thailand</a>', page)
    assert thailand is not None
    link = thailand.group(1).replace("&amp;", "&")
    assert link == "/reports/completion?course=harbour-basics&group_by=organisation&country=TH"
    organisations = html(staff_client, link)
    marine = re.search(r'<a href="([^"]+)">Marine Department</a>', organisations)
    assert marine is not None
    learners = html(staff_client, marine.group(1).replace("&amp;", "&"))
    assert "Learner A" in learners and "Learner B" not in learners
    assert "1 more in this group are counted in the totals only" in learners


def test_other_drill_downs(dataset: DataSet, staff_client: FlaskClient) -> None:
    by_course = html(staff_client, "/reports/completion?group_by=course")
    assert 'href="/reports/completion?group_by=module&amp;course=harbour-basics"' in by_course
    by_type = html(staff_client, "/reports/completion?group_by=organisation_type")
    assert "group_by=organisation&amp;organisation_type=port_authority" in by_type
    funnel = html(staff_client, "/reports/funnel")
    assert 'href="/reports/completion?group_by=module&amp;course=old-harbour"' in funnel
    by_month = html(staff_client, "/reports/completion?group_by=month")
    assert '<th scope="row">2026-01</th>' in by_month


def test_bad_filters_get_a_friendly_page(dataset: DataSet, staff_client: FlaskClient) -> None:
    for path in ("/reports/?from=31-01-2026", "/reports/completion?group_by=planet",
                 "/reports/learners?page=zero", "/reports/funnel?course=nope",
                 "/reports/learners?country=Narnia", "/reports/learners?page=%C2%B2",
                 "/reports/learners?page=" + "9" * 5000, "/reports/learners?page=0",
                 "/reports/funnel?course=%00"):  # fmt: skip
        page = html(staff_client, path, 400)
        assert "Some filters are not valid" in page, path
        assert "Traceback" not in page


def test_every_report_takes_the_last_day_there_is(dataset: DataSet, staff_client: FlaskClient) -> None:
    reports = ("", "completion", "funnel", "time-to-complete", "quiz-pass-rates", "reminders", "learners")
    for report in reports:
        assert staff_client.get(f"/reports/{report}?to=9999-12-31").status_code == 200, report


def test_learners_are_listed_a_page_at_a_time(
    app: Flask, dataset: DataSet, staff_client: FlaskClient, monkeypatch: Any
) -> None:
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    first = html(staff_client, "/reports/learners")
    assert "Page 1 of 3" in first and "Next page" in first and "Previous page" not in first
    last = html(staff_client, "/reports/learners?page=3")
    assert "Page 3 of 3" in last and "Previous page" in last and "Learner E" in last


def test_an_empty_report_says_so(dataset: DataSet, staff_client: FlaskClient) -> None:
    page = html(staff_client, "/reports/completion?group_by=country&from=2031-01-01")
    assert "Nothing to count for these filters." in page


def test_reprs(dataset: DataSet, create_user: Callable[..., User]) -> None:
    user = dataset.users["A"]
    job = ReportExport(user_id=user.id, report="funnel", params={}, format="csv", file_name="funnel.csv")
    mailing = ReportMailing(user_id=user.id, period="2026-01")
    db.session.add_all([job, mailing])
    db.session.flush()
    assert repr(job).startswith("<ReportExport") and repr(mailing).startswith("<ReportMailing")
    assert job.percent == 0
    assert isinstance(dataset.enrolments[1], Enrolment)
