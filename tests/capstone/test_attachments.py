"""Attachments: a PDF or DOCX of at most 10 MB by its bytes; anything else refused with nothing saved."""

from __future__ import annotations

import io
import shutil
import time
import tracemalloc
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select

from learning.capstone import services
from learning.capstone.models import CapstoneSubmission
from learning.extensions import db
from learning.progress.models import Enrolment
from learning.uploads import Upload
from tests.capstone.conftest import PAGE, PDF, PNG, docx_bytes, post_plan


@pytest.fixture
def no_stored_plans(app) -> None:
    """Start without plan files: the database's rollback after each test leaves theirs on disk."""
    shutil.rmtree(Path(app.config["STORAGE_PATH"]) / "capstone", ignore_errors=True)


def _stored(app) -> list[Path]:
    return sorted(p for p in (Path(app.config["STORAGE_PATH"]) / "capstone").rglob("*") if p.is_file())


@pytest.mark.parametrize(
    ("data", "name", "mimetype"),
    [
        (PDF, "plan.pdf", "application/pdf"),
        (
            docx_bytes(),
            "My plan.docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
    ],
)
def test_pdf_and_docx_are_kept_and_downloaded_as_attachments(
    app, client, login, learner, with_capstone, data, name, mimetype
) -> None:
    with_capstone()
    login(client, learner)
    assert post_plan(client, attachment=(data, name), submit=False).status_code == 302
    submission = db.session.scalar(select(CapstoneSubmission))
    assert submission is not None
    assert submission.attachment_type == mimetype and submission.attachment_size == len(data)
    response = client.get(f"{PAGE}/attachment")
    assert response.status_code == 200 and response.data == data
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response.headers["Content-Security-Policy"]


def docx_bomb() -> bytes:
    """A .docx of a few hundred kilobytes whose document.xml expands to 210 MB (built when used)."""
    return docx_with(
        [("[Content_Types].xml", b"<Types/>"), ("word/document.xml", b"0" * (210 * 1024 * 1024))]
    )


def docx_with(entries: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "name", "status"),
    [
        (PNG, "plan.pdf", 400),
        (b"PK\x03\x04not really a zip", "plan.docx", 400),
        (b"%PDF-" + b"0" * (11 * 1024 * 1024), "big.pdf", 413),
        (b"<html><script>alert(1)</script></html>", "plan.pdf", 400),
        (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "plan.docx", 400),
        (docx_bomb, "bomb.docx", 400),
        (docx_with([("word/document.xml", b"<w/>"), ("../../evil.sh", b"x")]), "slip.docx", 400),
        (docx_with([("word/document.xml", b"<w/>"), ("/etc/cron.d/evil", b"x")]), "abs.docx", 400),
    ],
)
def test_other_files_and_big_ones_are_refused_with_nothing_saved(
    app, client, login, learner, with_capstone, data, name, status
) -> None:
    with_capstone()
    login(client, learner)
    before = _stored(app) if (Path(app.config["STORAGE_PATH"]) / "capstone").exists() else []
    data = data() if callable(data) else data
    tracemalloc.start()
    started = time.perf_counter()
    response = post_plan(client, attachment=(data, name))
    elapsed = time.perf_counter() - started
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    figures = f"{elapsed * 1000:.1f} ms, peak {peak / 2**20:.1f} MB"
    print(f"\nattachment {name!r}: {response.status_code} in {figures}")
    assert response.status_code == status
    assert peak < 50 * 1024 * 1024
    assert db.session.scalar(select(CapstoneSubmission)) is None
    after = _stored(app) if (Path(app.config["STORAGE_PATH"]) / "capstone").exists() else []
    assert after == before


def test_a_plan_that_is_not_saved_leaves_no_file(
    app, client, login, learner, with_capstone, no_stored_plans
) -> None:
    with_capstone()
    login(client, learner)
    # the file is written before the refusal (an empty section) rolls the plan back
    texts = {"where-you-stand": "Only this.", "what-you-will-do": ""}
    assert post_plan(client, texts, attachment=(PDF, "plan.pdf")).status_code == 400
    assert db.session.scalar(select(CapstoneSubmission)) is None
    assert not _stored(app)


def test_a_failed_commit_removes_the_file_it_wrote(app, learner, with_capstone, no_stored_plans) -> None:
    with_capstone()
    enrolment = db.session.scalar(select(Enrolment).where(Enrolment.user_id == learner.id))
    assert enrolment is not None
    services.save(enrolment, {}, Upload(PDF, "application/pdf", "pdf"), "plan.pdf", submit=False)
    assert len(_stored(app)) == 1
    db.session.rollback()  # what the request's teardown does when its commit fails
    assert not _stored(app)


def test_a_new_attachment_replaces_the_old_file_once_committed(
    app, client, login, learner, with_capstone, no_stored_plans
) -> None:
    with_capstone()
    login(client, learner)
    assert post_plan(client, attachment=(PDF, "plan.pdf"), submit=False).status_code == 302
    first = _stored(app)
    assert len(first) == 1
    assert post_plan(client, attachment=(docx_bytes(), "plan.docx"), submit=False).status_code == 302
    second = _stored(app)
    assert len(second) == 1 and second != first and second[0].suffix == ".docx"
    # the same file again keeps it
    assert post_plan(client, attachment=(docx_bytes(), "plan.docx"), submit=False).status_code == 302
    assert _stored(app) == second
    assert client.get(f"{PAGE}/attachment").data == docx_bytes()


@pytest.mark.parametrize(
    "name", ["../../../evil.pdf", "/etc/evil.pdf", "a\x00b.pdf", "..\\..\\evil.pdf", "é" * 300]
)
def test_an_attachment_is_stored_inside_its_folder_whatever_its_name(
    app, client, login, learner, with_capstone, no_stored_plans, name: str
) -> None:
    with_capstone()
    login(client, learner)
    storage = Path(app.config["STORAGE_PATH"]).resolve()
    outside = set(storage.parent.rglob("*evil*"))
    assert post_plan(client, attachment=(PDF, name), submit=False).status_code == 302
    stored = _stored(app)
    assert len(stored) == 1 and stored[0].resolve().is_relative_to(storage / "capstone")
    assert set(storage.parent.rglob("*evil*")) == outside
    response = client.get(f"{PAGE}/attachment")
    disposition = response.headers["Content-Disposition"]
    assert (
        response.data == PDF
        and "/" not in disposition
        and "\\" not in disposition
        and "\x00" not in disposition
    )
