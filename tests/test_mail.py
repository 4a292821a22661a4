"""E-mail delivery: SMTP to a real local server, temporary and permanent refusals, the file backend."""

from __future__ import annotations

import email
import smtplib
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from flask import Flask

from learning.mail import PermanentMailError, build_lean, build_message, send_messages
from learning.mail.tasks import send_email
from tests.fixtures.smtp import _free_port


class Picky:
    """Refuses some recipients for good (550) and some for now (451)."""

    def __init__(self) -> None:
        self.received: list[str] = []

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:  # noqa: N802
        if address.startswith("gone"):
            return "550 No such user"
        if address.startswith("busy"):
            return "451 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.received.extend(envelope.rcpt_tos)
        return "250 OK"


@pytest.fixture
def picky_server(app: Flask):  # noqa: ANN201
    handler = Picky()
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    saved = {key: app.config[key] for key in ("MAIL_BACKEND", "MAIL_SERVER", "MAIL_PORT")}
    app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port)
    yield handler
    app.config.update(saved)
    controller.stop()


def test_smtp_permanent_and_temporary_refusals(app: Flask, picky_server: Picky, caplog) -> None:
    send_messages([build_message("ok@example.org", "Hello", "Text", "<p>HTML</p>")])
    assert picky_server.received == ["ok@example.org"]
    with pytest.raises(PermanentMailError):
        send_messages([build_message("gone@example.org", "Hello", "Text")])
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        send_messages([build_message("busy@example.org", "Hello", "Text")])
    # the task records a permanent failure instead of retrying for ever
    send_email.run("gone@example.org", "Hello", "Text")
    assert "permanent failure" in caplog.text


def test_file_backend_writes_one_eml_per_message(app: Flask, tmp_path: Path) -> None:
    saved = app.config["MAIL_FILE_PATH"], app.config["MAIL_BACKEND"]
    app.config.update(MAIL_FILE_PATH=str(tmp_path / "mail"), MAIL_BACKEND="file")
    try:
        send_messages(
            [
                build_message("a@example.org", "Subject ✓", "Text ✓", "<p>HTML</p>"),
                build_message("b@example.org", "Subject 2", "Text 2"),
            ]
        )
    finally:
        app.config["MAIL_FILE_PATH"], app.config["MAIL_BACKEND"] = saved
    files = sorted((tmp_path / "mail").glob("*.eml"))
    assert len(files) == 2 and b"multipart/alternative" in b"".join(f.read_bytes() for f in files)


def test_unknown_backend_is_a_configuration_error(app: Flask) -> None:
    saved = app.config["MAIL_BACKEND"]
    app.config["MAIL_BACKEND"] = "pigeon"
    try:
        with pytest.raises(RuntimeError, match="MAIL_BACKEND"):
            send_messages([build_message("a@example.org", "S", "T")])
    finally:
        app.config["MAIL_BACKEND"] = saved


def test_the_lean_builder_makes_what_the_modern_one_does(app: Flask) -> None:
    subject, text, html = (
        "Certificate: ท่าเรืออัจฉริยะ",
        "Dear Nguyễn Thị,\nhttps://x.example/a=b\n",
        "<p>ท่าเรือ</p>",
    )
    with app.test_request_context():
        modern = build_message("a@example.org", subject, text, html)
        lean = build_lean("a@example.org", subject, text, html, "<certificate-1@smart-port-academy>")
        fallback = build_lean("ünï@example.org", subject, text, html, "<certificate-2@smart-port-academy>")
    for message in (lean, fallback):  # as a mail program reads them
        read = email.message_from_bytes(message.as_bytes(), policy=default)
        assert isinstance(read, EmailMessage)
        for name in ("From", "Subject"):
            assert read[name] == modern[name] == (subject if name == "Subject" else modern["From"])
        assert read.get_body(("plain",)).get_content() == text  # type: ignore[union-attr]
        assert read.get_body(("html",)).get_content().rstrip("\n") == html  # type: ignore[union-attr]
        assert read["Date"] and read.get_content_type() == "multipart/alternative"
    assert email.message_from_bytes(lean.as_bytes(), policy=default)["To"] == "a@example.org"
    assert isinstance(fallback, EmailMessage) and fallback["To"] == "ünï@example.org"  # the modern builder's
    assert [lean["Message-ID"], fallback["Message-ID"]] == [
        "<certificate-1@smart-port-academy>",
        "<certificate-2@smart-port-academy>",
    ]
