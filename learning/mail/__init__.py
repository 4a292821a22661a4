"""Outgoing e-mail: multipart messages, sent over SMTP or written to a folder."""

from __future__ import annotations

import os
import selectors
import smtplib
import ssl
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from email.charset import QP, Charset
from email.header import Header
from email.message import EmailMessage, Message
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from email.policy import Policy, default
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

from flask import current_app

from learning.db import utcnow


class PermanentMailError(Exception):
    """The server refused the message for good (5xx); retrying will not help."""


def build_message(
    to: str,
    subject: str,
    text: str,
    html: str | None = None,
    headers: dict[str, str] | None = None,
    policy: Policy = default,
) -> EmailMessage:
    """Build a text (and HTML) message from the configured sender."""
    message = EmailMessage(policy=policy)
    message["From"] = current_app.config["MAIL_DEFAULT_SENDER"]
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = make_msgid(domain="smart-port-academy")
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(text)
    if html:
        message.add_alternative(html, subtype="html")
    return message


# Text parts of the lean builder: UTF-8, quoted-printable (readable where the text is mostly ASCII)
_UTF8 = Charset("utf-8")
_UTF8.body_encoding = QP


def build_lean(to: str, subject: str, text: str, html: str, message_id: str) -> Message:
    """The text and HTML message ``build_message`` makes, built with the email.mime classes, for e-mails a
    worker sends by the hundred with no attachment (certificates). The modern API parses and folds each
    header through its registry and encodes each part through its content manager: 0.8 ms a message here,
    against 0.06 ms for these (bench/README.md). An address that is not ASCII takes the modern builder,
    which knows internationalised addresses."""
    sender = current_app.config["MAIL_DEFAULT_SENDER"]
    if not (to.isascii() and sender.isascii()):
        message = build_message(to, subject, text, html)
        del message["Message-ID"]
        message["Message-ID"] = message_id
        return message
    lean = MIMEMultipart("alternative")
    lean["From"] = sender
    lean["To"] = to
    lean["Subject"] = (
        subject if subject.isascii() else Header(subject, "utf-8", header_name="Subject").encode()
    )
    lean["Date"] = format_datetime(utcnow())
    lean["Message-ID"] = message_id
    for body, subtype in ((text, "plain"), (html, "html")):
        part = MIMENonMultipart("text", subtype)
        part.set_payload(body, _UTF8)
        lean.attach(part)
    return lean


@contextmanager
def connection() -> Iterator[Callable[[Message], None]]:
    """Open the configured backend once and yield a function that delivers one message over it.

    The function raises PermanentMailError when the server refuses a message for good (5xx);
    smtplib's other errors and OSError are temporary, and the connection stays usable after a
    refused recipient (smtplib resets the transaction).
    """
    config = current_app.config
    if config["MAIL_BACKEND"] == "file":
        folder = Path(config["MAIL_FILE_PATH"])
        folder.mkdir(parents=True, exist_ok=True)

        def write(message: Message) -> None:
            name = f"{utcnow():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}.eml"
            (folder / name).write_bytes(bytes(message))

        yield write
        return
    if config["MAIL_BACKEND"] != "smtp":
        raise RuntimeError(f"unknown MAIL_BACKEND {config['MAIL_BACKEND']!r}")
    with _open_smtp() as smtp:
        yield lambda message: _send_over(smtp, message)


def _open_smtp() -> smtplib.SMTP:
    """Connect to the configured SMTP server, with TLS and login as configured."""
    config = current_app.config
    smtp_class: Any = smtplib.SMTP_SSL if config["MAIL_USE_SSL"] else smtplib.SMTP
    smtp: smtplib.SMTP = smtp_class(
        config["MAIL_SERVER"], config["MAIL_PORT"], timeout=config["MAIL_TIMEOUT"]
    )
    try:
        if config["MAIL_USE_TLS"]:
            smtp.starttls(context=ssl.create_default_context())
        if config["MAIL_USERNAME"]:
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
    except BaseException:
        smtp.close()
        raise
    return smtp


