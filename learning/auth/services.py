"""Accounts, sign-in with throttling and lock-out, web sessions, API tokens and password resets."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import Select, bindparam, case, delete, func, select, update
from sqlalchemy.orm import joinedload

from learning import throttle
from learning.auth.models import (
    ApiToken,
    AuthAttempt,
    LoginSession,
    PasswordReset,
    Registration,
    User,
    UserRole,
)
from learning.auth.passwords import hash_password, needs_rehash, verify_password
from learning.db import insert_for, utcnow
from learning.extensions import db
from learning.security.log import client_address, security_event


class AuthError(Exception):
    """A refused authentication step; ``code`` is stable for the API."""

    def __init__(self, code: str, message: str, status: int = 401) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def token_hash(token: str) -> str:
    """Return the SHA-256 hex digest under which a secret token is stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def normalise_email(email: str) -> str:
    return email.strip().lower()


@dataclass
class Profile:
    full_name: str
    country: str | None
    organisation: str | None
    organisation_type: str | None
    job_title: str | None
    language: str
    timezone: str
    consent_share_progress: bool


def find_user(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


def create_user(email: str, password: str | None, profile: Profile, roles: set[str]) -> User:
    """Create a user with ``roles`` (every user is also a learner); flushes. Raises AuthError if taken."""
    email = normalise_email(email)
    if find_user(email) is not None:
        security_event("register", "email_taken", email=email)
        raise AuthError("email_taken", _("An account with this e-mail address already exists."), 409)
    now = utcnow()
    user = User(
        email=email,
        password_hash=hash_password(password) if password else None,
        full_name=profile.full_name,
        country=profile.country,
        organisation=profile.organisation,
        organisation_type=profile.organisation_type,
        job_title=profile.job_title,
        language=profile.language,
        timezone=profile.timezone,
        consent_share_progress_at=now if profile.consent_share_progress else None,
        created_at=now,
        password_changed_at=now if password else None,
    )
    user.role_rows = [UserRole(role=role) for role in sorted(roles | {"learner"})]
    db.session.add(user)
    db.session.flush()
    return user


def update_profile(user: User, profile: Profile) -> None:
    """Apply profile changes; consent keeps its original date while it stays given."""
    user.full_name = profile.full_name
    user.country = profile.country
    user.organisation = profile.organisation
    user.organisation_type = profile.organisation_type
    user.job_title = profile.job_title
    user.language = profile.language
    user.timezone = profile.timezone
    if profile.consent_share_progress and user.consent_share_progress_at is None:
        user.consent_share_progress_at = utcnow()
    elif not profile.consent_share_progress:
        user.consent_share_progress_at = None
    db.session.flush()
    from learning.progress.models import Enrolment  # progress builds on auth

    # the reports read the country and type of organisation from each enrolment
    db.session.execute(
        update(Enrolment)
        .where(Enrolment.user_id == user.id)
        .values(country=user.country, organisation_type=user.organisation_type)
        .execution_options(synchronize_session=False)
    )


def _record_attempt(kind: str, email: str | None, succeeded: bool) -> None:
    db.session.add(
        AuthAttempt(
            kind=kind, address=client_address(), email=email, succeeded=succeeded, created_at=utcnow()
        )
    )
    db.session.flush()


def throttled(kind: str) -> bool:
    """Return whether this address made more attempts of ``kind`` in the last minute than allowed."""
    since = utcnow() - timedelta(minutes=1)
    count = db.session.scalar(
        select(func.count(AuthAttempt.id)).where(
            AuthAttempt.address == client_address(), AuthAttempt.kind == kind, AuthAttempt.created_at >= since
        )
    )
    return (count or 0) >= current_app.config["THROTTLE_PER_MINUTE"]


# Registration answers the same whether or not an address has an account (RELIABILITY/issue 7, row 5): the
# account is made only when the link e-mailed to the address is used, and an address that has an account is
# e-mailed a note saying so instead. The password is hashed on both paths, so the time taken tells nothing
# either. Limits: REGISTRATIONS_PER_MINUTE per client address (a classroom behind one address registers that
# many a minute), and MAILS_PER_ADDRESS_PER_MINUTE e-mails about registering to one address, so that the form
# cannot be used to flood someone's mailbox (past it, nothing is sent, and the answer is still the same).
MAILS_PER_ADDRESS_PER_MINUTE = 2


def registration_throttled() -> bool:
    """Count a registration from this client address; return whether it is over the minute's limit."""
    if throttle.hit("register", current_app.config["REGISTRATIONS_PER_MINUTE"]):
        security_event("register", "throttled")
        return True
    return False


def start_registration(email: str, password: str, profile: Profile) -> tuple[str, str | None]:
    """Record a registration waiting for its address to be confirmed (flushes); return what to e-mail the
    address: ``("confirm", token)`` for an address without an account, ``("exists", None)`` for one with
    an account, ``("none", None)`` when the address was e-mailed about registering too often this minute.
    What the caller answers must not depend on it."""
    email = normalise_email(email)
    password_hash = hash_password(password)
    # counted by a digest of the address (throttle keys are 64 characters; the address is no secret)
    recipient = hashlib.sha256(email.encode("utf-8")).hexdigest()
    if throttle.hit("register-mail", MAILS_PER_ADDRESS_PER_MINUTE, key=recipient):
        security_event("register", "mail_throttled", email=email)
        return "none", None
    if find_user(email) is not None:
        security_event("register", "email_taken", email=email)
        return "exists", None
    token = secrets.token_urlsafe(32)
    now = utcnow()
    values = {
        "token_hash": token_hash(token),
        "password_hash": password_hash,
        "full_name": profile.full_name,
        "country": profile.country,
        "organisation": profile.organisation,
        "organisation_type": profile.organisation_type,
        "job_title": profile.job_title,
        "language": profile.language,
        "timezone": profile.timezone,
        "consent_share_progress": profile.consent_share_progress,
        "created_at": now,
        "expires_at": now + current_app.config["REGISTRATION_LIFETIME"],
    }
    # one registration per address: a second one replaces the first, whose link stops working
    db.session.execute(
        insert_for(Registration)
        .values(email=email, **values)
        .on_conflict_do_update(index_elements=[Registration.__table__.c.email], set_=values)
    )
    security_event("register", "pending", email=email)
    return "confirm", token


def pending_registration(token: str) -> Registration | None:
    """The registration waiting for confirmation with this link's token, if it has not expired."""
    return db.session.scalar(
        select(Registration).where(
            Registration.token_hash == token_hash(token), Registration.expires_at > utcnow()
        )
    )


def confirm_registration(token: str) -> User:
    """Make the account of the registration with this link's token (flushes). The registration is deleted
    in the same statement that claims it, so a link works once even if used twice at the same moment.
    Raises AuthError when the link is unknown, used or expired, or the address got an account meanwhile."""
    table = Registration.__table__
    claimed = db.session.execute(
        delete(Registration)
        .where(Registration.token_hash == token_hash(token), Registration.expires_at > utcnow())
        .returning(*table.c)
    ).one_or_none()
    if claimed is None:
        raise AuthError(
            "invalid_token", _("This confirmation link is not valid any more. Register again."), 400
        )
    if find_user(claimed.email) is not None:
        raise AuthError(
            "email_taken",
            _("An account with this e-mail address already exists. Sign in, or reset your password."),
            409,
        )
    profile = Profile(
        claimed.full_name,
        claimed.country,
        claimed.organisation,
        claimed.organisation_type,
        claimed.job_title,
        claimed.language,
        claimed.timezone,
        claimed.consent_share_progress,
    )
    user = create_user(claimed.email, None, profile, set())
    user.password_hash = claimed.password_hash
    user.password_changed_at = user.created_at
    db.session.flush()
    security_event("register", "success", user_id=user.id, email=user.email)
    return user


def purge_registrations() -> int:
    """Delete the registrations whose link has expired; returns how many went. The caller commits."""
    result = db.session.execute(delete(Registration).where(Registration.expires_at <= utcnow()))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def authenticate(email: str, password: str, kind: str = "login") -> User:
    """Return the user whose credentials these are, or raise AuthError.

    Unknown accounts, wrong passwords, locked and deactivated accounts get the same answer.
    """
    if throttled(kind):
        security_event(kind, "throttled", email=normalise_email(email))
        raise AuthError("throttled", _("Too many attempts. Wait a minute and try again."), 429)
    user = find_user(email)
    now = utcnow()
    ok = verify_password(user.password_hash if user else None, password)
    locked = bool(user and user.locked_until and user.locked_until > now)
    if user is None or not ok or locked or not user.active:
        _record_attempt(kind, normalise_email(email), False)
        if user is not None and not ok:
            _count_failure(user, now)
        security_event(
            kind,
            "locked" if locked else "failure",
            user_id=user.id if user else None,
            email=normalise_email(email),
        )
        raise AuthError(
            "invalid_credentials",
            _("The e-mail address or password is not correct, or the account is locked."),
            401,
        )
    _record_attempt(kind, user.email, True)
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    if user.password_hash and needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    security_event(kind, "success", user_id=user.id, email=user.email)
    return user


def _count_failure(user: User, now: datetime) -> None:
    # One atomic UPDATE, so that concurrent failures all count.
    limit = current_app.config["LOGIN_LOCK_FAILURES"]
    until = now + current_app.config["LOGIN_LOCK_DURATION"]
    db.session.execute(
        update(User)
        .where(User.id == user.id)
        .values(
            failed_logins=case((User.failed_logins + 1 >= limit, 0), else_=User.failed_logins + 1),
            locked_until=case((User.failed_logins + 1 >= limit, until), else_=User.locked_until),
        )
    )
    db.session.refresh(user)
    if user.locked_until and user.locked_until > now:
        security_event("lockout", "locked", user_id=user.id, email=user.email)


def start_session(user: User) -> str:
    """Create a web session for ``user`` and return its secret key (kept in the session cookie)."""
    key = secrets.token_urlsafe(32)
    now = utcnow()
    db.session.add(
        LoginSession(
            user_id=user.id,
            key_hash=token_hash(key),
            created_at=now,
            expires_at=now + current_app.config["PERMANENT_SESSION_LIFETIME"],
        )
    )
    db.session.flush()
    user.session_key = key
    return key


def user_for_session(key: str) -> User | None:
    """Return the active user of a live web session, with its roles, in one query (on every request:
    nothing is cached)."""
    now = utcnow()
    since = now - current_app.config["PERMANENT_SESSION_LIFETIME"]
    row = (
        db.session.execute(_session_user(), {"key_hash": token_hash(key), "now": now, "since": since})
        .unique()
        .scalar_one_or_none()
    )
    if row is not None:
        row.session_key = key
    return row


@cache
def _session_user() -> Select[User]:
    # Built once, with bound parameters: building a statement and its cache key costs more Python time than
    # running it, on every signed-in request.
    return (
        select(User)
        .join(LoginSession, LoginSession.user_id == User.id)
        .where(
            LoginSession.key_hash == bindparam("key_hash"),
            LoginSession.revoked_at.is_(None),
            LoginSession.expires_at > bindparam("now"),
            # the absolute lifetime counts from sign-in too, so no expiry date can stretch a session past it
            LoginSession.created_at > bindparam("since"),
            User.active.is_(True),
        )
        # the roles come in the same statement: every page's menu asks for them
        .options(joinedload(User.role_rows))
    )


def end_session(key: str | None) -> None:
    if key:
        db.session.execute(
            update(LoginSession)
            .where(LoginSession.key_hash == token_hash(key), LoginSession.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )


def revoke_credentials(user: User, keep_session: str | None = None) -> None:
    """End every web session (but ``keep_session``) and every API token of ``user``."""
    now = utcnow()
    sessions = update(LoginSession).where(LoginSession.user_id == user.id, LoginSession.revoked_at.is_(None))
    if keep_session:
        sessions = sessions.where(LoginSession.key_hash != token_hash(keep_session))
    db.session.execute(sessions.values(revoked_at=now))
    db.session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def change_password(user: User, new_password: str, keep_session: str | None = None) -> None:
    """Set a new password and sign out everywhere else."""
    user.password_hash = hash_password(new_password)
    user.password_changed_at = utcnow()
    user.failed_logins = 0
    user.locked_until = None
    revoke_credentials(user, keep_session)
    security_event("password_change", "success", user_id=user.id)
    db.session.flush()


def create_api_token(user: User) -> tuple[str, datetime]:
    """Issue a bearer token; only its hash is stored. Returns the token and its expiry."""
    token = secrets.token_urlsafe(32)
    expires = utcnow() + current_app.config["API_TOKEN_LIFETIME"]
    db.session.add(ApiToken(user_id=user.id, token_hash=token_hash(token), expires_at=expires))
    db.session.flush()
    return token, expires


def user_for_token(token: str) -> tuple[User, ApiToken] | None:
    """Return the active user and the live token for a bearer token, in one query (on every request)."""
    row = db.session.execute(_token_user(), {"token_hash": token_hash(token), "now": utcnow()}).one_or_none()
    return (row[0], row[1]) if row else None


@cache
def _token_user() -> Select[User, ApiToken]:
    # Built once, like _session_user.
    return (
        select(User, ApiToken)
        .join(ApiToken, ApiToken.user_id == User.id)
        .where(
            ApiToken.token_hash == bindparam("token_hash"),
            ApiToken.revoked_at.is_(None),
            ApiToken.expires_at > bindparam("now"),
            User.active.is_(True),
        )
    )


def revoke_token(token: ApiToken) -> None:
    token.revoked_at = utcnow()
    db.session.flush()


def request_password_reset(email: str) -> tuple[User, str] | None:
    """Create a single-use reset token for the account, if there is an active one; throttled per address."""
    if throttled("reset"):
        security_event("reset", "throttled", email=normalise_email(email))
        raise AuthError("throttled", _("Too many attempts. Wait a minute and try again."), 429)
    user = find_user(email)
    _record_attempt("reset", normalise_email(email), user is not None)
    if user is None or not user.active:
        security_event("reset_request", "unknown_account", email=normalise_email(email))
        return None
    token = secrets.token_urlsafe(32)
    now = utcnow()
    db.session.add(
        PasswordReset(
            user_id=user.id,
            token_hash=token_hash(token),
            created_at=now,
            expires_at=now + current_app.config["PASSWORD_RESET_LIFETIME"],
        )
    )
    db.session.flush()
    security_event("reset_request", "sent", user_id=user.id)
    return user, token


def reset_password(token: str, new_password: str) -> User:
    """Use a reset token once to set a new password; raises AuthError when it is unknown, used or expired."""
    now = utcnow()
    # Claim the token atomically, so that it works once even if submitted twice at the same moment.
    claimed = db.session.execute(
        update(PasswordReset)
        .where(
            PasswordReset.token_hash == token_hash(token),
            PasswordReset.used_at.is_(None),
            PasswordReset.expires_at > now,
        )
        .values(used_at=now)
        .returning(PasswordReset.user_id)
    ).scalar_one_or_none()
    user = db.session.get(User, claimed) if claimed is not None else None
    if user is None or not user.active:
        raise AuthError("invalid_token", _("This reset link is not valid any more. Ask for a new one."), 400)
    change_password(user, new_password)
    return user
