"""Registration and bearer tokens."""

from __future__ import annotations

from flask import g

from learning.api.routing import ApiError, api_route
from learning.api.schemas import ProfileOut, RegisterIn, RegistrationOut, TokenIn, TokenOut
from learning.auth import services
from learning.auth.models import User
from learning.auth.views import send_registration_email
from learning.extensions import db


def profile_out(user: User) -> ProfileOut:
    return ProfileOut(
        id=user.id,
        email=user.email,
        name=user.full_name,
        country=user.country,
        organisation=user.organisation,
        organisation_type=user.organisation_type,
        job_title=user.job_title,
        language=user.language,
        timezone=user.timezone,
        consent_share_progress=user.consents_to_share,
        consent_share_progress_at=user.consent_share_progress_at,
        roles=sorted(user.roles),
        created_at=user.created_at,
    )


@api_route(
    "/auth/register",
    "POST",
    summary="Register: e-mail the address a link that confirms it and makes the account",
    body=RegisterIn,
    response=RegistrationOut,
    status=202,
    auth=False,
    errors=(400, 415, 422, 429),
)
def register(body: RegisterIn) -> RegistrationOut:
    """Answers 202 whether or not the address has an account (the web form's flow, learning.auth.views):
    a new address gets a link, valid 24 hours, that makes the account once opened in a browser; an address
    with an account gets a note saying so. The client then creates a token with POST /auth/tokens."""
    if services.registration_throttled():
        db.session.commit()  # keep the count
        raise ApiError(429, "throttled", "Too many attempts. Wait a minute and try again.")
    profile = services.Profile(
        full_name=body.name,
        country=body.country,
        organisation=body.organisation,
        organisation_type=body.organisation_type,
        job_title=body.job_title,
        language=body.language,
        timezone=body.timezone,
        consent_share_progress=body.consent_share_progress,
    )
    send_registration_email(str(body.email), body.password, profile)
    db.session.commit()
    return RegistrationOut(
        email=services.normalise_email(str(body.email)),
        message="We sent a message to this address: open its link within 24 hours to confirm it.",
    )


@api_route(
    "/auth/tokens",
    "POST",
    summary="Create a bearer token with e-mail and password",
    body=TokenIn,
    response=TokenOut,
    status=201,
    auth=False,
    errors=(400, 401, 415, 422, 429),
)
def create_token(body: TokenIn) -> TokenOut:
    try:
        user = services.authenticate(body.email, body.password)
    except services.AuthError as exc:
        db.session.commit()  # keep the record of the failed attempt
        raise ApiError(exc.status, exc.code, exc.message) from None
    token, expires_at = services.create_api_token(user)
    db.session.commit()
    return TokenOut(token=token, expires_at=expires_at)


@api_route(
    "/auth/tokens/current", "DELETE", summary="Revoke the token of this request", status=204, errors=(401,)
)
def revoke_current_token() -> None:
    services.revoke_token(g.api_token)
    db.session.commit()


@api_route("/me", "GET", summary="The signed-in user's profile", response=ProfileOut, errors=(401,))
def me() -> ProfileOut:
    return profile_out(g.api_user)
