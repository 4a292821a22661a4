"""Issuing: one certificate per learner and course version whatever runs twice, its PDF and credential,
the e-mail claimed before it is sent, the sweep, revocation and reissue (services and tasks, in-process)."""

from __future__ import annotations

import hashlib
import json
import smtplib
import socket
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import IntegrityError

from learning import certificates, mail
from learning.auth.models import User
from learning.catalog.models import CourseVersion
from learning.certificates import credential, emails, keys, services, tasks
from learning.certificates.models import Certificate, CertificateEvent
from learning.db import utcnow
from learning.extensions import db
from learning.progress import services as progress
from learning.progress.models import Enrolment
from learning.storage import LocalStorage, storage
from tests.fixtures.completion import enrol_and_complete, make_learner
from tests.fixtures.databases import committed_app
from tests.fixtures.smtp import Inbox, _free_port


def certificates_of(user_id: int) -> list[Certificate]:
    return list(
        db.session.scalars(select(Certificate).where(Certificate.user_id == user_id).order_by(Certificate.id))
    )


def events_of(certificate: Certificate) -> list[str]:
    return [e.kind for e in services.history(certificate)]


def test_completing_a_course_issues_one_certificate(app: Flask, completed: Callable[..., Enrolment]) -> None:
    enrolment = completed(full_name="สมศักดิ์ ใจดีเลิศ")
    [certificate] = certificates_of(enrolment.user_id)
    assert certificate.status == "valid" and certificate.holder_name == "สมศักดิ์ ใจดีเลิศ"
    assert certificate.course_version_id == enrolment.completed_version_id
    assert certificate.course_title == "Harbour basics" and certificate.hours == 1
    assert certificate.serial.startswith("SPA-") and len(certificate.code) >= 32
    data = storage().load(certificate.pdf_key)
    assert hashlib.sha256(data).hexdigest() == certificate.pdf_sha256 and data.startswith(b"%PDF-1.7")
    document = json.loads(certificate.credential)
    report = credential.check_credential(document, {k.multibase for k in keys.published_keys()})
    assert report.status == "valid", report.problems
    assert document["credentialStatus"]["statusListIndex"] == str(certificate.id)
    assert certificate.email_sent_at is not None
    assert events_of(certificate) == ["issued", "emailed"]


def test_issuing_again_changes_nothing(app: Flask, completed: Callable[..., Enrolment]) -> None:
    enrolment = completed()
    [first] = certificates_of(enrolment.user_id)
    tasks.issue_certificate.run(enrolment.id)
    tasks.issue_certificate.run(enrolment.id)
    tasks.send_certificate_email.run(first.id)
    [again] = certificates_of(enrolment.user_id)
    assert again.id == first.id and again.serial == first.serial
    assert events_of(again) == ["issued", "emailed"]
    # a second worker that passed the state check at the same moment inserts nothing
    user = db.session.get(User, enrolment.user_id)
    version = db.session.get(CourseVersion, enrolment.completed_version_id)
    assert services._insert(user, enrolment.id, version, utcnow()) is None


def test_the_database_refuses_a_second_current_certificate(
    app: Flask, completed: Callable[..., Enrolment]
) -> None:
    enrolment = completed()
    [first] = certificates_of(enrolment.user_id)
    twin = Certificate(
        serial="SPA-TWIN-TWIN-TWIN",
        code="twin-code",
        user_id=first.user_id,
        course_id=first.course_id,
        course_version_id=first.course_version_id,
        holder_name=first.holder_name,
        course_title=first.course_title,
        hours=first.hours,
        completed_at=first.completed_at,
        status="revoked",
        revoked_at=utcnow(),
    )
    savepoint = db.session.begin_nested()
    db.session.add(twin)
    with pytest.raises(IntegrityError):
        db.session.flush()
    savepoint.rollback()


def test_nothing_is_issued_for_an_unfinished_or_unknown_enrolment(
    app: Flask, create_user: Callable[..., User], enrol: Callable[[User], Enrolment]
) -> None:
    enrolment = enrol(create_user())
    assert services.issue_for_enrolment(enrolment.id) is None
    assert services.issue_for_enrolment(10**9) is None
    tasks.issue_certificate.run(enrolment.id)
    assert certificates_of(enrolment.user_id) == []


