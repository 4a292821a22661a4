"""The learner's data page (download, erase) and the secretariat's erasure on request."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, logout_user
from sqlalchemy import select
from werkzeug.wrappers import Response as BaseResponse

from learning.audit.models import AuditEvent
from learning.auth.choices import has_control_characters
from learning.auth.models import User
from learning.auth.passwords import verify_password
from learning.auth.services import normalise_email
from learning.certificates.views import download, private
from learning.extensions import db
from learning.privacy.erasure import ErasureError, erase_account
from learning.privacy.export import personal_data
from learning.privacy.forms import EraseOwnAccountForm, StaffEraseForm

bp = Blueprint("privacy", __name__, template_folder="templates")
STAFF = ("secretariat", "admin")


@bp.get("/account/data")
def my_data() -> str:
    return render_template("privacy/my_data.html", form=EraseOwnAccountForm())


@bp.get("/account/data/export.json")
def my_data_export() -> Response:
    data = personal_data(current_user)
    name = f"smart-port-academy-data-{data.generated_at:%Y-%m-%d}.json"
    return private(download(data.model_dump_json(indent=2).encode(), "application/json", name))


@bp.post("/account/erase")
def erase_mine() -> BaseResponse | tuple[str, int]:
    form = EraseOwnAccountForm()
    if form.validate_on_submit():
        if not verify_password(current_user.password_hash, form.password.data or ""):
            form.password.errors.append(_("That is not your password."))
        else:
            try:
                erase_account(current_user, current_user)
            except ErasureError as exc:  # erased in another tab a moment ago
                db.session.rollback()
                flash(exc.message, "error")
                return redirect(url_for("catalog.index"))
            db.session.commit()
            logout_user()
            session.clear()
            flash(_("Your account is erased. Thank you for learning with us."), "info")
            return redirect(url_for("catalog.index"))
    return render_template("privacy/my_data.html", form=form), 400


# --- the secretariat, on request ------------------------------------------------------------------------


def _erasable(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    if user.has_role("admin") and not current_user.has_role("admin"):
        abort(403)  # only an administrator erases an administrator
    return user


@bp.get("/secretariat/accounts")
def accounts() -> str:
    query = request.args.get("q", "").strip()[:254]
    # no address holds control characters (and PostgreSQL refuses a NUL in a query: a 500, not an answer)
    found = None
    if query and not has_control_characters(query):
        found = db.session.scalar(select(User).where(User.email == normalise_email(query)))
    erasures = list(
        db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "account.erase")
            .order_by(AuditEvent.id.desc())
            .limit(20)
        )
    )
    form = StaffEraseForm(certificates=current_app.config["ERASURE_CERTIFICATES"])
    return render_template("privacy/accounts.html", query=query, found=found, form=form, erasures=erasures)


@bp.post("/secretariat/accounts/<int:user_id>/erase")
def erase_account_on_request(user_id: int) -> BaseResponse | tuple[str, int]:
    user = _erasable(user_id)
    if user.erased_at is not None:
        flash(_("This account is already erased."), "info")
        return redirect(url_for("privacy.accounts"))
    form = StaffEraseForm()
    if form.validate_on_submit():
        if normalise_email(form.confirm_email.data or "") != user.email:
            form.confirm_email.errors.append(_("This is not the account's e-mail address."))
        elif user.id == current_user.id:
            form.confirm_email.errors.append(_("Erase your own account from your account page."))
        else:
            try:
                erase_account(user, current_user, form.certificates.data, (form.reason.data or "").strip())
            except ErasureError as exc:
                db.session.rollback()
                flash(exc.message, "error")
                return redirect(url_for("privacy.accounts"))
            db.session.commit()
            flash(_("The account is erased."), "success")
            return redirect(url_for("privacy.accounts"))
    return render_template("privacy/accounts.html", query=user.email, found=user, form=form, erasures=[]), 400
