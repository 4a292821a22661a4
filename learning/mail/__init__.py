"""Outgoing e-mail: multipart messages, sent over SMTP or written to a folder."""

from __future__ import annotations

import smtplib
import ssl
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from email.message import EmailMessage
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


@contextmanager
def connection() -> Iterator[Callable[[EmailMessage], None]]:
    """Open the configured backend once and yield a function that delivers one message over it.

    The function raises PermanentMailError when the server refuses a message for good (5xx);
    smtplib's other errors and OSError are temporary, and the connection stays usable after a
    refused recipient (smtplib resets the transaction).
    """
    config = current_app.config
    if config["MAIL_BACKEND"] == "file":
        folder = Path(config["MAIL_FILE_PATH"])
        folder.mkdir(parents=True, exist_ok=True)

        def write(message: EmailMessage) -> None:
            name = f"{utcnow():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}.eml"
            (folder / name).write_bytes(bytes(message))

        yield write
        return
    if config["MAIL_BACKEND"] != "smtp":
        raise RuntimeError(f"unknown MAIL_BACKEND {config['MAIL_BACKEND']!r}")
    smtp_class: Any = smtplib.SMTP_SSL if config["MAIL_USE_SSL"] else smtplib.SMTP
    with smtp_class(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=config["MAIL_TIMEOUT"]) as smtp:
        if config["MAIL_USE_TLS"]:
            smtp.starttls(context=ssl.create_default_context())
        if config["MAIL_USERNAME"]:
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")

        def send(message: EmailMessage) -> None:
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

        yield send


def send_messages(messages: list[EmailMessage]) -> None:
    """Deliver ``messages`` with the configured backend, over one SMTP connection."""
    with connection() as send:
        for message in messages:
            send(message)
