"""Trainers in a real Chromium: a course built, published and completed by a learner; a cohort from a CSV.

The server runs in a thread on its own committed database, as in tests/browser; screenshots go to
test-artifacts/.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from learning.auth import services as auth
from learning.catalog.models import Course
from learning.cohorts.models import Cohort, CohortMember
from learning.extensions import db
from learning.progress.models import Enrolment
from learning.progress.services import clear_outline_cache
from tests.authoring.test_editing import LESSON_TEXT
from tests.browser.test_learner_journey import (
    ARTIFACTS,
    CHROMIUM_ARGS,
    CSP_LISTENER,
    Problems,
    assert_labelled,
)
from tests.conftest import CHROMIUM, queued_celery
from tests.fixtures.databases import committed_app

pytestmark = pytest.mark.browser

PASSWORD = "a long passphrase for the harbour"
TRAINER = "trainer@maritime.example.org"
LEARNER = "learner@port.example.org"
COHORT_LEARNERS = ("ana@mot.example.org", "binh@vinamarine.example.org")


def _profile(name: str) -> auth.Profile:
    return auth.Profile(
        full_name=name,
        country="VN",
        organisation="Vietnam Maritime Administration",
        organisation_type="maritime_administration",
        job_title="Officer",
        language="en",
        timezone="Asia/Ho_Chi_Minh",
        consent_share_progress=True,
    )


@pytest.fixture(scope="module")
def live_authoring(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any]]:
    """A live server with a trainer, a learner and two more accounts for a cohort; yields (URL, app)."""
    folder = tmp_path_factory.mktemp("live-authoring")
    # tasks are only queued, as from a web server whose worker runs elsewhere: eager ones would run inside
    # the request's after-commit hook, on its already committed session
    with committed_app(folder, MAIL_FILE_PATH=str(folder / "mail"), CELERY=queued_celery()) as app:
        clear_outline_cache()
        with app.app_context():
            auth.create_user(TRAINER, PASSWORD, _profile("Trần Thị Hương"), {"trainer"})
            auth.create_user(LEARNER, PASSWORD, _profile("Nguyễn Văn An"), set())
            for email in COHORT_LEARNERS:
                auth.create_user(email, PASSWORD, _profile(email.split("@")[0].title()), set())
            db.session.commit()
            db.session.remove()
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, name="live-authoring", daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_port}", app
        finally:
            server.shutdown()
            thread.join(timeout=10)
            server.server_close()
            clear_outline_cache()


@pytest.fixture
def chromium(live_authoring: tuple[str, Any]) -> Iterator[tuple[Any, Problems]]:
    """A headless Chromium on the live server; new contexts (one per person) come from ``browser``."""
    from playwright.sync_api import sync_playwright

    problems = Problems()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser, problems
        finally:
            browser.close()


def person(browser: Any, problems: Problems, base_url: str, email: str) -> Any:
    """A page of a new browser context, signed in as ``email`` through the login form."""
    context = browser.new_context(base_url=base_url, locale="en-GB", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    context.expose_function("reportCspViolation", lambda report: problems.csp.append(report))
    context.add_init_script(CSP_LISTENER)
    page = context.new_page()
    problems.watch(page)
    page.goto("/login")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    return page


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    database = "postgresql" if os.environ.get("TEST_DATABASE_URL") else "sqlite"
    page.screenshot(path=str(ARTIFACTS / f"authoring-{database}-{name}.png"), full_page=True)


def fill(page: Any, form: str, values: dict[str, str | bool], button: str | None = None) -> None:
    """Fill the form matching the CSS selector ``form`` field by field, as a person would, and press its
    button (the one named ``button``, or its only submit button)."""
    scope = page.locator(form)
    for name, value in values.items():
        control = scope.locator(f'[name="{name}"]')
        kind = control.evaluate("el => el.tagName.toLowerCase() + ':' + (el.type || '')")
        if kind.startswith("select"):
            control.select_option(str(value))
        elif kind == "input:checkbox":
            control.set_checked(bool(value))
        else:
            control.fill(str(value))
    submit = scope.get_by_role("button", name=button) if button else scope.locator("[type=submit]")
    submit.click()
    page.wait_for_load_state()


def test_a_trainer_builds_and_publishes_a_course_that_a_learner_completes(
    live_authoring: tuple[str, Any], chromium: tuple[Any, Problems]
) -> None:
    from playwright.sync_api import expect

    base_url, app = live_authoring
    browser, problems = chromium
    trainer = person(browser, problems, base_url, TRAINER)

    trainer.goto("/authoring/")
    trainer.get_by_role("link", name="Create a course").click()
    assert_labelled(trainer)
    fill(
        trainer,
        "form:has([name=summary])",
        {
            "slug": "pcs-basics",
            "title": "Port community systems",
            "summary": "What a PCS is and does.",
            "language": "en",
            "hours": "1.5",
        },
    )
    base = "/authoring/courses/pcs-basics"
    expect(trainer.get_by_role("heading", name="pcs-basics", level=1)).to_be_visible()
    fill(
        trainer, "form:has([name=slug])", {"slug": "pcs-intro", "title": "Introducing port community systems"}
    )
    trainer.goto(f"{base}/draft/modules/pcs-intro")
    assert_labelled(trainer)
    fill(
        trainer,
        "form:has([name=objectives])",
        {
            "title": "Introducing port community systems",
            "summary": "The basics.",
            "objectives": "Explain what a PCS does.\nCompare a PCS with a single window.\nList its users.",
            "case_studies": "pcs-history: The first PCSs in Europe",
            "reflection": "Which parts of your port community already exchange data electronically?",
            "references": "S23: IPCSA, *What is a PCS* <https://ipcsa.international/pcs/pcs-general/>",
        },
    )
    for slug, title in (("pcs-what", "What a PCS is"), ("pcs-history", "Where PCSs come from")):
        trainer.goto(f"{base}/draft/modules/pcs-intro")
        fill(trainer, "form:has([name=slug])", {"slug": slug, "title": title})
        trainer.goto(f"{base}/draft/lessons/{slug}")
        fill(trainer, "form:has([name=body])", {"title": title, "body": LESSON_TEXT}, button="Preview")
        expect(trainer.get_by_text("Preview (not saved yet)")).to_be_visible()
        shot(trainer, "01-lesson-preview") if slug == "pcs-what" else None
        fill(trainer, "form:has([name=body])", {}, button="Save the lesson")
    trainer.goto(f"{base}/draft/modules/pcs-intro/quiz")
    fill(trainer, "form:has([name=pass_mark])", {"title": "PCS quiz", "pass_mark": "75"})
    for n in range(8):
        kind = ("single", "multiple", "true_false")[n % 3]
        values: dict[str, str | bool] = {
            "slug": f"pcs-q{n}",
            "type": kind,
            "source": "S23",
            "text": f"Question {n} about port community systems?",
            "explanation": "See the first lesson.",
        }
        if kind == "true_false":
            values["answer"] = "true"
        else:
            values.update(
                {"choice_1": "Right", "correct_1": True, "choice_2": "Wrong", "choice_3": "Also right"}
            )
            values["correct_3"] = kind == "multiple"
        trainer.goto(f"{base}/draft/modules/pcs-intro/questions/new")
        assert_labelled(trainer)
        fill(trainer, "form:has([name=explanation])", values)
    trainer.goto(base)
    expect(trainer.get_by_text("The validator found")).to_have_count(0)
    trainer.get_by_role("link", name="Preview as a learner").click()
    expect(trainer.get_by_text("Preview of the draft")).to_be_visible()
    trainer.goto(base)
    fill(trainer, "form:has([name=change_note])", {"change_note": "First version."})
    expect(trainer.get_by_role("cell", name="First version.")).to_be_visible()
    shot(trainer, "02-published")

    learner = person(browser, problems, base_url, LEARNER)
    learner.goto("/")
    learner.get_by_role("link", name="Port community systems").click()
    learner.get_by_role("button", name="Enrol in this course").click()
    expect(learner.get_by_text("You are enrolled.")).to_be_visible()
    learner.get_by_role("link", name="Start the first lesson").click()
    expect(learner.get_by_role("heading", name="What a PCS is", level=1)).to_be_visible()
    learner.get_by_role("button", name="Mark as complete and continue").click()
    expect(learner.get_by_role("heading", name="Where PCSs come from", level=1)).to_be_visible()
    learner.get_by_role("button", name="Mark as complete and continue").click()
    expect(learner.get_by_role("heading", name="PCS quiz")).to_be_visible()
    assert_labelled(learner)
    for n in range(8):
        question = learner.locator("fieldset").nth(n)
        if n % 3 == 2:
            question.get_by_label("True", exact=True).check()
        else:
            question.get_by_label("Right", exact=True).check()
            if n % 3 == 1:
                question.get_by_label("Also right", exact=True).check()
    shot(learner, "03-quiz")
    learner.get_by_role("button", name="Submit my answers").click()
    expect(learner.get_by_role("heading", name="Your result: 100%")).to_be_visible()
    learner.goto("/dashboard")
    expect(learner.locator(".card strong")).to_have_text("100%")
    shot(learner, "04-dashboard")

    with app.app_context():
        course = db.session.scalar(select(Course).where(Course.slug == "pcs-basics"))
        assert course is not None and course.current_version is not None
        enrolment = db.session.scalar(select(Enrolment).where(Enrolment.course_id == course.id))
        assert enrolment is not None and enrolment.completed_at is not None
        assert enrolment.version_id == course.current_version_id
        db.session.remove()
    assert problems.csp == [] and problems.page_errors == [] and problems.console == []
    assert problems.failed_requests == []


def test_a_trainer_makes_a_cohort_from_a_csv_file(
    live_authoring: tuple[str, Any], chromium: tuple[Any, Problems], tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    base_url, app = live_authoring
    browser, problems = chromium
    with app.app_context():
        from learning.catalog.models import CourseMember

        course = db.session.scalar(select(Course).where(Course.slug == "harbour-basics"))
        trainer = auth.find_user(TRAINER)
        assert course is not None and trainer is not None
        db.session.add(CourseMember(course_id=course.id, user_id=trainer.id, role="owner"))
        db.session.commit()
        db.session.remove()
    page = person(browser, problems, base_url, TRAINER)
    page.goto("/authoring/courses/harbour-basics")
    page.get_by_role("link", name="Cohorts").click()
    assert_labelled(page)
    page.get_by_label("Name (for example").fill("Ministry intake, first quarter")
    page.get_by_label("Start date").fill("2027-01-04")
    page.get_by_label("Due date").fill("2027-03-31")
    page.get_by_role("button", name="Create the cohort").click()
    expect(page.get_by_role("heading", name="Ministry intake, first quarter")).to_be_visible()
    cohort_url = page.url

    bad = tmp_path / "bad.csv"
    bad.write_text(f"email\n{COHORT_LEARNERS[0]}\nnot-an-address\n{COHORT_LEARNERS[1]}\n", encoding="utf-8")
    page.get_by_label("Or a CSV file").set_input_files(str(bad))
    page.get_by_role("button", name="Check and add").click()
    problem = page.get_by_role("alert").get_by_role("listitem")
    expect(problem).to_have_count(1)
    expect(problem).to_contain_text("line 3")
    expect(problem).to_contain_text("not-an-address")
    shot(page, "05-cohort-bad-csv")
    with app.app_context():
        assert db.session.scalar(select(CohortMember)) is None  # nothing applied
        db.session.remove()

    good = tmp_path / "good.csv"
    good.write_text("email\n" + "\n".join(COHORT_LEARNERS) + "\n", encoding="utf-8")
    page.goto(cohort_url)
    page.get_by_label("Or a CSV file").set_input_files(str(good))
    page.get_by_role("button", name="Check and add").click()
    for email in COHORT_LEARNERS:
        expect(page.locator("table").get_by_text(email.split("@")[0].title())).to_be_visible()
    shot(page, "06-cohort-grid")
    with app.app_context():
        cohort = db.session.scalar(select(Cohort))
        assert cohort is not None
        members = db.session.scalars(select(CohortMember).where(CohortMember.cohort_id == cohort.id)).all()
        assert len(members) == 2
        db.session.remove()
    # the refused file is answered 422 (which Chromium also logs to the console); nothing else failed
    assert [status.split()[0] for status in problems.error_responses] == ["422"]
    assert problems.csp == [] and problems.page_errors == []
