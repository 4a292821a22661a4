"""XSS in a real Chromium: the vectors of tests/fixtures/xss.py go in through a course bundle (every
Markdown and text field of the course), the lesson editor's Markdown preview, learners' names, a cohort's
name, a quiz's questions and explanations; a learner, a trainer and the secretariat then load every page
that shows them. Target: no vector runs (no dialog, no call of the ``xss`` binding).

The browser ignores the CSP here (``bypass_csp``), so that what is measured is the escaping and the
sanitizer, not the CSP that would also stop most of them; every HTML answer must still carry a CSP with a
nonce, which the test checks on each document it loads.
"""

from __future__ import annotations

import io
import json
import threading
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from sqlalchemy import select
from werkzeug.serving import make_server

from learning.auth import services as auth
from learning.capstone import services as capstone
from learning.catalog.models import Course, Module
from learning.cohorts import services as cohorts
from learning.content.spec import course_files
from learning.extensions import db
from learning.progress import services as progress
from learning.progress.models import Enrolment
from learning.progress.services import clear_outline_cache
from learning.quizzes.models import Quiz
from tests.browser.test_learner_journey import CHROMIUM_ARGS
from tests.conftest import CHROMIUM, FIXTURE_CONTENT, csrf_from, queued_celery
from tests.fixtures.databases import committed_app
from tests.fixtures.xss import HTML as HTML_TEMPLATES
from tests.fixtures.xss import VECTORS

pytestmark = pytest.mark.browser

PASSWORD = "a long passphrase for the harbour"
TRAINER = "trainer@xss.example.org"
LEARNER = "learner@xss.example.org"
SLUG = "xss-course"
# vectors the bundle's validator refuses on purpose (links to lessons that do not exist) go only through
# the editor's preview, which renders whatever is typed
HTML = VECTORS[: len(HTML_TEMPLATES)]  # the raw HTML ones, each with its own call
PUBLISHABLE = [vector for vector in VECTORS if "lesson:" not in vector and "[S18]" not in vector]


def _profile(name: str) -> auth.Profile:
    return auth.Profile(
        full_name=name,
        country="TH",
        organisation=name[:200],
        organisation_type="port_authority",
        job_title=name[:100],
        language="en",
        timezone="Asia/Bangkok",
        consent_share_progress=True,
    )