def _send_over(smtp: smtplib.SMTP, message: Message) -> None:
    try:
        smtp.send_message(message)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        if all(code >= 500 for code in codes):
            raise PermanentMailError(str(exc)) from exc
        raise
    except smtplib.SMTPResponseException as exc:
        if exc.smtp_code >= 500:
            raise PermanentMailError(str(exc)) from exc
        raise


class _KeptConnection:
    """The SMTP connection a process keeps between messages (see ``send_kept``)."""

    def __init__(self) -> None:
        self.smtp: smtplib.SMTP | None = None
        self.settings: tuple[Any, ...] = ()
        self.pid = 0
        self.used_at = 0.0

    def take(self, settings: tuple[Any, ...], keep: float) -> smtplib.SMTP | None:
        """The kept connection if it is for these settings, this process, fresh and answering NOOP."""
        smtp, self.smtp = self.smtp, None
        if smtp is None:
            return None
        if self.pid != os.getpid():  # inherited through fork: the parent's socket, not ours to use
            return None
        idle = time.monotonic() - self.used_at
        if self.settings != settings or idle > keep or _closed_by_server(smtp):
            _close(smtp)
            return None
        if idle < ANSWERED_SECONDS:
            return smtp
        try:
            if smtp.noop()[0] == 250:
                return smtp
        except (smtplib.SMTPException, OSError):
            pass
        _close(smtp)
        return None

    def keep(self, smtp: smtplib.SMTP, settings: tuple[Any, ...]) -> None:
        self.smtp, self.settings, self.pid, self.used_at = smtp, settings, os.getpid(), time.monotonic()

    def close(self) -> None:
        smtp, self.smtp = self.smtp, None
        if smtp is not None and self.pid == os.getpid():
            _close(smtp)


def _close(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()


def _closed_by_server(smtp: smtplib.SMTP) -> bool:
    """Whether the server has closed the connection, or said something unasked (a 421 before closing):
    either leaves its socket something to read, which is seen without a round trip."""
    if smtp.sock is None:
        return True
    with selectors.DefaultSelector() as selector:
        selector.register(smtp.sock, selectors.EVENT_READ)
        return bool(selector.select(timeout=0))


_kept = _KeptConnection()
# A kept connection whose server answered a message this recently, and has not closed it since, is used
# without asking NOOP first: the messages of a batch follow each other within milliseconds.
ANSWERED_SECONDS = 1.0
KEPT_SETTINGS = ("MAIL_SERVER", "MAIL_PORT", "MAIL_USE_SSL", "MAIL_USE_TLS", "MAIL_USERNAME", "MAIL_PASSWORD")


def send_kept(message: Message) -> None:
    """Deliver one message over an SMTP connection this process keeps open for the next one.

    For a worker that sends one e-mail per task: connecting, greeting and quitting cost as much as the
    message. A kept connection is used again only within MAIL_KEEP_SECONDS of its last message, with the
    same settings, in the same process, if the server has not closed it, and after it answers NOOP unless
    it answered a message within the last second, so that a message is not sent into a connection the
    server has dropped; otherwise a new one is opened. Errors are those of ``connection``;
    after one where the server did not answer (a timeout, a dropped connection) the connection is closed.
    """
    config = current_app.config
    keep = float(config["MAIL_KEEP_SECONDS"])
    if config["MAIL_BACKEND"] != "smtp" or keep <= 0:
        send_messages([message])
        return
    settings = tuple(config[name] for name in KEPT_SETTINGS)
    smtp = _kept.take(settings, keep) or _open_smtp()
    try:
        _send_over(smtp, message)
    except (PermanentMailError, smtplib.SMTPRecipientsRefused, smtplib.SMTPResponseException):
        _kept.keep(smtp, settings)  # the server answered (and smtplib reset the transaction)
        raise
    except BaseException:
        smtp.close()
        raise
    _kept.keep(smtp, settings)


def close_kept() -> None:
    """Close the connection ``send_kept`` keeps, if any (at the end of a test, or of a process)."""
    _kept.close()


def send_messages(messages: list[Message]) -> None:
    """Deliver ``messages`` with the configured backend, over one SMTP connection."""
    with connection() as send:
        for message in messages:
            send(message)