def test_a_lost_or_damaged_pdf_is_rendered_again_identically(
    app: Flask, completed: Callable[..., Enrolment]
) -> None:
    [certificate] = certificates_of(completed().user_id)
    digest = certificate.pdf_sha256
    storage().delete(certificate.pdf_key)
    data = services.pdf_bytes(certificate)
    assert hashlib.sha256(data).hexdigest() == digest == certificate.pdf_sha256
    assert storage().exists(certificate.pdf_key)
    storage().save(certificate.pdf_key, data[:1000])  # cut short
    assert services.pdf_bytes(certificate) == data
    assert storage().load(certificate.pdf_key) == data


def test_storage_keys_stay_inside_the_folder(tmp_path) -> None:  # noqa: ANN001
    local = LocalStorage(tmp_path)
    for bad in ("../x", "/etc/passwd", "a/../../b", "A/B", ""):
        with pytest.raises(ValueError, match="storage key"):
            local.path(bad)
    local.save("images/a.png", b"x")
    assert local.load("images/a.png") == b"x" and local.exists("images/a.png")
    local.delete("images/a.png")
    assert not local.exists("images/a.png")
    with pytest.raises(FileNotFoundError):
        local.load("images/a.png")


# --- e-mail ---------------------------------------------------------------------------------------------


def test_the_learner_gets_one_email_with_links(
    app: Flask, completed: Callable[..., Enrolment], mailbox: Inbox
) -> None:
    enrolment = completed(full_name="Nguyễn Thị Phương Thảo")
    [certificate] = certificates_of(enrolment.user_id)
    [message] = mailbox.messages
    assert message["To"] == certificate.user.email
    assert message["Message-ID"] == f"<certificate-{certificate.serial.lower()}@smart-port-academy>"
    assert "Harbour basics" in message["Subject"]
    assert list(message.iter_attachments()) == []  # the PDF stays behind the sign-in
    links = [
        f"http://localhost/certificates/{certificate.serial}/certificate.pdf",
        "http://localhost/dashboard",
        f"http://localhost/verify/{certificate.code}",
    ]
    for kind in ("plain", "html"):
        body = message.get_body(preferencelist=(kind,)).get_content()
        assert "Nguyễn Thị Phương Thảo" in body and all(link in body for link in links)
    tasks.send_certificate_email.run(certificate.id)
    assert len(mailbox.messages) == 1


def test_a_claim_is_taken_over_only_when_stale(app: Flask, completed: Callable[..., Enrolment]) -> None:
    [certificate] = certificates_of(completed().user_id)
    db.session.execute(
        update(Certificate)
        .where(Certificate.id == certificate.id)
        .values(email_sent_at=None, email_claimed_at=utcnow())
    )
    assert not emails.claim_email(certificate.id)  # another worker is sending it
    assert emails.emails_due() == []
    old = utcnow() - app.config["CERTIFICATE_EMAIL_LEASE"] - timedelta(seconds=1)
    db.session.execute(
        update(Certificate)
        .where(Certificate.id == certificate.id)
        .values(email_claimed_at=old, issued_at=old)
    )
    assert emails.emails_due() == [certificate.id]
    assert emails.claim_email(certificate.id)
    assert not emails.claim_email(certificate.id)


class Greeted(Inbox):
    """An SMTP server that counts its connections (each opens with EHLO)."""

    def __init__(self) -> None:
        super().__init__()
        self.connections = 0
        self.noops = 0

    async def handle_NOOP(self, server: Any, session: Any, envelope: Any, arg: str) -> str:  # noqa: N802
        self.noops += 1
        return "250 OK"

    async def handle_EHLO(  # noqa: N802 (aiosmtpd API)
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        self.connections += 1
        session.host_name = hostname  # what aiosmtpd leaves to a handler that takes the EHLO hook
        return responses


@pytest.fixture
def greeted(app: Flask) -> Iterator[Greeted]:
    handler = Greeted()
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    saved = {key: app.config[key] for key in ("MAIL_BACKEND", "MAIL_SERVER", "MAIL_PORT")}
    app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port)
    yield handler
    mail.close_kept()
    app.config.update(saved)
    controller.stop()


