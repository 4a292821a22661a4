"""A backup of a populated installation restores into an empty one with every learner's progress and file.

On the suite's database: SQLite in the SQLite leg, PostgreSQL (pg_dump, pg_restore) in the PostgreSQL leg.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text

from learning import create_app
from learning.auth.models import User
from learning.capstone import services as capstone
from learning.catalog.models import Course, CourseVersion
from learning.certificates import keys
from learning.certificates.models import Certificate
from learning.certificates.tasks import issue_certificate
from learning.extensions import db
from learning.progress import services as progress
from learning.progress.models import Enrolment, LessonCompletion, ModuleState
from learning.quizzes.models import QuizAttempt
from learning.uploads import Upload
from tests.capstone.conftest import PDF, capstone_block
from tests.conftest import app_config, queued_celery
from tests.fixtures.completion import complete_course, make_learner
from tests.fixtures.databases import committed_app, separate_database


def populate() -> None:
    """Five learners: three complete the course (certificates with PDFs), one is half way, one has a plan
    with an attachment; a wrong quiz answer gives an attempt that failed."""
    course = db.session.scalar(select(Course).where(Course.slug == "harbour-basics"))
    assert course is not None
    version = db.session.get(CourseVersion, course.current_version_id)
    assert version is not None
    version.capstone = capstone_block(required=False)
    for number in range(1, 6):
        user = make_learner(number, name=f"Backup learner {number} นภา")
        enrolment = progress.enrol(user, course)
        if number <= 3:
            complete_course(enrolment)
        elif number == 4:
            progress.complete_lesson(enrolment, progress.outline(enrolment.version_id).lesson_slugs[0])
        else:
            capstone.save(enrolment, {"where-you-stand": "Baseline 5", "what-you-will-do": "Plan 5"},
                          Upload(PDF, "application/pdf", "pdf"), "plan.pdf", submit=False)  # fmt: skip
        db.session.commit()
    for enrolment_id in db.session.scalars(select(Enrolment.id).where(Enrolment.completed_at.is_not(None))):
        issue_certificate.apply(args=(enrolment_id,)).get()  # the task, in this process: certificate and PDF


def snapshot() -> dict[str, Any]:
    """Every learner's progress, attempts and certificates, by e-mail address."""
    result: dict[str, Any] = {}
    for user in db.session.scalars(select(User).order_by(User.email)):
        enrolment = db.session.scalar(select(Enrolment).where(Enrolment.user_id == user.id))
        assert enrolment is not None
        result[user.email] = {
            "name": user.full_name,
            "enrolment": (enrolment.percent, enrolment.started_at, enrolment.completed_at, enrolment.status),
            "lessons": sorted(
                db.session.execute(
                    select(LessonCompletion.lesson_slug, LessonCompletion.completed_at).where(
                        LessonCompletion.enrolment_id == enrolment.id
                    )
                ).all()
            ),
            "modules": sorted(
                db.session.execute(
                    select(ModuleState.module_slug, ModuleState.best_score, ModuleState.completed_at).where(
                        ModuleState.enrolment_id == enrolment.id
                    )
                ).all()
            ),
            "attempts": [
                (a.score, a.passed, a.answers)
                for a in db.session.scalars(
                    select(QuizAttempt)
                    .where(QuizAttempt.enrolment_id == enrolment.id)
                    .order_by(QuizAttempt.id)
                )
            ],
            "certificates": [
                (c.serial, c.code, c.holder_name, c.pdf_key, c.pdf_sha256, c.credential)
                for c in db.session.scalars(select(Certificate).where(Certificate.user_id == user.id))
            ],
        }
    return result


def stored_files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_a_backup_restores_into_an_empty_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    backup = tmp_path / "backup"
    (tmp_path / "source").mkdir()
    with committed_app(tmp_path / "source", CELERY=queued_celery(), CERTIFICATE_SIGNING_KEY="") as source:
        # development's signing key, made in an instance folder of the test's own
        monkeypatch.setattr(source, "instance_path", str(tmp_path / "source-instance"))
        with source.app_context():
            populate()
            before = snapshot()
            published = [k.multibase for k in keys.published_keys()]
            if db.engine.dialect.name == "sqlite":  # a WAL database, with a writer holding its lock
                assert db.session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            result = source.test_cli_runner().invoke(args=["backup", "create", str(backup)])
            db.session.remove()
        assert result.exit_code == 0, result.output
        files = stored_files(Path(source.config["STORAGE_PATH"]))
        again = source.test_cli_runner().invoke(args=["backup", "create", str(backup)])
        assert again.exit_code != 0 and "not empty" in again.output

    assert len(before) == 5
    assert sum(len(learner["certificates"]) for learner in before.values()) == 3
    assert sum(len(learner["lessons"]) for learner in before.values()) > 3
    assert len(files) == 4 and sum(name.startswith("certificates/") for name in files) == 3
    assert (backup / "keys" / "certificate-signing-key").is_file()

    with separate_database(tmp_path) as url:
        storage = tmp_path / "restored-storage"
        target = create_app(app_config(url, STORAGE_PATH=str(storage), CERTIFICATE_SIGNING_KEY=""))
        monkeypatch.setattr(target, "instance_path", str(tmp_path / "target-instance"))
        try:
            result = target.test_cli_runner().invoke(args=["backup", "restore", str(backup)])
            assert result.exit_code == 0, result.output
            with target.app_context():
                assert snapshot() == before
                assert [k.multibase for k in keys.published_keys()] == published
                assert db.session.scalar(select(func.count()).select_from(Certificate)) == 3
                db.session.remove()
            assert stored_files(storage) == files
            # a database that is no longer empty is never restored over
            result = target.test_cli_runner().invoke(args=["backup", "restore", str(backup)])
            assert result.exit_code != 0 and "not empty" in result.output
        finally:
            with target.app_context():
                db.session.remove()
                db.engine.dispose()


def test_a_damaged_backup_is_refused(tmp_path: Path) -> None:
    backup = tmp_path / "backup"
    (tmp_path / "source").mkdir()
    with committed_app(tmp_path / "source", CELERY=queued_celery()) as source:
        with source.app_context():
            populate()
        assert source.test_cli_runner().invoke(args=["backup", "create", str(backup)]).exit_code == 0
    pdf = next((backup / "storage" / "certificates").iterdir())
    pdf.write_bytes(pdf.read_bytes() + b"x")
    with separate_database(tmp_path) as url:
        target = create_app(app_config(url, STORAGE_PATH=str(tmp_path / "restored")))
        try:
            result = target.test_cli_runner().invoke(args=["backup", "restore", str(backup)])
            assert result.exit_code != 0 and "damaged" in result.output
            result = target.test_cli_runner().invoke(args=["backup", "restore", str(tmp_path)])
            assert result.exit_code != 0 and "manifest.json" in result.output
            with target.app_context():
                assert not db.inspect(db.engine).get_table_names()  # nothing was restored
        finally:
            with target.app_context():
                db.engine.dispose()
