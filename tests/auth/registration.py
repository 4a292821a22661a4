"""Registering through the page and confirming the address with the link of the e-mail, as a person does."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from tests.conftest import post_form
from tests.fixtures.smtp import Inbox

CONFIRM = "/register/confirm/"


def confirm(client: FlaskClient, mailbox: Inbox, email: str) -> Any:
    """Open the confirmation link last e-mailed to ``email`` and press its button; return the answer."""
    link = mailbox.link(email, CONFIRM)
    page = client.get(link)
    assert page.status_code == 200, page.status_code
    return post_form(client, link, {})


def register_and_confirm(client: FlaskClient, mailbox: Inbox, data: dict[str, str]) -> Any:
    """Post the registration form with ``data``, then confirm; return the confirmation's answer."""
    response = post_form(client, "/register", data)
    assert response.status_code == 302 and response.headers["Location"] == "/register/sent", (
        response.status_code
    )
    return confirm(client, mailbox, data["email"].strip().lower())
