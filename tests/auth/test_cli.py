"""`flask users create`."""

from __future__ import annotations

from flask.testing import FlaskCliRunner
from sqlalchemy import select

from learning.auth.models import User
from learning.extensions import db


def test_create_a_trainer_and_secretariat_user(runner: FlaskCliRunner) -> None:
    result = runner.invoke(
        args=[
            "users",
            "create",
            "Trainer@ESCAP.org",
            "--name",
            "Kim Min-jun 김민준",
            "--role",
            "trainer",
            "--role",
            "secretariat",
            "--country",
            "kr",
            "--password-stdin",
        ],
        input="a long trainer passphrase\n",
    )
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.email == "trainer@escap.org"))
    assert user.roles == {"learner", "trainer", "secretariat"} and user.country == "KR"
    assert user.full_name == "Kim Min-jun 김민준"


def test_prompted_password_and_refusals(runner: FlaskCliRunner) -> None:
    result = runner.invoke(
        args=["users", "create", "a@b.org", "--name", "A", "--role", "admin"],
        input="a long admin passphrase\na long admin passphrase\n",
    )
    assert result.exit_code == 0, result.output
    again = runner.invoke(
        args=["users", "create", "A@b.org", "--name", "A", "--password-stdin"],
        input="a long admin passphrase\n",
    )
    assert again.exit_code == 1 and "already exists" in again.output
    weak = runner.invoke(
        args=["users", "create", "c@b.org", "--name", "C", "--password-stdin"], input="123\n"
    )
    assert weak.exit_code == 1 and "at least 8" in weak.output
    bad_role = runner.invoke(args=["users", "create", "d@b.org", "--name", "D", "--role", "king"])
    assert bad_role.exit_code == 2
    bad_country = runner.invoke(
        args=["users", "create", "e@b.org", "--name", "E", "--country", "ZZ", "--password-stdin"],
        input="a long passphrase here\n",
    )
    assert bad_country.exit_code == 2
