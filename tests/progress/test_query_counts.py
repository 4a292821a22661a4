"""The course page and the dashboard make the same number of SQL statements whatever the size of
the course (PERFORMANCE: load what a page needs in a few statements)."""

from __future__ import annotations

from pathlib import Path

from flask.testing import FlaskClient
from sqlalchemy import select

from learning.catalog.models import Course
from learning.content.spec import read_content
from learning.content.sync import sync_course
from learning.extensions import db
from learning.progress import services as progress
from tests.fixtures.databases import counting


def write_course(root: Path, slug: str, modules: int, lessons: int) -> None:
    folder = root / slug
    folder.mkdir(parents=True)
    names = [f"m{m}" for m in range(modules)]
    (folder / "course.yaml").write_text(
        f"slug: {slug}\ntitle: Course {slug}\nsummary: S.\ndescription: D.\nlanguage: en\nhours: 2\n"
        "min_lesson_words: 1\nmin_quiz_questions: 3\nmodules:\n" + "".join(f"  - {n}\n" for n in names)
    )
    for m in names:
        (folder / m / "lessons").mkdir(parents=True)
        lesson_slugs = [f"{slug}-{m}-l{i}" for i in range(lessons)]
        (folder / m / "module.yaml").write_text(
            f"title: Module {m}\nsummary: S.\nobjectives: [A, B, C]\nlessons:\n"
            + "".join(f"  - slug: {s}\n    title: Lesson {s}\n" for s in lesson_slugs)
            + f"case_studies:\n  - title: Case\n    lesson: {lesson_slugs[0]}\nreflection: Think.\n"
            "references:\n  S1: Source one.\n"
        )
        for s in lesson_slugs:
            (folder / m / "lessons" / f"{s}.md").write_text(f"Text of {s} [S1].")
        (folder / m / "quiz.yaml").write_text(
            "pass_mark: 50\nquestions:\n"
            f"  - slug: {m}-q1\n    type: single\n    text: {slug} {m} one?\n    choices:\n"
            "      - text: a\n        correct: true\n      - text: b\n    explanation: E.\n    source: S1\n"
            f"  - slug: {m}-q2\n    type: multiple\n    text: {slug} {m} two?\n    choices:\n"
            "      - text: a\n        correct: true\n      - text: b\n    explanation: E.\n    source: S1\n"
            f"  - slug: {m}-q3\n    type: true_false\n    text: {slug} {m} three?\n    answer: false\n"
            "    explanation: E.\n    source: S1\n"
        )


def statements_for(client: FlaskClient, path: str) -> int:
    db.session.expunge_all()
    with counting() as statements:
        assert client.get(path).status_code == 200
    return len(statements)


def test_course_page_and_dashboard_do_not_grow_with_the_course(
    tmp_path: Path, client: FlaskClient, create_user, login
) -> None:
    write_course(tmp_path, "small-course", modules=2, lessons=2)
    write_course(tmp_path, "large-course", modules=8, lessons=6)
    courses, problems = read_content(tmp_path)
    assert not problems
    for spec in courses:
        sync_course(spec)
    db.session.commit()
    user = create_user()
    for slug in ("small-course", "large-course"):
        course = db.session.scalar(select(Course).where(Course.slug == slug))
        enrolment = progress.enrol(user, course)
        for lesson in progress.outline(enrolment.version_id).lesson_slugs[::2]:
            progress.complete_lesson(enrolment, lesson)
    db.session.commit()
    login(client, user)

    counts = {}
    for slug in ("small-course", "large-course"):
        statements_for(client, f"/courses/{slug}")  # warm the outline cache
        counts[slug] = statements_for(client, f"/courses/{slug}")
    assert counts["small-course"] == counts["large-course"] <= 9, counts
    progress.clear_outline_cache()
    cold = {slug: statements_for(client, f"/courses/{slug}") for slug in ("small-course", "large-course")}
    assert cold["small-course"] == cold["large-course"], cold

    one = statements_for(client, "/dashboard")
    lesson_pages = [
        statements_for(client, f"/courses/{slug}/lessons/{slug}-m1-l1")
        for slug in ("small-course", "large-course")
    ]
    assert lesson_pages[0] == lesson_pages[1] <= 5, lesson_pages
    assert one <= 4, one
