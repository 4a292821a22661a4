"""A trainer builds, previews, publishes and revises a course in the browser, without touching a file."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from learning.audit.models import AuditEvent
from learning.authoring import services
from learning.catalog.models import Course, CourseVersion
from learning.extensions import db
from learning.progress import services as progress
from learning.progress.models import Enrolment
from tests.conftest import csrf_from, post_form

LESSON_TEXT = (
    "Port community systems link the many organisations of a port [S23]. They began in Germany, France and "
    "the United Kingdom, and today they connect shipping lines, terminals, forwarders and customs. "
) * 22


def token(client: FlaskClient, page: str) -> str:
    return csrf_from(client.get(page).get_data(as_text=True))


def build_course(client: FlaskClient) -> None:
    """Create a course with one module, two lessons and an eight-question quiz through the forms."""
    response = post_form(
        client,
        "/authoring/courses/new",
        {
            "slug": "pcs-basics",
            "title": "Port community systems",
            "summary": "What a PCS is and does.",
            "language": "en",
            "hours": "1.5",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    base = "/authoring/courses/pcs-basics"
    post_form(
        client,
        base,
        {"slug": "pcs-intro", "title": "Introducing port community systems"},
        action=f"{base}/draft/modules",
    )
    module = f"{base}/draft/modules/pcs-intro"
    response = post_form(
        client,
        module,
        {
            "title": "Introducing port community systems",
            "summary": "The basics.",
            "objectives": "Explain what a PCS does.\nCompare a PCS with a single window.\nList its users.",
            "case_studies": "pcs-history: The first PCSs in Europe",
            "reflection": "Which parts of your port community already exchange data electronically?",
            "references": "S23: IPCSA, *What is a PCS* <https://ipcsa.international/pcs/pcs-general/>",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    for slug, title in (("pcs-what", "What a PCS is"), ("pcs-history", "Where PCSs come from")):
        post_form(client, module, {"slug": slug, "title": title}, action=f"{module}/lessons")
        response = post_form(
            client,
            f"{base}/draft/lessons/{slug}",
            {"title": title, "body": LESSON_TEXT, "submit": "Save the lesson"},
        )
        assert response.status_code == 302
    post_form(client, f"{module}/quiz", {"title": "PCS quiz", "pass_mark": "75"})
    for n in range(8):
        kind = ("single", "multiple", "true_false")[n % 3]
        data = {
            "slug": f"pcs-q{n}",
            "type": kind,
            "text": f"Question {n} about port community systems?",
            "explanation": "See the first lesson.",
            "source": "S23",
            "answer": "true",
        }
        if kind != "true_false":
            data.update(
                {"choice_1": "Right", "correct_1": "y", "choice_2": "Wrong", "choice_3": "Also right"}
            )
            if kind == "multiple":
                data["correct_3"] = "y"
        response = post_form(client, f"{module}/questions/new", data)
        assert response.status_code == 302, response.get_data(as_text=True)


def test_trainer_builds_previews_and_publishes_a_course(client: FlaskClient, create_user, login) -> None:
    trainer = create_user(roles=("trainer",))
    login(client, trainer)
    build_course(client)
    page = client.get("/authoring/courses/pcs-basics").get_data(as_text=True)
    assert "The validator found" not in page, re.findall(r"<code>[^<]+</code>[^<]+", page)

    preview = client.get("/authoring/courses/pcs-basics/preview").get_data(as_text=True)
    assert "Preview of the draft" in preview and "Where PCSs come from" in preview
    lesson = client.get("/authoring/courses/pcs-basics/preview/lessons/pcs-what").get_data(as_text=True)
    assert "They began in Germany" in lesson and 'href="#ref-S23"' in lesson
    quiz_page = client.get("/authoring/courses/pcs-basics/preview/quizzes/pcs-intro")
    assert quiz_page.status_code == 200 and "not recorded" in quiz_page.get_data(as_text=True)
    tried = client.post(
        "/authoring/courses/pcs-basics/preview/quizzes/pcs-intro",
        data={"csrf_token": csrf_from(quiz_page.get_data(as_text=True))},
    )
    assert "Result: 0%" in tried.get_data(as_text=True)

    # learners do not see an unpublished course
    assert client.get("/courses/pcs-basics").status_code == 404
    response = post_form(
        client,
        "/authoring/courses/pcs-basics",
        {"change_note": "First version."},
        action="/authoring/courses/pcs-basics/publish",
    )
    assert response.status_code == 302
    course = db.session.scalar(select(Course).where(Course.slug == "pcs-basics"))
    assert course.current_version.number == 1 and course.current_version.change_note == "First version."
    assert client.get("/courses/pcs-basics").status_code == 200
    actions = set(db.session.scalars(select(AuditEvent.action).where(AuditEvent.course_id == course.id)))
    assert {"course.create", "draft.lesson.edit", "draft.question.save", "course.publish"} <= actions


def test_publishing_is_refused_while_the_validator_finds_problems(
    client: FlaskClient, create_user, login
) -> None:
    login(client, create_user(roles=("trainer",)))
    post_form(
        client,
        "/authoring/courses/new",
        {"slug": "empty-course", "title": "Empty", "summary": "Nothing yet.", "language": "en", "hours": "1"},
    )
    page = client.get("/authoring/courses/empty-course").get_data(as_text=True)
    assert "must list at least one module folder" in page
    response = client.post(
        "/authoring/courses/empty-course/publish", data={"csrf_token": csrf_from(page), "change_note": "Try"}
    )
    assert response.status_code == 302
    course = db.session.scalar(select(Course).where(Course.slug == "empty-course"))
    assert course.current_version_id is None


def test_lesson_preview_uses_the_learners_sanitizer_and_saves_nothing(
    client: FlaskClient, create_user, login
) -> None:
    login(client, create_user(roles=("trainer",)))
    build_course(client)
    page = "/authoring/courses/pcs-basics/draft/lessons/pcs-what"
    response = post_form(
        client,
        page,
        {
            "title": "What a PCS is",
            "preview": "Preview",
            "body": "Hello <script>alert(1)</script> [x](javascript:alert(1))",
        },
    )
    html = response.get_data(as_text=True)
    assert "Preview (not saved yet)" in html and "<script>alert(1)</script>" not in html
    assert 'href="javascript:' not in html
    assert "They began in Germany" in client.get(
        "/authoring/courses/pcs-basics/preview/lessons/pcs-what"
    ).get_data(as_text=True)


def test_reordering_and_removing(client: FlaskClient, create_user, login) -> None:
    login(client, create_user(roles=("trainer",)))
    build_course(client)
    base = "/authoring/courses/pcs-basics"
    post_form(client, base, {"direction": "1"}, action=f"{base}/draft/lessons/pcs-what/move")
    course = db.session.scalar(select(Course).where(Course.slug == "pcs-basics"))
    draft = db.session.scalar(select(CourseVersion).where(CourseVersion.course_id == course.id))
    assert [lesson.slug for lesson in draft.modules[0].lessons] == ["pcs-history", "pcs-what"]
    assert (
        post_form(client, base, {"direction": "-5"}, action=f"{base}/draft/lessons/pcs-what/move").status_code
        == 400
    )
    post_form(
        client, base, {"direction": "-1"}, action=f"{base}/draft/modules/pcs-intro/questions/pcs-q1/move"
    )
    db.session.refresh(draft)
    assert [q.slug for q in draft.modules[0].quiz.questions][:2] == ["pcs-q1", "pcs-q0"]
    post_form(client, base, {}, action=f"{base}/draft/modules/pcs-intro/questions/pcs-q7/delete")
    post_form(client, base, {}, action=f"{base}/draft/lessons/pcs-what/delete")
    db.session.refresh(draft)
    assert len(draft.modules[0].quiz.questions) == 7
    assert [lesson.slug for lesson in draft.modules[0].lessons] == ["pcs-history"]


def test_a_new_version_keeps_a_learner_halfway_and_records_what_was_studied(
    client: FlaskClient, create_user, login, course: Course
) -> None:
    trainer = create_user(roles=("trainer",))
    learner = create_user()
    from learning.catalog.models import CourseMember

    db.session.add(CourseMember(course_id=course.id, user_id=trainer.id, role="co_author"))
    enrolment = progress.enrol(learner, course)
    progress.complete_lesson(enrolment, "first-a")
    progress.complete_lesson(enrolment, "second-a")
    db.session.commit()
    before = enrolment.percent
    login(client, trainer)
    base = "/authoring/courses/harbour-basics"
    post_form(client, base, {}, action=f"{base}/draft")
    response = post_form(
        client,
        f"{base}/draft/lessons/first-b",
        {
            "title": "First lesson B, revised",
            "submit": "Save",
            "body": "A revised case study about a port that went digital, with more detail [S1].",
        },
    )
    assert response.status_code == 302
    post_form(client, base, {"change_note": "Revised lesson B."}, action=f"{base}/publish")
    db.session.refresh(course)
    db.session.refresh(enrolment)
    assert course.current_version.number == 2
    assert enrolment.version_id == course.current_version_id and enrolment.percent == before
    state = progress.progress_for(enrolment, enrolment.version_id)
    assert set(state.completed_lessons) == {"first-a", "second-a"}


def test_archive_stops_new_enrolments_but_keeps_learners(
    client: FlaskClient, create_user, login, course: Course, enrol
) -> None:
    admin = create_user(roles=("admin",))
    learner = create_user()
    enrol(learner)
    login(client, admin)
    post_form(
        client, "/authoring/courses/harbour-basics", {}, action="/authoring/courses/harbour-basics/archive"
    )
    db.session.refresh(course)
    assert course.is_archived
    newcomer = create_user()
    with pytest.raises(progress.ProgressError, match="archived"):
        progress.enrol(newcomer, course)
    assert db.session.scalar(select(func.count()).select_from(Enrolment)) == 1
    assert "harbour-basics" not in client.get("/").get_data(as_text=True)


def test_the_validators_findings_are_reused_only_for_the_same_files(monkeypatch: pytest.MonkeyPatch) -> None:
    """services.problems_of checks a draft's files once and answers again from memory while they are the
    same; any change of a file, a path or the course checks again."""
    calls: list[str] = []
    real = services.read_course_files

    def counted(slug: str, files: dict[str, str]) -> Any:
        calls.append(slug)
        return real(slug, files)

    monkeypatch.setattr(services, "read_course_files", counted)
    course = Course(slug="cache-check")
    draft = services.Draft(
        course=course, version=CourseVersion(), files={"course.yaml": "slug: cache-check\n"}
    )
    first = services.problems_of(draft)
    assert any("must list at least one module folder" in str(p) for p in first)
    assert services.problems_of(draft) == first and len(calls) == 1
    draft.files["course.yaml"] = "slug: other\n"
    changed = services.problems_of(draft)
    assert len(calls) == 2 and any("must equal the folder name" in str(p) for p in changed)
    # the same bytes under another path, or the same files for another course, are checked again
    draft.files = {"course.yaml": "", "x.md": "slug: other\n"}
    services.problems_of(draft)
    assert len(calls) == 3
    draft.files = {"course.yaml": "slug: other\n"}  # as two calls ago: remembered
    assert services.problems_of(draft) == changed and len(calls) == 3
    draft.course = Course(slug="other")
    assert not any("must equal the folder name" in str(p) for p in services.problems_of(draft))
    assert len(calls) == 4