def xss_bundle() -> bytes:
    """The fixture course as a new course whose every text and Markdown field holds vectors."""
    files = course_files(FIXTURE_CONTENT / "harbour-basics")
    course = yaml.safe_load(files["course.yaml"])
    course.update(slug=SLUG, title=HTML[1][:120], summary=HTML[0], description="\n\n".join(PUBLISHABLE[:40]))
    course["capstone"] = {
        "slug": "plan",
        "title": HTML[6][:200],
        "required": False,
        "guidance": "\n\n".join(PUBLISHABLE[70:100]),
        "sections": [
            {"slug": "one", "title": HTML[7][:200], "guidance": "\n\n".join(PUBLISHABLE[100:])},
            {"slug": "two", "title": HTML[8][:200], "guidance": PUBLISHABLE[0]},
        ],
    }
    files["course.yaml"] = yaml.safe_dump(course, allow_unicode=True)
    texts = iter(HTML * 4)
    for module in ("first-steps", "second-steps"):
        data = yaml.safe_load(files[f"{module}/module.yaml"])
        data["title"] = HTML[2][:120]
        data["reflection"] = "\n\n".join(PUBLISHABLE[40:70]) + " [S1]"
        data["references"]["S1"] = PUBLISHABLE[70]
        files[f"{module}/module.yaml"] = yaml.safe_dump(data, allow_unicode=True)
        quiz = yaml.safe_load(files[f"{module}/quiz.yaml"])
        for n, question in enumerate(quiz["questions"]):
            question["text"] = next(texts)[:1900]
            question["explanation"] = "\n\n".join(PUBLISHABLE[n * 10 : n * 10 + 10])
            for choice in question.get("choices", []):
                choice["text"] = next(texts)[:400]
        files[f"{module}/quiz.yaml"] = yaml.safe_dump(quiz, allow_unicode=True)
    lessons = [name for name in files if name.endswith(".md")]
    for n, name in enumerate(sorted(lessons)):
        chunk = PUBLISHABLE[n::4]
        files[name] = files[name] + "\n\n" + "\n\n".join(chunk) + "\n"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(f"{SLUG}/{name}", text)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def live_xss(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A live server with the XSS course published, a learner enrolled and a cohort of learners whose
    names are vectors; yields the base URL and the paths to load."""
    folder = tmp_path_factory.mktemp("live-xss")
    with committed_app(folder, MAIL_FILE_PATH=str(folder / "mail"), CELERY=queued_celery()) as app:
        clear_outline_cache()
        with app.app_context():
            auth.create_user(TRAINER, PASSWORD, _profile("Trainer"), {"trainer", "secretariat", "admin"})
            auth.create_user(LEARNER, PASSWORD, _profile(HTML[3]), set())
            db.session.commit()
            db.session.remove()
        client = app.test_client()
        client.environ_base["wsgi.url_scheme"] = "https"
        token = csrf_from(client.get("/login").get_data(as_text=True))
        client.post("/login", data={"csrf_token": token, "email": TRAINER, "password": PASSWORD})
        token = csrf_from(client.get("/authoring/import").get_data(as_text=True))
        response = client.post(
            "/authoring/import",
            data={"csrf_token": token, "bundle": (io.BytesIO(xss_bundle()), "xss.zip")},
            content_type="multipart/form-data",
        )
        assert response.status_code == 302, response.get_data(as_text=True)[-3000:]
        token = csrf_from(client.get(f"/authoring/courses/{SLUG}").get_data(as_text=True))
        response = client.post(
            f"/authoring/courses/{SLUG}/publish", data={"csrf_token": token, "change_note": HTML[4]}
        )
        assert response.status_code == 302, response.get_data(as_text=True)[-3000:]
        response = client.post(f"/authoring/courses/{SLUG}/draft", data={"csrf_token": token})
        assert response.status_code == 302
        with app.app_context():
            course = db.session.scalar(select(Course).where(Course.slug == SLUG))
            assert course is not None and course.current_version_id is not None
            learner = auth.find_user(LEARNER)
            trainer = auth.find_user(TRAINER)
            assert learner is not None and trainer is not None
            progress.enrol(learner, course)
            version = course.current_version
            cohort = cohorts.create_cohort(
                course, HTML[5][:200], version.published_at.date(), version.published_at.date(), trainer
            )
            for n, vector in enumerate(HTML[:20]):
                member = auth.create_user(f"member{n}@xss.example.org", None, _profile(vector[:200]), set())
                progress.enrol(member, course)
                roster = cohorts.roster_from_text(member.email)
                cohorts.apply_roster(cohort, roster, trainer)
            own = db.session.scalar(
                select(Enrolment).where(Enrolment.user_id == learner.id, Enrolment.course_id == course.id)
            )
            assert own is not None
            submission = capstone.save(
                own, {"one": "\n".join(HTML[:40]), "two": "\n".join(HTML[40:])}, None, None, True
            )
            capstone.review(submission, trainer, False, "\n".join(VECTORS[:60]))
            quiz = db.session.scalar(
                select(Quiz).join(Module).where(Module.version_id == course.current_version_id)
            )
            db.session.commit()
            paths = {
                "learner": [
                    "/",
                    f"/courses/{SLUG}",
                    *(
                        f"/courses/{SLUG}/lessons/{slug}"
                        for slug in ("first-a", "first-b", "second-a", "second-b")
                    ),
                    f"/quizzes/{quiz.id}" if quiz else "/",
                    "/dashboard",
                    f"/courses/{SLUG}/capstone",
                    "/account",
                ],
                "trainer": [
                    f"/authoring/courses/{SLUG}",
                    f"/authoring/courses/{SLUG}/preview",
                    f"/authoring/courses/{SLUG}/preview/lessons/first-a",
                    f"/authoring/cohorts/{cohort.id}",
                    f"/authoring/courses/{SLUG}/capstone",
                    f"/authoring/capstone/{submission.id}",
                    f"/authoring/courses/{SLUG}/cohorts",
                    f"/authoring/courses/{SLUG}/insight",
                    "/authoring/audit",
                    "/reports/",
                    "/reports/learners",
                    "/reports/completion?group_by=course",
                    "/reports/completion?group_by=cohort",
                    "/reports/completion?group_by=organisation",
                ],
            }
            db.session.remove()
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, name="live-xss", daemon=True)
        thread.start()
        try:
            yield {"url": f"http://127.0.0.1:{server.server_port}", "paths": paths}
        finally:
            server.shutdown()
            thread.join(timeout=10)
            server.server_close()
            clear_outline_cache()


class Executed:
    """What ran: calls of the xss binding and dialogs, each with the page it happened on."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.dialogs: list[str] = []
        self.documents: list[tuple[str, str]] = []
        self.shown: set[str] = set()  # pages whose text shows a vector (escaped or neutralised)
        self.page = ""

    def watch(self, context: Any, page: Any) -> None:
        context.expose_function("xss", lambda n: self.calls.append(f"xss({n}) on {self.page}"))
        page.on("dialog", self._dialog)
        page.on("response", self._response)

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(f"{dialog.type}({dialog.message}) on {self.page}")
        dialog.dismiss()

    def _response(self, response: Any) -> None:
        if response.request.resource_type == "document" and response.status < 300:
            self.documents.append((response.url, response.headers.get("content-security-policy", "")))


def sign_in(page: Any, email: str) -> None:
    page.goto("/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit], form input[type=submit]")
    page.wait_for_load_state()


def visit(page: Any, executed: Executed, path: str, go: bool = True) -> None:
    executed.page = path
    if go:
        page.goto(path)
    # hover and focus what a reader would, so that handlers like onmouseover and onfocus had their chance
    for link in page.locator("main a, main img").all()[:200]:
        try:
            link.hover(timeout=200)
        except Exception:  # noqa: BLE001, S112 - an element out of view or hidden by another is no finding
            continue
    page.wait_for_timeout(200)
    text = page.inner_text("body")
    if "xss(" in text or "alert(" in text or "javascript:" in page.content():
        executed.shown.add(path)


def test_no_vector_runs_in_chromium(live_xss: dict[str, Any]) -> None:
    from playwright.sync_api import sync_playwright

    executed = Executed()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            for who, email in (("learner", LEARNER), ("trainer", TRAINER)):
                context = browser.new_context(base_url=live_xss["url"], bypass_csp=True)
                context.set_default_timeout(20_000)
                page = context.new_page()
                executed.watch(context, page)
                if who == "learner":
                    # the detectors work: a script that does run is seen, by its call and by its dialog
                    page.set_content("<script>xss(0)</script><script>alert(0)</script>")
                    page.wait_for_timeout(200)
                    assert executed.calls and executed.dialogs, "the detectors saw nothing"
                    executed.calls.clear()
                    executed.dialogs.clear()
                sign_in(page, email)
                for path in live_xss["paths"][who]:
                    visit(page, executed, path)
                if who == "trainer":
                    # the editor's Markdown preview, typed in the browser: every vector, lesson links too
                    executed.page = "lesson editor preview"
                    page.goto(f"/authoring/courses/{SLUG}/draft/lessons/first-a")
                    page.fill("textarea[name=body]", "\n\n".join(VECTORS))
                    page.click("input[name=preview]")
                    page.wait_for_load_state()
                    visit(page, executed, "lesson editor preview", go=False)
                    assert "xss(" in page.content() or "alert(" in page.content()
                context.close()
        finally:
            browser.close()
    print(
        f"\nXSS: {len(VECTORS)} vectors, {len(executed.documents)} pages loaded in Chromium, "
        f"{len(executed.calls)} calls, {len(executed.dialogs)} dialogs"
    )
    assert executed.calls == [] and executed.dialogs == []
    without_nonce = [url for url, policy in executed.documents if "'nonce-" not in policy]
    assert without_nonce == []
    assert len(executed.documents) >= 20
    reached = {
        f"/courses/{SLUG}/lessons/first-a",
        f"/courses/{SLUG}/lessons/second-b",
        "/authoring/cohorts/",
        "/reports/learners",
        "lesson editor preview",
        f"/courses/{SLUG}/capstone",
        "/authoring/capstone/",
    }
    missing = {path for path in reached if not any(shown.startswith(path) for shown in executed.shown)}
    assert missing == set(), f"the vectors never reached {missing}: {json.dumps(sorted(executed.shown))}"
