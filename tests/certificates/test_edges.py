"""The refusals and rarer paths: proofs and lists that do not check, unknown serials, a retried task, a
credential or enrolment that is gone, a failed write, the sample command."""

from __future__ import annotations

import copy
import http.server
import json
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import pytest
from celery.exceptions import Retry
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from pypdf import PdfReader
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError

from learning.auth.models import User
from learning.certificates import credential, keys, proofs, services, tasks
from learning.certificates.models import Certificate, CertificateEvent
from learning.certificates.pdf.canvas import Canvas
from learning.certificates.pdf.fonts import face, faces_for, segment
from learning.certificates.pdf.writer import PdfWriter
from learning.extensions import db
from learning.progress.models import Enrolment
from learning.storage import LocalStorage
from learning.throttle import ThrottleCounter
from tests.conftest import post_form

MOMENT = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)


@pytest.fixture
def issued(completed: Callable[..., Enrolment]) -> Callable[..., Certificate]:
    def make(**overrides: object) -> Certificate:
        enrolment = completed(**overrides)
        found = db.session.scalar(select(Certificate).where(Certificate.user_id == enrolment.user_id))
        assert found is not None
        return found

    return make


def signed(app: Flask) -> dict:
    facts = credential.CredentialFacts(
        "c", "SPA-A", 5, "Ada", "harbour-basics", 1, "Harbour basics", 1.0, MOMENT, MOMENT
    )
    with app.app_context():
        return json.loads(credential.signed_credential(facts)[0])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("proof"), "no single proof"),
        (lambda d: d["proof"].update(cryptosuite="ecdsa-rdfc-2019"), "eddsa-jcs-2022"),
        (lambda d: d["proof"].update(proofPurpose="authentication"), "assertionMethod"),
        (lambda d: d["proof"].update(proofValue="u123"), "proofValue"),
        (lambda d: d["proof"].update({"@context": ["https://example.org"]}), "@context differs"),
        (lambda d: d["proof"].update(verificationMethod="https://example.org/k"), "not a did:key"),
    ],
)
def test_proofs_that_do_not_check(app: Flask, change: Callable[[dict], object], message: str) -> None:
    document = signed(app)
    change(document)
    with pytest.raises(proofs.ProofError, match=message):
        proofs.verify(document)


def test_revocation_lists_that_do_not_fit(app: Flask) -> None:
    document = signed(app)
    with app.app_context():
        trusted = {k.multibase for k in keys.published_keys()}
        good = credential.status_list_credential(set(), MOMENT)
        other_issuer = copy.deepcopy(good)
        other_issuer["issuer"] = "https://elsewhere/issuer"
        other_issuer = proofs.sign(
            {k: v for k, v in other_issuer.items() if k != "proof"}, keys.signing_key().signer(), MOMENT
        )
        suspension = copy.deepcopy(good)
        suspension["credentialSubject"]["statusPurpose"] = "suspension"
        suspension = proofs.sign(
            {k: v for k, v in suspension.items() if k != "proof"}, keys.signing_key().signer(), MOMENT
        )
        garbled = copy.deepcopy(good)
        garbled["credentialSubject"]["encodedList"] = "uAAAA"
        garbled = proofs.sign(
            {k: v for k, v in garbled.items() if k != "proof"}, keys.signing_key().signer(), MOMENT
        )

    def problems(doc: dict, status: object) -> list[str]:
        return credential.check_credential(doc, trusted, status).problems

    assert problems(document, other_issuer) == ["the revocation list was not signed by the issuer"]
    assert problems(document, suspension) == ["the revocation list has another status purpose"]
    assert problems(document, garbled)[0].startswith("revocation list: the status list cannot be decoded")
    no_entry = {k: v for k, v in document.items() if k != "credentialStatus"}
    with app.app_context():
        no_entry = proofs.sign(
            {k: v for k, v in no_entry.items() if k != "proof"}, keys.signing_key().signer(), MOMENT
        )
    assert problems(no_entry, good) == ["the credential has no BitstringStatusListEntry"]
    expired = {**{k: v for k, v in document.items() if k != "proof"}, "validUntil": "2020-01-01T00:00:00Z"}
    with app.app_context():
        expired = proofs.sign(expired, keys.signing_key().signer(), MOMENT)
    assert problems(expired, None) == ["the credential has expired (validUntil)"]


def test_unknown_serials_and_missing_credentials(
    client: FlaskClient,
    login: Callable[..., None],
    create_user: Callable[..., User],
    issued: Callable[..., Certificate],
) -> None:
    certificate = issued()
    login(client, create_user(roles=("secretariat",)))
    assert client.get("/secretariat/certificates/SPA-NONE-NONE-NONE").status_code == 404
    page = f"/secretariat/certificates/{certificate.serial}"
    for action in ("revoke", "reissue"):
        response = post_form(
            client, page, {"reason": "x"}, action=f"/secretariat/certificates/SPA-NONE/{action}"
        )
        assert response.status_code == 404
    db.session.execute(update(Certificate).where(Certificate.id == certificate.id).values(credential=None))
    db.session.commit()
    assert client.get(f"/certificates/{certificate.serial}/credential.json").status_code == 404