def test_the_issuing_task_keeps_its_smtp_connection_for_the_next_email(
    app: Flask, completed: Callable[..., Enrolment], greeted: Greeted, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = completed(), completed()
    # within a second of the server's last answer, the next message goes without a NOOP first
    assert len(greeted.messages) == 2 and greeted.connections == 1 and greeted.noops == 0
    mail._kept.used_at -= mail.ANSWERED_SECONDS
    middle = completed()
    assert len(greeted.messages) == 3 and greeted.connections == 1 and greeted.noops == 1
    # the server (or the network) drops the kept connection: it is noticed before sending, not after
    kept = mail._kept.smtp
    assert kept is not None and kept.sock is not None
    kept.sock.shutdown(socket.SHUT_RDWR)
    third = completed()
    assert greeted.connections == 2 and greeted.noops == 1
    recipients = sorted(m["To"] for m in greeted.messages)
    emails_of = [db.session.get(User, e.user_id).email for e in (first, second, middle, third)]
    assert recipients == sorted(emails_of)
    mail._kept.used_at -= app.config["MAIL_KEEP_SECONDS"] + 1  # idle too long: closed, a new one opened
    completed()
    assert greeted.connections == 3
    inherited = mail._kept.smtp
    assert inherited is not None
    mail._kept.pid = -1  # as if inherited through fork: the parent's socket is never used by a child
    completed()
    assert greeted.connections == 4 and mail._kept.smtp is not inherited
    inherited.close()
    monkeypatch.setitem(app.config, "MAIL_KEEP_SECONDS", 0)  # not kept: a connection per e-mail
    completed()
    completed()
    assert greeted.connections == 6 and len(greeted.messages) == 8
    assert greeted.noops == 1  # asked only after the second of idleness above


def test_finishing_announces_a_stored_pdf_without_rendering_it_again(
    app: Flask, completed: Callable[..., Enrolment], mailbox: Inbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    enrolment = completed()
    [certificate] = certificates_of(enrolment.user_id)
    unsent(certificate)  # the first run was killed after storing the PDF, before its e-mail
    mailbox.messages.clear()
    tasks.issue_certificate.run(enrolment.id)  # the issuing task leaves an issued certificate alone
    assert mailbox.messages == []
    monkeypatch.setattr(services, "render_certificate", None)  # rendering again would fail
    tasks.finish_certificate.run(certificate.id)
    tasks.finish_certificate.run(certificate.id)
    [message] = mailbox.messages
    db.session.refresh(certificate)
    assert message["To"] == certificate.user.email and certificate.email_sent_at is not None
    assert events_of(certificate) == ["issued", "emailed", "emailed"]


def test_a_claimed_email_is_left_to_its_claim(
    app: Flask, completed: Callable[..., Enrolment], mailbox: Inbox
) -> None:
    enrolment = completed()
    [certificate] = certificates_of(enrolment.user_id)
    unsent(certificate)
    db.session.execute(
        update(Certificate).where(Certificate.id == certificate.id).values(email_claimed_at=utcnow())
    )
    db.session.commit()
    mailbox.messages.clear()
    tasks.issue_certificate.run(enrolment.id)  # a twin of a task that is sending it now
    assert mailbox.messages == []


def test_a_temporary_refusal_while_issuing_queues_the_email_task(
    app: Flask,
    completed: Callable[..., Enrolment],
    refusing: Callable[[str], None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    queued: list[int] = []
    monkeypatch.setattr(tasks.send_certificate_email, "delay", queued.append)
    refusing("451 Try again later")
    enrolment = completed()
    [certificate] = certificates_of(enrolment.user_id)
    assert certificate.pdf_key is not None and storage().exists(certificate.pdf_key)
    assert certificate.email_claimed_at is None and certificate.email_sent_at is None  # the claim given back
    assert queued == [certificate.id]


class Refusing:
    def __init__(self, code: str) -> None:
        self.code = code

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:  # noqa: N802
        return self.code


@pytest.fixture
def refusing(app: Flask) -> Iterator[Callable[[str], None]]:
    controllers = []
    saved = {key: app.config[key] for key in ("MAIL_BACKEND", "MAIL_SERVER", "MAIL_PORT")}

    def start(code: str) -> None:
        controller = Controller(Refusing(code), hostname="127.0.0.1", port=_free_port())
        controller.start()
        controllers.append(controller)
        app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port)

    yield start
    mail.close_kept()
    app.config.update(saved)
    for controller in controllers:
        controller.stop()


def unsent(certificate: Certificate) -> None:
    db.session.execute(
        update(Certificate)
        .where(Certificate.id == certificate.id)
        .values(email_sent_at=None, email_claimed_at=None, email_failed_at=None)
    )
    db.session.commit()


def test_a_temporary_refusal_gives_the_claim_back(
    app: Flask, completed: Callable[..., Enrolment], refusing: Callable[[str], None]
) -> None:
    [certificate] = certificates_of(completed().user_id)
    unsent(certificate)
    refusing("451 Try again later")
    with pytest.raises((smtplib.SMTPException, Exception)):  # noqa: PT011 - Celery's Retry wraps the SMTP error
        tasks.send_certificate_email.run(certificate.id)
    db.session.refresh(certificate)
    assert certificate.email_claimed_at is None and certificate.email_sent_at is None


def test_a_permanent_refusal_is_recorded_and_not_retried(
    app: Flask, completed: Callable[..., Enrolment], refusing: Callable[[str], None]
) -> None:
    [certificate] = certificates_of(completed().user_id)
    unsent(certificate)
    refusing("550 No such user")
    tasks.send_certificate_email.run(certificate.id)
    db.session.refresh(certificate)
    assert certificate.email_failed_at is not None and certificate.email_sent_at is None
    assert certificate.id not in emails.emails_due()


def test_the_sweep_issues_what_a_lost_task_left(
    app: Flask, completed: Callable[..., Enrolment], monkeypatch: pytest.MonkeyPatch, mailbox: Inbox
) -> None:
    monkeypatch.setattr(progress, "course_completed_listeners", [])  # the task is lost
    enrolment = completed()
    assert certificates_of(enrolment.user_id) == []
    assert enrolment.id not in services.never_issued()  # too recent: the normal path may still come
    earlier = utcnow() - app.config["CERTIFICATE_EMAIL_LEASE"] - timedelta(seconds=1)
    db.session.execute(update(Enrolment).where(Enrolment.id == enrolment.id).values(completed_at=earlier))
    db.session.commit()
    assert services.never_issued() == [enrolment.id]
    tasks.sweep_certificates.run()
    [certificate] = certificates_of(enrolment.user_id)
    assert certificate.email_sent_at is not None and len(mailbox.messages) == 1
    assert services.never_issued() == []


def test_the_sweep_finishes_what_a_dead_issuing_task_left(
    app: Flask, completed: Callable[..., Enrolment], monkeypatch: pytest.MonkeyPatch, mailbox: Inbox
) -> None:
    monkeypatch.setattr(progress, "course_completed_listeners", [])
    enrolment = completed()
    # the issuing task died after its issuing commit: a certificate without PDF, e-mail or claim
    [certificate] = services.issue_pending(enrolment.id, 5).certificates
    db.session.commit()
    tasks.issue_certificate.run(enrolment.id)  # its message again, within the lease: left to its owner
    assert services.unrendered() == [] and mailbox.messages == []
    db.session.refresh(certificate)
    assert certificate.pdf_key is None
    earlier = utcnow() - app.config["CERTIFICATE_EMAIL_LEASE"] - timedelta(seconds=1)
    db.session.execute(update(Certificate).where(Certificate.id == certificate.id).values(issued_at=earlier))
    db.session.commit()
    assert services.unrendered() == [certificate.id]
    tasks.sweep_certificates.run()
    db.session.refresh(certificate)
    assert certificate.pdf_key is not None and certificate.email_sent_at is not None
    assert len(mailbox.messages) == 1 and services.unrendered() == []
    tasks.finish_certificate.run(certificate.id)  # nothing left to do
    assert len(mailbox.messages) == 1 and events_of(certificate) == ["issued", "emailed"]


def test_one_task_issues_the_completions_waiting_with_it(
    app: Flask, completed: Callable[..., Enrolment], monkeypatch: pytest.MonkeyPatch, mailbox: Inbox
) -> None:
    monkeypatch.setattr(progress, "course_completed_listeners", [])  # no task of their own
    enrolments = [completed(full_name=f"Learner {n} ใจดี") for n in range(5)]
    monkeypatch.setitem(app.config, "CERTIFICATE_BATCH_SIZE", 3)
    queued: list[tuple[Any, ...]] = []
    monkeypatch.setattr(tasks.issue_certificate, "delay", lambda *args: queued.append(args))
    tasks.issue_certificate.run(enrolments[3].id)  # its own first, then the oldest waiting
    issued = {c.enrolment_id for c in db.session.scalars(select(Certificate))}
    assert issued == {enrolments[3].id, enrolments[0].id, enrolments[1].id}
    assert len(mailbox.messages) == 3
    assert queued == [()]  # a full batch: the next task is queued, for whatever is still waiting
    tasks.issue_certificate.run()  # that one: the two left, not a full batch, so nothing more queued
    assert queued == [()]
    for enrolment in enrolments:  # a task delivered again, or the sweep's: nothing left to do
        tasks.issue_certificate.run(enrolment.id)
    certificates = list(db.session.scalars(select(Certificate)))
    assert len(certificates) == 5 and all(c.pdf_key and c.email_sent_at for c in certificates)
    assert sorted(m["To"] for m in mailbox.messages) == sorted(
        db.session.get(User, e.user_id).email for e in enrolments
    )
    kinds = db.session.scalars(select(CertificateEvent.kind)).all()
    assert sorted(kinds) == ["emailed"] * 5 + ["issued"] * 5
    enrolled = db.session.scalars(
        select(Enrolment.certified).where(Enrolment.id.in_([e.id for e in enrolments]))
    )
    assert all(enrolled)
    assert queued == [()]


def test_a_burst_of_completions_queues_one_task(
    app: Flask, completed: Callable[..., Enrolment], monkeypatch: pytest.MonkeyPatch, mailbox: Inbox
) -> None:
    queued: list[tuple[Any, ...]] = []
    monkeypatch.setattr(tasks.issue_certificate, "delay", lambda *args: queued.append(args))
    first, second, third = (completed() for _ in range(3))
    assert queued == [(first.id,)]  # the others are within reach of the task queued for the first
    tasks.issue_certificate.run(first.id)
    issued = {c.enrolment_id for c in db.session.scalars(select(Certificate))}
    assert issued == {first.id, second.id, third.id}
    fourth = completed()  # the task has started: a new completion queues its own
    assert queued == [(first.id,), (fourth.id,)]
    # a queued task that never started (lost with a broker) stops holding back completions after a while
    later = utcnow() + timedelta(seconds=app.config["CERTIFICATE_WAKEUP_SECONDS"] + 1)
    monkeypatch.setattr(services, "utcnow", lambda: later)
    fifth = completed()
    assert queued == [(first.id,), (fourth.id,), (fifth.id,)]
    assert len(mailbox.messages) == 3


def test_a_task_sees_every_completion_that_found_it_queued(
    app: Flask, completed: Callable[..., Enrolment], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The task clears the mark and commits before it selects: a completion that read the mark before the
    clearing committed had committed itself, and a later one queues a task of its own."""
    queued: list[tuple[Any, ...]] = []
    monkeypatch.setattr(tasks.issue_certificate, "delay", lambda *args: queued.append(args))
    selected: list[bool] = []
    real_issue = services.issue_pending

    def issue_after_a_completion(first: int | None, size: int) -> services.Batch:
        selected.append(True)
        late.append(completed())  # committed after the mark was cleared, before the batch is selected
        return real_issue(first, size)

    late: list[Enrolment] = []
    early = completed()
    monkeypatch.setattr(services, "issue_pending", issue_after_a_completion)
    tasks.issue_certificate.run(early.id)
    assert queued == [(early.id,), (late[0].id,)]  # it found no task waiting, so it queued its own
    issued = {c.enrolment_id for c in db.session.scalars(select(Certificate))}
    assert issued == {early.id, late[0].id} and selected == [True]


@pytest.mark.postgres
@pytest.mark.no_rollback
def test_two_workers_take_different_completions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with committed_app(tmp_path) as app, app.app_context():
        monkeypatch.setattr(progress, "course_completed_listeners", [])  # (create_app adds the listener)
        first, second = (enrol_and_complete(make_learner(n)).id for n in range(2))
        db.session.commit()
        with db.engine.connect() as other:  # another worker's issuing transaction holds the first one
            other.execute(select(Enrolment.id).where(Enrolment.id == first).with_for_update())
            db.session.execute(text("SET LOCAL lock_timeout = '5s'"))  # were it waited for: an error
            [certificate] = services.issue_pending(first, 5).certificates  # skipped rather than waited for
            assert certificate.enrolment_id == second
            db.session.commit()
            other.rollback()
        [certificate] = services.issue_pending(first, 5).certificates
        assert certificate.enrolment_id == first
        db.session.commit()
        db.session.remove()


def test_the_listener_is_registered_once(app: Flask) -> None:
    certificates.init_app(app)
    assert progress.course_completed_listeners.count(certificates.enqueue_issue) == 1


# --- revocation and reissue -----------------------------------------------------------------------------


def test_revocation(
    app: Flask, completed: Callable[..., Enrolment], create_user: Callable[..., User]
) -> None:
    staff = create_user(roles=("secretariat",))
    [certificate] = certificates_of(completed().user_id)
    with pytest.raises(services.CertificateError, match="reason"):
        services.revoke(certificate, staff, "   ")
    services.revoke(certificate, staff, "Completed with another learner's account.")
    db.session.commit()
    assert certificate.status == "revoked" and certificate.revoked_at is not None
    assert certificate.id in services.revoked_indexes()
    with pytest.raises(services.CertificateError) as refused:
        services.revoke(certificate, staff, "again")
    assert refused.value.code == "not_valid"
    [*_, event] = services.history(certificate)
    assert (event.kind, event.actor_id, event.reason) == (
        "revoked",
        staff.id,
        "Completed with another learner's account.",
    )


def test_a_name_correction_reissues_under_a_new_serial(
    app: Flask, completed: Callable[..., Enrolment], create_user: Callable[..., User]
) -> None:
    staff = create_user(roles=("admin",))
    enrolment = completed(full_name="Somsak Jaidee")
    [old] = certificates_of(enrolment.user_id)
    with pytest.raises(services.CertificateError) as refused:
        services.reissue(old, staff, "typo")
    assert refused.value.code == "name_unchanged"
    old.user.full_name = "สมศักดิ์ ใจดีเลิศ"
    new = services.reissue(old, staff, "The learner wrote the name in Thai script.")
    db.session.commit()
    tasks.finish_certificate.run(new.id)  # what the page queues: render and announce the new one
    assert (old.status, old.superseded_by_id) == ("superseded", new.id)
    assert new.status == "valid" and new.holder_name == "สมศักดิ์ ใจดีเลิศ"
    assert new.serial != old.serial and new.code != old.code
    assert services.current_certificate(enrolment.user_id, enrolment.completed_version_id).id == new.id
    assert old.id in services.revoked_indexes() and new.id not in services.revoked_indexes()
    db.session.refresh(new)
    assert new.pdf_key is not None and new.email_sent_at is not None
    trail = [(e.kind, e.details) for e in services.history(new)]
    assert (
        trail[0][0] == "issued"
        and ("superseded", {"old_name": "Somsak Jaidee", "replaced_by": new.serial}) in trail
    )
    assert ("reissued", {"new_name": "สมศักดิ์ ใจดีเลิศ", "replaces": old.serial}) in trail
    with pytest.raises(services.CertificateError):
        services.reissue(old, staff, "again")
    count = db.session.scalar(
        select(func.count()).select_from(Certificate).where(Certificate.user_id == enrolment.user_id)
    )
    assert count == 2
    assert db.session.scalar(select(func.count()).select_from(CertificateEvent)) >= 5
