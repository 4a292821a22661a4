"""One-click unsubscribe (signed link, no sign-in) and the learner's reminder preferences."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from learning.auth.models import User
from learning.extensions import db
from learning.reminders import services
from learning.reminders.forms import RULE_LABELS, PreferencesForm, UnsubscribeForm
from learning.reminders.links import BadTokenError, read_unsubscribe_token
from learning.reminders.models import ALL

bp = Blueprint("reminders", __name__, template_folder="templates")

MAX_TOKEN_LENGTH = 200


def _bad_link() -> tuple[str, int]:
    return render_template("reminders/bad_link.html"), 400


@bp.route("/reminders/unsubscribe/<token>", methods=["GET", "POST"])
def unsubscribe(token: str) -> str | tuple[str, int]:
    """GET shows a confirm button and changes nothing; POST (the button, or a mail program's RFC 8058
    one-click request) unsubscribes."""
    if len(token) > MAX_TOKEN_LENGTH:
        return _bad_link()
    try:
        user_id, rule = read_unsubscribe_token(token)
    except BadTokenError:
        return _bad_link()
    user = db.session.get(User, user_id)
    if user is None:
        return _bad_link()
    what = _("all reminder e-mails") if rule == ALL else RULE_LABELS[rule]
    form = UnsubscribeForm()
    if request.method == "POST":
        services.opt_out(user.id, rule)
        db.session.commit()
        return render_template("reminders/unsubscribed.html", user=user, what=what, rule=rule)
    return render_template("reminders/unsubscribe.html", form=form, user=user, what=what, rule=rule)


@bp.route("/account/reminders", methods=["GET", "POST"])
def preferences() -> str | Response:
    form = PreferencesForm()
    if form.validate_on_submit():
        services.set_opt_outs(current_user.id, form.opt_outs())
        db.session.commit()
        flash(_("Your reminder preferences are saved."), "success")
        return redirect(url_for("reminders.preferences"))
    if request.method == "GET":
        form.load(services.opt_outs(current_user.id))
    return render_template("reminders/preferences.html", form=form)
