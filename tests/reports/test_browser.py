"""The secretariat's dashboard in a real Chromium: charts drawn, tables beside them, the drill-down, and the
answer taken away as a spreadsheet in two clicks. A screenshot is kept in test-artifacts/."""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from werkzeug.serving import make_server

from learning.auth import services as auth
from learning.extensions import db
from learning.progress.services import clear_outline_cache
from learning.reports import demo
from tests.browser.test_learner_journey import (
    ARTIFACTS,
    CHROMIUM_ARGS,
    CSP_LISTENER,
    Problems,
    assert_labelled,
)
from tests.conftest import CHROMIUM
from tests.fixtures.databases import committed_app

pytestmark = pytest.mark.browser

EMAIL = "officer@unescap.example.org"
PASSWORD = "a long passphrase for the secretariat"


@pytest.fixture(scope="module")
def live_reports(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A live server on its own database, with 300 demo learners and a secretariat officer."""
    folder = tmp_path_factory.mktemp("live-reports")
    with committed_app(
        folder, MAIL_FILE_PATH=str(folder / "mail"), REPORT_EXPORT_PATH=str(folder / "x")
    ) as app:
        clear_outline_cache()
        with app.app_context():
            profile = auth.Profile(full_name="Secretariat Officer", country="TH", organisation="ESCAP",
                                   organisation_type="other", job_title="Programme officer", language="en",
                                   timezone="Asia/Bangkok", consent_share_progress=False)  # fmt: skip
            auth.create_user(EMAIL, PASSWORD, profile, {"secretariat"})
            demo.generate(300, seed=5)
            db.session.commit()
            db.session.remove()
        clear_outline_cache()
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, name="live-reports", daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_port}"
        finally:
            server.shutdown()
            thread.join(timeout=10)
            server.server_close()
            clear_outline_cache()


def test_the_dashboard_answers_who_completes_in_two_clicks(live_reports: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    problems = Problems()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            context = browser.new_context(base_url=live_reports, locale="en-GB", accept_downloads=True,
                                          viewport={"width": 1280, "height": 900})  # fmt: skip
            context.set_default_timeout(15_000)
            context.expose_function("reportCspViolation", lambda report: problems.csp.append(report))
            context.add_init_script(CSP_LISTENER)
            page = context.new_page()
            problems.watch(page)
            page.goto("/login")
            page.get_by_label("E-mail address").fill(EMAIL)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()

            # click 1: the reports; the answer is on the page, as a chart and as a table
            page.get_by_role("link", name="Reports").click()
            expect(page.get_by_role("heading", name="Reports", level=1)).to_be_visible()
            assert_labelled(page)
            charts = page.get_by_role("img")
            expect(charts).to_have_count(3)
            names = [charts.nth(i).evaluate("el => el.querySelector('title').textContent") for i in range(3)]
            assert names == [
                "Completion rate by country",
                "Completions by month",
                "From enrolment to certificate",
            ]
            for index in range(3):
                box = charts.nth(index).bounding_box()
                assert box is not None and box["width"] > 300 and box["height"] > 100
            country_table = page.locator("table[data-report=completion-by-country]")
            rows = country_table.locator("tbody tr")
            assert rows.count() > 5
            bars = page.locator("#chart-country rect")
            assert bars.count() == rows.count()
            first_country = rows.first.locator("th").inner_text()
            shot(page, "dashboard")

            # click 2: take it away as a spreadsheet
            section = page.locator("section", has=country_table)
            with page.expect_download() as caught:
                section.get_by_role("link", name="XLSX").click()
            download = caught.value
            assert download.suggested_filename == "completion-by-country.xlsx"
            book = openpyxl.load_workbook(io.BytesIO(Path(download.path()).read_bytes()), read_only=True)
            cells = [[c.value for c in row] for row in book.worksheets[0].iter_rows()]
            book.close()
            assert cells[0] == [
                "Country",
                "Enrolled",
                "Started",
                "Completed",
                "Certified",
                "Completion rate (%)",
            ]
            assert cells[1][0] == first_country and len(cells) == rows.count() + 1

            # the drill-down: a country, its organisations, an organisation's consenting learners
            rows.first.get_by_role("link").click()
            expect(page.get_by_role("heading", name="Completion by organisation")).to_be_visible()
            page.locator("table[data-report] tbody tr th a").first.click()
            expect(page.get_by_role("heading", name="Learners who share their progress")).to_be_visible()
            expect(page.get_by_text("are counted in the totals only")).to_be_visible()
            shot(page, "learners")
        finally:
            browser.close()
    assert problems.error_responses == []
    assert problems.csp == []
    assert problems.console == []
    assert problems.page_errors == []


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    database = "postgresql" if os.environ.get("TEST_DATABASE_URL") else "sqlite"
    page.screenshot(path=str(ARTIFACTS / f"reports-{database}-{name}.png"), full_page=True)
