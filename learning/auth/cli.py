"""`flask users ...`: accounts for admins, trainers and the secretariat."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from learning.auth import choices, services
from learning.auth.models import ROLES
from learning.auth.passwords import password_problem
from learning.extensions import db


@click.group("users")
def users_cli() -> None:
    """Manage user accounts."""


@users_cli.command("create")
@click.argument("email")
@click.option("--name", required=True, help="Full name, as it should appear on certificates.")
@click.option("--role", "roles", multiple=True, type=click.Choice(ROLES), help="A role; repeat for several.")
@click.option("--country", default=None, help="ISO 3166-1 alpha-2 code, e.g. TH.")
@click.option("--organisation", default=None)
@click.option(
    "--organisation-type", type=click.Choice(list(choices.ORGANISATION_TYPE_LABELS)), default="other"
)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@with_appcontext
def create(
    email: str,
    name: str,
    roles: tuple[str, ...],
    country: str | None,
    organisation: str | None,
    organisation_type: str,
    password_stdin: bool,
) -> None:
    """Create a user with the given roles (the password is prompted for, or read from stdin)."""
    if country and country.upper() not in choices.country_codes():
        raise click.BadParameter(
            f"{country!r} is not an ISO 3166-1 alpha-2 country code", param_hint="--country"
        )
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    problem = password_problem(password, email)
    if problem:
        raise click.ClickException(problem)
    profile = services.Profile(
        full_name=choices.clean_text(name),
        country=country.upper() if country else None,
        organisation=organisation,
        organisation_type=organisation_type,
        job_title=None,
        language="en",
        timezone="UTC",
        consent_share_progress=False,
    )
    try:
        user = services.create_user(email, password, profile, set(roles))
    except services.AuthError as exc:
        raise click.ClickException(exc.message) from None
    db.session.commit()
    click.echo(f"Created {user.email} with roles {', '.join(sorted(user.roles))}.")
