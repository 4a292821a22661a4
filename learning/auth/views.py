"""Pages for registration, sign-in, sign-out, the profile and passwords."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response

from learning.auth import services
from learning.auth.forms import (
    ChangePasswordForm,
    ConfirmRegistrationForm,
    ForgotPasswordForm,
    LoginForm,
    LogoutForm,
    ProfileForm,
    RegistrationForm,
    ResetPasswordForm,
)
from learning.auth.passwords import verify_password
from learning.extensions import db
from learning.mail.tasks import send_email
from learning.outbox import after_commit

bp = Blueprint("auth", __name__, template_folder="templates")


def safe_next(target: str | None) -> str | None:
    """Accept only a path on this site (no scheme, no host, no protocol-relative or backslash tricks)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or any(ch in target for ch in "\\\r\n\t"):
        return None
    return target


def _profile(form: ProfileForm | RegistrationForm) -> services.Profile:
    return services.Profile(
        full_name=form.full_name.data or "",
        country=form.country.data or None,
        organisation=form.organisation.data or None,
        organisation_type=form.organisation_type.data or None,
        job_title=form.job_title.data or None,
        language=form.language.data or "en",
        timezone=form.timezone.data or "UTC",
        consent_share_progress=bool(form.consent_share_progress.data),
    )


def _sign_in(user: services.User) -> None:
    session.clear()  # a fresh session at every sign-in
    services.start_session(user)
    login_user(user)
    session.permanent = True


@bp.route("/register", methods=["GET", "POST"])
def register() -> str | Response | tuple[str, int]:
    if current_user.is_authenticated:
        return redirect(url_for("progress.dashboard"))
    form = RegistrationForm()
    if form.validate_on_submit():
        if services.registration_throttled():
            db.session.commit()  # keep the count
            form.email.errors.append(_("Too many attempts. Wait a minute and try again."))
            return render_template("auth/register.html", form=form), 429
        send_registration_email(form.email.data or "", form.password.data or "", _profile(form))
        db.session.commit()
        # The same answer whether or not the address has an account: the e-mail tells which.
        return redirect(url_for("auth.registration_sent"))
    return render_template("auth/register.html", form=form)


def send_registration_email(email: str, password: str, profile: services.Profile) -> None:
    """Start a registration and queue, for after the commit, the e-mail it calls for: the confirmation link
    for a new address, a note for one that has an account (see services.start_registration)."""
    outcome, token = services.start_registration(email, password, profile)
    address = services.normalise_email(email)
    if outcome == "confirm" and token is not None:
        link = external_url("auth.confirm_registration", token=token)
        subject = _("Confirm your e-mail address for Smart Port Academy")
        name = "confirm"
    elif outcome == "exists":
        link = external_url("auth.login")
        subject = _("You already have a Smart Port Academy account")
        name = "already_registered"
    else:
        return
    context = {"name": profile.full_name, "link": link, "reset": external_url("auth.forgot_password")}
    text = render_template(f"auth/email/{name}.txt", **context)
    html = render_template(f"auth/email/{name}.html", **context)
    after_commit(lambda: send_email.delay(address, subject, text, html))


def external_url(endpoint: str, **values: Any) -> str:
    """The address of ``endpoint`` on the public site (BASE_URL), for e-mails."""
    return current_app.config["BASE_URL"].rstrip("/") + url_for(endpoint, **values)


@bp.get("/register/sent")
def registration_sent() -> str:
    return render_template("auth/registration_sent.html")


