"""Members, the audit log, insight figures, and the refusals of the editor."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import select

from learning.audit.models import AuditEvent
from learning.catalog.models import Course, CourseMember, CourseVersion
from learning.extensions import db
from learning.progress import services as progress
from learning.quizzes.models import Quiz
from learning.quizzes.services import submit_attempt
from tests.authoring.test_editing import build_course
from tests.conftest import post_form


def test_admin_assigns_owners_and_co_authors(client: FlaskClient, create_user, login, course: Course) -> None:
    admin = create_user(roles=("admin",))
    trainer = create_user(roles=("trainer",))
    learner = create_user()
    login(client, admin)
    base = "/authoring/courses/harbour-basics"
    post_form(client, base, {"email": trainer.email, "role": "co_author"}, action=f"{base}/members")
    assert db.session.get(CourseMember, (course.id, trainer.id)).role == "co_author"
    post_form(client, base, {"email": trainer.email.upper(), "role": "owner"}, action=f"{base}/members")
    assert db.session.get(CourseMember, (course.id, trainer.id)).role == "owner"
    response = post_form(client, base, {"email": learner.email, "role": "owner"}, action=f"{base}/members")
    assert "There is no trainer with that e-mail" in client.get(response.headers["Location"]).get_data(
        as_text=True
    )
    post_form(client, base, {"email": trainer.email, "role": "remove"}, action=f"{base}/members")
    assert db.session.get(CourseMember, (course.id, trainer.id)) is None
    log = client.get("/authoring/audit").get_data(as_text=True)
    assert "course.member" in log and trainer.email in log


def test_trainers_see_only_their_courses(client: FlaskClient, create_user, login) -> None:
    mine = create_user(roles=("trainer",))
    login(client, mine)
    build_course(client)
    other = create_user(roles=("trainer",))
    login(client, other)
    page = client.get("/authoring/").get_data(as_text=True)
    assert "pcs-basics" not in page and "harbour-basics" not in page
    assert client.get("/authoring/courses/pcs-basics").status_code == 403


def test_editor_refusals_change_nothing(client: FlaskClient, create_user, login) -> None:
    login(client, create_user(roles=("trainer",)))
    build_course(client)
    base = "/authoring/courses/pcs-basics"
    course = db.session.scalar(select(Course).where(Course.slug == "pcs-basics"))
    draft = db.session.scalar(select(CourseVersion).where(CourseVersion.course_id == course.id))
    files_before = dict(draft.files)
    # duplicate and invalid short names
    page = post_form(client, base, {"slug": "pcs-intro", "title": "Again"}, action=f"{base}/draft/modules")
    assert "exists already" in client.get(page.headers["Location"]).get_data(as_text=True)
    post_form(client, base, {"slug": "Bad Slug", "title": "x"}, action=f"{base}/draft/modules")
    module = f"{base}/draft/modules/pcs-intro"
    post_form(client, module, {"slug": "pcs-what", "title": "Again"}, action=f"{module}/lessons")
    bad_refs = post_form(
        client, module, {"title": "T", "objectives": "A\nB\nC", "references": "not a reference"}
    )
    assert "Write each reference as KEY: citation" in bad_refs.get_data(as_text=True)
    duplicate = post_form(
        client,
        f"{module}/questions/new",
        {
            "slug": "pcs-q0",
            "type": "true_false",
            "text": "Dup?",
            "explanation": "E.",
            "source": "S23",
            "answer": "true",
        },
    )
    assert "exists already" in duplicate.get_data(as_text=True)
    no_correct = post_form(
        client,
        f"{module}/questions/new",
        {
            "slug": "pcs-q9",
            "type": "single",
            "text": "None right?",
            "explanation": "E.",
            "source": "S23",
            "choice_1": "A",
            "choice_2": "B",
        },
    )
    assert "Mark exactly one choice as correct." in no_correct.get_data(as_text=True)
    db.session.refresh(draft)
    assert draft.files == files_before
    assert client.get(f"{base}/draft/modules/nope").status_code == 404
    assert client.get(f"{base}/draft/lessons/nope").status_code == 404
    assert client.get(f"{module}/questions/nope").status_code == 404
    assert client.get("/authoring/courses/nope").status_code == 404


def test_editing_an_existing_question_keeps_its_place(client: FlaskClient, create_user, login) -> None:
    login(client, create_user(roles=("trainer",)))
    build_course(client)
    page = "/authoring/courses/pcs-basics/draft/modules/pcs-intro/questions/pcs-q0"
    assert "Question 0 about port community systems?" in client.get(page).get_data(as_text=True)
    response = post_form(
        client,
        page,
        {
            "slug": "pcs-q0",
            "type": "single",
            "text": "Which organisations founded EPCSA?",
            "explanation": "E.",
            "source": "S23",
            "choice_1": "Six European PCS operators",
            "correct_1": "y",
            "choice_2": "Six ports",
        },
    )
    assert response.status_code == 302
    course = db.session.scalar(select(Course).where(Course.slug == "pcs-basics"))
    draft = db.session.scalar(select(CourseVersion).where(CourseVersion.course_id == course.id))
    assert draft.modules[0].quiz.questions[0].text == "Which organisations founded EPCSA?"


def test_discarding_a_draft_and_course_details(
    client: FlaskClient, create_user, login, course: Course
) -> None:
    admin = create_user(roles=("admin",))
    login(client, admin)
    base = "/authoring/courses/harbour-basics"
    post_form(client, base, {}, action=f"{base}/draft")
    response = post_form(
        client,
        f"{base}/draft/course",
        {
            "title": "Harbour basics, second edition",
            "summary": "S.",
            "description": "D.",
            "language": "en",
            "hours": "2",
        },
    )
    assert response.status_code == 302
    page = client.get(base).get_data(as_text=True)
    assert "Version 2, not yet published." in page
    post_form(client, base, {}, action=f"{base}/draft/discard")
    assert db.session.scalar(select(CourseVersion).where(CourseVersion.published_at.is_(None))) is None
    assert "Start a draft" in client.get(base).get_data(as_text=True)
    events = set(db.session.scalars(select(AuditEvent.action)))
    assert {"draft.start", "draft.course", "draft.discard"} <= events


def test_insight_counts_answers_correct_shares_and_the_favourite_wrong_answer(
    client: FlaskClient, create_user, login, course: Course
) -> None:
    trainer = create_user(roles=("trainer",))
    db.session.add(CourseMember(course_id=course.id, user_id=trainer.id, role="owner"))
    quiz = db.session.scalars(select(Quiz).order_by(Quiz.id)).first()
    single = next(q for q in quiz.questions if q.type == "single")
    wrong = [c for c in single.choices if not c.is_correct]
    right = next(c for c in single.choices if c.is_correct)
    for picks in ([right.id], [wrong[0].id], [wrong[0].id], [wrong[1].id]):
        enrolment = progress.enrol(create_user(), course)
        submit_attempt(enrolment, quiz, {single.id: picks})
    db.session.commit()
    login(client, trainer)
    page = client.get("/authoring/courses/harbour-basics/insight").get_data(as_text=True)
    row = page[page.index(single.text) :]
    row = row[: row.index("</tr>")]
    assert "<td>4</td>" in row and "25%" in row and f"{wrong[0].text} (2)" in row
