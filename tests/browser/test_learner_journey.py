"""The learner's journey in a real browser: Debian's Chromium, driven by Playwright, against a live server.

The server runs in a thread of this process on its own database (the rolled-back per-test session cannot be
seen from the server's threads), with the fixture course loaded and committed.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import default
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from werkzeug.serving import WSGIRequestHandler, make_server

from learning.progress.services import clear_outline_cache
from learning.security.log import REDACTED, secret_values
from tests.conftest import CHROMIUM
from tests.fixtures.databases import committed_app

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
# where each live server writes its e-mails, by its base URL
MAIL_FOLDERS: dict[str, Path] = {}
# The machine's network is closed: without the background-networking flags Chromium keeps trying to reach
# Google's hosts; the rest keep a headless run quiet and root-safe.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
PASSWORD = "a long passphrase for the port"
EMAIL = "somchai.k@marine.go.th"
THAI_NAME = "สมชาย ใจดี"
PAGE_BUDGET = 60 * 1024  # bytes of HTML and CSS for a lesson page

# Every control a person can operate needs an accessible name: a <label>, aria-label or aria-labelledby.
UNLABELLED_CONTROLS = """() => [...document.querySelectorAll('input, select, textarea')]
  .filter(el => !['hidden', 'submit', 'button', 'reset', 'image'].includes(el.type))
  .filter(el => el.labels.length === 0
    && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby'))
  .map(el => el.outerHTML)
  .concat([...document.querySelectorAll('button, input[type=submit]')]
    .filter(el => !(el.textContent.trim() || el.value || el.getAttribute('aria-label')))
    .map(el => el.outerHTML))"""

# CSP violations also reach the console, but this names the directive; the binding survives navigations.
CSP_LISTENER = """document.addEventListener('securitypolicyviolation', e =>
  window.reportCspViolation(`${e.violatedDirective} blocked ${e.blockedURI} on ${location.pathname}`));"""


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Serve a fresh app with the fixture course on 127.0.0.1; yield its base URL."""
    folder = tmp_path_factory.mktemp("live")
    # ACADEMY_ENV stays "testing", so the session cookie keeps its production flags (Secure, HttpOnly,
    # SameSite=Lax): Chromium stores a Secure cookie from http://127.0.0.1 because it treats loopback
    # addresses as secure contexts. The test checks the flags; were it ever refused, the fix would be
    # this server's settings, never the production defaults.
    with committed_app(folder, MAIL_FILE_PATH=str(folder / "mail")) as app:
        clear_outline_cache()  # outlines are cached by version id, which the suite's database shares
        server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=redacting_handler(app))
        thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
        thread.start()
        base = f"http://127.0.0.1:{server.server_port}"
        MAIL_FOLDERS[base] = folder / "mail"
        try:
            yield base
        finally:
            server.shutdown()
            thread.join(timeout=10)
            server.server_close()
            clear_outline_cache()  # the database goes when committed_app ends


def redacting_handler(app: Any) -> type[WSGIRequestHandler]:
    """Werkzeug's request handler, writing the tokens of e-mailed links as gunicorn's does (redacted)."""

    class Handler(WSGIRequestHandler):
        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            for secret in secret_values(app.url_map, urlsplit(self.path).path):
                self.path = self.path.replace(secret, REDACTED)
            super().log_request(code, size)

    return Handler


@dataclass
class Problems:
    """What the browser reported while the journey ran; all of it should stay empty."""

    console: list[str] = field(default_factory=list)
    csp: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    error_responses: list[str] = field(default_factory=list)

    def watch(self, page: Any) -> None:
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.page_errors.append(str(error)))
        page.on("requestfailed", lambda req: self.failed_requests.append(f"{req.url} {req.failure}"))
        page.on("response", self._on_response)

    def _on_console(self, message: Any) -> None:
        if message.type == "error":
            self.console.append(f"{message.text} ({message.location.get('url')})")

    def _on_response(self, response: Any) -> None:
        if response.status >= 400:
            self.error_responses.append(f"{response.status} {response.url}")