@bp.route("/register/confirm/<token>", methods=["GET", "POST"])
def confirm_registration(token: str) -> str | Response | tuple[str, int]:
    """The link of the confirmation e-mail: a page with a button, so that a mail scanner that opens links
    (a GET) does not use it up; the POST makes the account and signs it in."""
    if len(token) > 100:
        abort(404)
    form = ConfirmRegistrationForm()
    if form.validate_on_submit():
        try:
            user = services.confirm_registration(token)
        except services.AuthError as exc:
            db.session.commit()  # the claimed registration stays deleted: its link is used
            flash(exc.message, "error")
            return redirect(url_for("auth.login" if exc.code == "email_taken" else "auth.register"))
        _sign_in(user)
        db.session.commit()
        flash(_("Welcome, %(name)s. Your account is ready.", name=user.full_name), "success")
        return redirect(url_for("catalog.index"))
    pending = services.pending_registration(token)
    if pending is None:
        flash(_("This confirmation link is not valid any more. Register again."), "error")
        return redirect(url_for("auth.register"))
    return render_template("auth/confirm_registration.html", form=form, email=pending.email)


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | Response | tuple[str, int]:
    form = LoginForm()
    next_url = safe_next(request.args.get("next"))
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.email.data or "", form.password.data or "")
        except services.AuthError as exc:
            db.session.commit()  # keep the record of the failed attempt
            form.password.errors.append(exc.message)
            return render_template("auth/login.html", form=form), exc.status
        _sign_in(user)
        db.session.commit()
        return redirect(next_url or url_for("progress.dashboard"))
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
def logout() -> Response:
    form = LogoutForm()
    if not form.validate_on_submit():
        abort(400)
    if current_user.is_authenticated:
        services.end_session(current_user.session_key)
        db.session.commit()
        logout_user()
    session.clear()
    flash(_("You are signed out."), "info")
    return redirect(url_for("catalog.index"))


@bp.route("/account", methods=["GET", "POST"])
def account() -> str | Response:
    form = ProfileForm(obj=current_user)
    if request.method == "GET":
        form.consent_share_progress.data = current_user.consents_to_share
    if form.validate_on_submit():
        services.update_profile(current_user, _profile(form))
        db.session.commit()
        flash(_("Your profile is saved."), "success")
        return redirect(url_for("auth.account"))
    return render_template("auth/account.html", form=form, user=current_user)


@bp.route("/account/password", methods=["GET", "POST"])
def change_password() -> str | Response:
    form = ChangePasswordForm()
    if form.validate_on_submit():
        if not verify_password(current_user.password_hash, form.current_password.data or ""):
            form.current_password.errors.append(_("That is not your current password."))
        else:
            services.change_password(
                current_user, form.password.data or "", keep_session=current_user.session_key
            )
            db.session.commit()
            flash(_("Your password is changed. You were signed out on your other devices."), "success")
            return redirect(url_for("auth.account"))
    return render_template("auth/change_password.html", form=form)


@bp.route("/password/forgot", methods=["GET", "POST"])
def forgot_password() -> str | Response | tuple[str, int]:
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        try:
            found = services.request_password_reset(form.email.data or "")
        except services.AuthError as exc:
            form.email.errors.append(exc.message)
            return render_template("auth/forgot_password.html", form=form), exc.status
        if found is not None:
            user, token = found
            link = external_url("auth.reset_password", token=token)
            text = render_template("auth/email/reset.txt", user=user, link=link)
            html = render_template("auth/email/reset.html", user=user, link=link)
            subject = _("Reset your Smart Port Academy password")
            after_commit(lambda: send_email.delay(user.email, subject, text, html))
        db.session.commit()
        # The same answer whether or not the account exists.
        flash(
            _("If an account uses that address, a reset link is on its way. It works once, for one hour."),
            "info",
        )
        return redirect(url_for("auth.login"))
    return render_template("auth/forgot_password.html", form=form)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str) -> str | Response | tuple[str, int]:
    if len(token) > 100:
        abort(404)
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            services.reset_password(token, form.password.data or "")
        except services.AuthError as exc:
            db.session.rollback()
            flash(exc.message, "error")
            return render_template("auth/reset_password.html", form=form, token=token), 400
        db.session.commit()
        flash(_("Your password is set. Sign in with it now."), "success")
        return redirect(url_for("auth.login"))
    return render_template("auth/reset_password.html", form=form, token=token)