def test_the_api_says_when_a_credential_is_not_ready(
    api,
    api_token: Callable[[User], dict[str, str]],
    issued: Callable[..., Certificate],  # noqa: ANN001
) -> None:
    certificate = issued()
    db.session.execute(update(Certificate).where(Certificate.id == certificate.id).values(credential=None))
    db.session.commit()
    response = api.get(
        f"/api/v1/me/certificates/{certificate.serial}/credential", headers=api_token(certificate.user)
    )
    assert response.status_code == 404


def test_a_reissue_without_its_enrolment_still_announces_the_new_certificate(
    client: FlaskClient,
    login: Callable[..., None],
    create_user: Callable[..., User],
    issued: Callable[..., Certificate],
) -> None:
    certificate = issued(full_name="Old Name")
    db.session.execute(update(Certificate).where(Certificate.id == certificate.id).values(enrolment_id=None))
    certificate.user.full_name = "New Name"
    db.session.commit()
    login(client, create_user(roles=("admin",)))
    page = f"/secretariat/certificates/{certificate.serial}"
    assert post_form(client, page, {"reason": "Married name"}, action=f"{page}/reissue").status_code == 302
    new = db.session.scalar(select(Certificate).where(Certificate.holder_name == "New Name"))
    assert new is not None and new.email_sent_at is not None and new.pdf_key is not None


def test_a_database_failure_retries_the_task(
    app: Flask, issued: Callable[..., Certificate], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: int) -> None:
        raise OperationalError("SELECT 1", {}, Exception("connection lost"))

    monkeypatch.setattr(services, "issue_pending", broken)
    monkeypatch.setattr(services, "unfinished", broken)
    with pytest.raises((Retry, OperationalError)):
        tasks.issue_certificate.run(1)
    with pytest.raises((Retry, OperationalError)):
        tasks.finish_certificate.run(1)


def test_a_racing_worker_finds_the_certificate_the_other_inserted(
    app: Flask, issued: Callable[..., Certificate], monkeypatch: pytest.MonkeyPatch
) -> None:
    certificate = issued()
    enrolment_id = certificate.enrolment_id
    real_execute = db.session.execute
    calls = []

    def stale_check(statement, *args, **kwargs):  # noqa: ANN001, ANN202
        result = real_execute(statement, *args, **kwargs)
        if not calls and "enrolments" in str(statement):
            calls.append(1)
            row = result.one()
            return type("R", (), {"one_or_none": lambda self: (*row[:4], None)})()  # saw no certificate
        return result

    monkeypatch.setattr(db.session, "execute", stale_check)
    assert services.issue_for_enrolment(enrolment_id).id == certificate.id
    assert (
        db.session.scalar(select(Certificate.id).where(Certificate.user_id == certificate.user_id))
        == certificate.id
    )


def test_a_failed_write_leaves_no_temporary_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    local = LocalStorage(tmp_path)

    def refuse(*_: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("learning.storage.os.replace", refuse)
    with pytest.raises(OSError, match="disk full"):
        local.save("certificates/a.pdf", b"data")
    assert list((tmp_path / "certificates").iterdir()) == []


def test_the_sample_command_writes_a_pdf(runner: FlaskCliRunner, tmp_path: Path) -> None:
    out = tmp_path / "sample.pdf"
    result = runner.invoke(args=["certificates", "sample", str(out), "--name", "陳美玲", "--country", "TW"])
    assert result.exit_code == 0, result.output
    assert "陳美玲" in PdfReader(out).pages[0].extract_text()
    result = runner.invoke(args=["certificates", "sample", str(out), "--name", "Ada \U0001f600"])
    assert result.exit_code == 1 and "no bundled font has" in result.output


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *_: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_verify_reads_the_list_and_keys_from_addresses(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path, served: str
) -> None:
    document = signed(app)
    with app.app_context():
        (tmp_path / "status").write_text(json.dumps(credential.status_list_credential({5}, MOMENT)))
        (tmp_path / "keys").write_text(
            json.dumps({"keys": [credential.key_document(k) for k in keys.published_keys()]})
        )
    (tmp_path / "credential.json").write_text(json.dumps(document))
    path = str(tmp_path / "credential.json")
    result = runner.invoke(
        args=[
            "certificates",
            "verify",
            path,
            "--revocations",
            f"{served}/status",
            "--issuer-keys",
            f"{served}/keys",
        ]
    )
    assert result.exit_code == 1 and "result: REVOKED" in result.output


def test_small_pieces(app: Flask, issued: Callable[..., Certificate]) -> None:
    certificate = issued()
    event = db.session.scalars(select(CertificateEvent)).first()
    assert repr(certificate).startswith("<Certificate SPA-") and repr(event).startswith("<CertificateEvent")
    assert repr(ThrottleCounter(bucket="b", address="a", count=1)) == "<ThrottleCounter b a 1>"
    assert repr(face("NotoSans-Regular.ttf")) == "<Face NotoSans-Regular.ttf#0>"
    assert [text for _, text in segment("  ", faces_for("x"))] == ["  "]
    writer = PdfWriter()
    writer.reserve()
    with pytest.raises(RuntimeError, match="never written"):
        writer.serialise(1, 1, b"0" * 16)
    page = Canvas(100, 100)
    page.rect(1, 1, 10, 10, stroke=(0, 0, 0), fill=(1, 1, 1))
    page.rect(1, 1, 10, 10, fill=(1, 1, 1))
    assert page.ops == ["1 w 0 0 0 RG 1 1 1 rg 1 1 10 10 re B", "1 w 1 1 1 rg 1 1 10 10 re f"]
