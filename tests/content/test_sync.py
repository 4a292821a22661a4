"""`flask content sync`: idempotent, versioned, and it never loses a learner's progress."""

from __future__ import annotations

import shutil
from pathlib import Path

from flask.testing import FlaskCliRunner
from sqlalchemy import func, select

from learning.catalog.models import Course, CourseVersion, Lesson
from learning.content.spec import read_content
from learning.content.sync import sync_course
from learning.extensions import db
from learning.progress import services as progress
from learning.progress.models import Enrolment, LessonCompletion
from tests.conftest import FIXTURE_CONTENT


def copy_fixture(tmp_path: Path) -> Path:
    target = tmp_path / "content"
    shutil.copytree(FIXTURE_CONTENT, target)
    return target


def sync(root: Path) -> list[str]:
    courses, problems = read_content(root)
    assert not problems
    results = [str(sync_course(course)) for course in courses]
    db.session.commit()
    return results


def test_sync_is_idempotent(runner: FlaskCliRunner, tmp_path: Path) -> None:
    result = runner.invoke(args=["content", "sync", str(copy_fixture(tmp_path))])
    assert result.exit_code == 0, result.output
    assert "[1/1] harbour-basics ... harbour-basics: unchanged (version 1)" in result.output
    assert db.session.scalar(select(func.count()).select_from(CourseVersion)) == 1


def test_a_changed_course_becomes_a_new_version_and_progress_follows_the_slugs(
    tmp_path: Path, create_user, enrol, course: Course
) -> None:
    user = create_user()
    enrolment = enrol(user)
    progress.complete_lesson(enrolment, "first-a")
    progress.complete_lesson(enrolment, "second-b")
    db.session.commit()
    assert enrolment.percent == 33  # 2 of 6 items (4 lessons, 2 quizzes)

    content = copy_fixture(tmp_path)
    module = content / "harbour-basics/second-steps/module.yaml"
    module.write_text(
        module.read_text().replace(
            "  - slug: second-b\n    title: Second lesson B\n",
            "  - slug: second-c\n    title: Second lesson C\n",
        )
    )
    lessons = content / "harbour-basics/second-steps/lessons"
    (lessons / "second-b.md").rename(lessons / "second-c.md")
    module.write_text(module.read_text().replace("lesson: second-b", "lesson: second-c"))
    (content / "harbour-basics/second-steps/lessons/second-a.md").write_text(
        "The second lesson A, revised, with a link to [lesson C](lesson:second-c) [S18]."
    )
    results = sync(content)
    assert results == [
        "harbour-basics: updated version 2 (2 modules, 4 lessons, 6 questions; 1 learners moved to it)"
    ]

    db.session.refresh(course)
    db.session.refresh(enrolment)
    assert course.current_version.number == 2 and enrolment.version_id == course.current_version_id
    # second-b is gone from the new version but neither its row nor the old version is deleted
    slugs = set(db.session.scalars(select(LessonCompletion.lesson_slug)))
    assert slugs == {"first-a", "second-b"}
    assert db.session.scalar(select(func.count()).select_from(Lesson).where(Lesson.slug == "second-b")) == 1
    assert enrolment.percent == 16  # only first-a counts in version 2
    state = progress.progress_for(enrolment, enrolment.version_id)
    assert set(state.modules) == {"first-steps", "second-steps"}
    assert state.modules["second-steps"].lessons_done == 0
    assert sync(content) == ["harbour-basics: unchanged (version 2)"]


def test_completed_learners_keep_the_version_they_completed(tmp_path: Path, create_user, enrol) -> None:
    from learning.quizzes.models import Quiz
    from learning.quizzes.services import submit_attempt

    user = create_user()
    enrolment = enrol(user)
    for slug in ("first-a", "first-b", "second-a", "second-b"):
        progress.complete_lesson(enrolment, slug)
    for quiz in db.session.scalars(select(Quiz)):
        answers = {q.id: [c.id for c in q.choices if c.is_correct] for q in quiz.questions}
        submit_attempt(enrolment, quiz, answers)
    db.session.commit()
    assert enrolment.completed_at is not None
    first_version = enrolment.version_id

    content = copy_fixture(tmp_path)
    (content / "harbour-basics/first-steps/lessons/first-a.md").write_text("Revised text for lesson A [S18].")
    assert "0 learners moved" in sync(content)[0]
    db.session.refresh(enrolment)
    assert enrolment.version_id == enrolment.completed_version_id == first_version
    assert db.session.scalar(select(func.count()).select_from(Enrolment)) == 1


def test_files_do_not_silently_replace_a_version_published_from_the_browser(
    tmp_path: Path, course: Course, runner: FlaskCliRunner
) -> None:
    course.current_version.origin = "web"
    db.session.commit()
    content = copy_fixture(tmp_path)
    (content / "harbour-basics/first-steps/lessons/first-a.md").write_text(
        "The lesson was changed on disk by an author [S18]."
    )
    result = runner.invoke(args=["content", "sync", str(content)])
    assert result.exit_code == 0 and "skipped" in result.output and "--force" in result.output
    assert db.session.scalar(select(func.count()).select_from(CourseVersion)) == 1
    forced = runner.invoke(args=["content", "sync", "--force", str(content)])
    assert "updated version 2" in forced.output


def test_each_version_keeps_its_source_files(course: Course) -> None:
    files = course.current_version.files
    assert set(files) >= {"course.yaml", "first-steps/module.yaml", "first-steps/lessons/first-a.md"}
    assert files["first-steps/lessons/first-a.md"].startswith("The first lesson A says")
