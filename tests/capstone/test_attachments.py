"""Attachments: a PDF or DOCX of at most 10 MB by its bytes; anything else refused with nothing saved."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from learning.capstone.models import CapstoneSubmission
from learning.extensions import db
from tests.capstone.conftest import PAGE, PDF, PNG, docx_bytes, post_plan


def _stored(app) -> list[Path]:
    return [p for p in (Path(app.config["STORAGE_PATH"]) / "capstone").rglob("*") if p.is_file()]


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


@pytest.mark.parametrize(
    ("data", "name", "status"),
    [
        (PNG, "plan.pdf", 400),
        (b"PK\x03\x04not really a zip", "plan.docx", 400),
        (b"%PDF-" + b"0" * (11 * 1024 * 1024), "big.pdf", 413),
    ],
)
def test_other_files_and_big_ones_are_refused_with_nothing_saved(
    app, client, login, learner, with_capstone, data, name, status
) -> None:
    with_capstone()
    login(client, learner)
    before = _stored(app) if (Path(app.config["STORAGE_PATH"]) / "capstone").exists() else []
    response = post_plan(client, attachment=(data, name))
    assert response.status_code == status
    assert db.session.scalar(select(CapstoneSubmission)) is None
    after = _stored(app) if (Path(app.config["STORAGE_PATH"]) / "capstone").exists() else []
    assert after == before