@pytest.fixture
def browser_page(live_server: str) -> Iterator[tuple[Any, Problems]]:
    """A page of a fresh headless Chromium on the live server, with what goes wrong in it recorded."""
    from playwright.sync_api import sync_playwright

    problems = Problems()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                             headless=True)  # fmt: skip
        try:
            context = browser.new_context(base_url=live_server, locale="en-GB", timezone_id="Asia/Bangkok")
            context.set_default_timeout(15_000)
            context.expose_function("reportCspViolation", lambda report: problems.csp.append(report))
            context.add_init_script(CSP_LISTENER)
            page = context.new_page()
            problems.watch(page)
            yield page, problems
            context.close()
        finally:
            browser.close()


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    database = "postgresql" if os.environ.get("TEST_DATABASE_URL") else "sqlite"
    page.screenshot(path=str(ARTIFACTS / f"journey-{database}-{name}.png"), full_page=True)


def assert_labelled(page: Any) -> None:
    unlabelled = page.evaluate(UNLABELLED_CONTROLS)
    assert unlabelled == [], f"controls without a label on {page.url}: {unlabelled}"


def tab_to(page: Any, label: str, limit: int = 40) -> None:
    """Press Tab until the control labelled ``label`` has the focus, as a keyboard user would."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "() => { const el = document.activeElement; return el && el.labels && el.labels.length ? "
            "el.labels[0].textContent.trim() : (el ? el.textContent.trim() : ''); }"
        )
        if focused == label:
            return
    raise AssertionError(f"{limit} presses of Tab did not reach {label!r}")


def confirmation_link(base: str, email: str) -> str:
    """The path of the confirmation link in the e-mail the live server wrote to ``email``."""
    folder = MAIL_FOLDERS[base]
    for path in sorted(folder.glob("*.eml"), reverse=True):
        message = BytesParser(policy=default).parsebytes(path.read_bytes())
        if message["To"] == email.lower():
            text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
            found = re.search(r"http://localhost(/register/confirm/\S+)", text)
            assert found is not None, text
            return found.group(1)
    raise AssertionError(f"no e-mail to {email} in {folder}")


def test_learner_registers_studies_takes_a_quiz_and_resumes(
    live_server: str, browser_page: tuple[Any, Problems]
) -> None:
    from playwright.sync_api import Page, expect

    page, problems = browser_page
    assert isinstance(page, Page)

    # Register through the form, with the name in Thai script.
    page.goto("/")
    page.get_by_role("link", name="Register").click()
    expect(page.get_by_role("heading", name="Create your account")).to_be_visible()
    assert_labelled(page)
    page.get_by_label("E-mail address").fill(EMAIL)
    page.get_by_label("Password (at least").fill(PASSWORD)
    page.get_by_label("Repeat the password").fill(PASSWORD)
    page.get_by_label("Full name, as it should appear on your certificate").fill(THAI_NAME)
    page.get_by_label("Country").select_option(label="Thailand")
    page.get_by_label("Organisation", exact=True).fill("Marine Department")
    page.get_by_label("Type of organisation").select_option(label="Maritime administration")
    page.get_by_label("Job title").fill("Port State Control Officer")
    page.get_by_label("Time zone").select_option("Asia/Bangkok")
    page.get_by_label("I agree that the ESCAP secretariat").check()
    shot(page, "01-register")
    page.get_by_role("button", name="Create my account").click()

    # The address is confirmed with the link the e-mail brings (the live server writes it to a folder).
    expect(page.get_by_role("heading", name="Check your e-mail")).to_be_visible()
    link = confirmation_link(live_server, EMAIL)
    page.goto(link)
    expect(
        page.get_by_text(f"Confirm {EMAIL.lower()} to make your Smart Port Academy account")
    ).to_be_visible()
    page.get_by_role("button", name="Confirm and sign in").click()

    # The catalogue greets the learner by the Thai name, which came through intact.
    expect(page.get_by_text(f"Welcome, {THAI_NAME}.")).to_be_visible()
    cookie = next(c for c in page.context.cookies() if c["name"] == "academy_session")
    assert (cookie["secure"], cookie["httpOnly"], cookie["sameSite"]) == (True, True, "Lax")
    shot(page, "02-catalogue")
    page.get_by_role("link", name="Harbour basics").click()
    page.get_by_role("button", name="Enrol in this course").click()
    expect(page.get_by_text("You are enrolled.")).to_be_visible()
    assert_labelled(page)
    page.get_by_role("link", name="Start the first lesson").click()

    # Read the lessons of the first module, marking each complete.
    expect(page.get_by_role("heading", name="First lesson A", level=1)).to_be_visible()
    assert_labelled(page)
    lesson_url = page.url
    shot(page, "03-lesson")
    page.get_by_role("button", name="Mark as complete and continue").click()
    expect(page.get_by_role("heading", name="First lesson B", level=1)).to_be_visible()
    page.get_by_role("button", name="Mark as complete and continue").click()

    # The quiz, answered with the keyboard: Tab to each control, Space to choose, Enter to submit.
    expect(page.get_by_role("heading", name="First quiz")).to_be_visible()
    assert_labelled(page)
    page.locator("h1").focus()
    tab_to(page, "Wrong date")
    page.keyboard.press("ArrowDown")  # in a radio group the arrow keys move the choice
    expect(page.get_by_label("Right date", exact=True)).to_be_checked()
    tab_to(page, "True thing one")
    page.keyboard.press("Space")
    tab_to(page, "True thing two")
    page.keyboard.press("Space")
    tab_to(page, "True")
    page.keyboard.press("Space")
    expect(page.get_by_label("True thing one")).to_be_checked()
    expect(page.get_by_label("True thing two")).to_be_checked()
    expect(page.get_by_label("False thing")).not_to_be_checked()
    expect(page.get_by_label("True", exact=True)).to_be_checked()
    shot(page, "04-quiz")
    tab_to(page, "Submit my answers")
    page.keyboard.press("Enter")

    # The result page: the score and feedback on every question.
    expect(page.get_by_role("heading", name="Your result: 100%")).to_be_visible()
    expect(page.get_by_text("You passed this quiz.")).to_be_visible()
    expect(page.get_by_text("The right date is right.")).to_be_visible()
    expect(page.locator("ol.feedback > li")).to_have_count(3)
    shot(page, "05-result")
    page.get_by_role("link", name="Go on to the next module").click()
    expect(page.get_by_role("heading", name="Second lesson A", level=1)).to_be_visible()
    page.get_by_role("button", name="Mark as complete and continue").click()
    expect(page.get_by_role("heading", name="Second lesson B", level=1)).to_be_visible()

    # Sign out, sign in again, and pick up where the learner left off.
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You are signed out.")).to_be_visible()
    expect(page.get_by_role("link", name="Sign in")).to_be_visible()
    page.goto("/dashboard")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()  # the dashboard needs a session
    assert_labelled(page)
    page.get_by_label("E-mail address").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    # 2 lessons and a quiz of module 1 plus 1 of module 2's 2 lessons and a quiz: 4 of 6 steps.
    expect(page.get_by_role("heading", name="My learning")).to_be_visible()
    expect(page.locator(".card strong")).to_have_text("66%")
    expect(page.get_by_role("link", name="Continue: Second lesson B")).to_be_visible()
    shot(page, "06-dashboard")
    page.get_by_role("link", name="Harbour basics").click()
    page.get_by_role("link", name="Continue where you left off").click()
    expect(page.get_by_role("heading", name="Second lesson B", level=1)).to_be_visible()
    assert re.search(r"/courses/harbour-basics/lessons/second-b$", page.url)

    # The lesson page stays light: its HTML and CSS under the budget.
    sizes = {lesson_url: len(page.context.request.get(lesson_url).body())}
    for href in page.evaluate("() => [...document.styleSheets].map(s => s.href).filter(Boolean)"):
        sizes[href] = len(page.context.request.get(href).body())
    assert sum(sizes.values()) < PAGE_BUDGET, sizes

    assert problems.error_responses == []
    assert problems.csp == []
    assert problems.console == []
    assert problems.page_errors == []
    assert problems.failed_requests == []
