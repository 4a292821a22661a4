"""Forms for erasing an account: the learner's own, and the secretariat's on request."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, PasswordField, RadioField, StringField, SubmitField
from wtforms.validators import DataRequired, InputRequired, Length

from learning.auth.choices import options
from learning.auth.passwords import MAX_LENGTH
from learning.forms import Form, no_control_characters


class EraseOwnAccountForm(Form):
    password = PasswordField(_l("Your password"), validators=[DataRequired(), Length(max=MAX_LENGTH)])
    understood = BooleanField(
        _l("I understand that this cannot be undone: my account, profile and plans are gone for good."),
        validators=[DataRequired(_l("Tick the box to confirm."))],
    )
    submit = SubmitField(_l("Erase my account"))


class StaffEraseForm(Form):
    confirm_email = StringField(
        _l("Type the account's e-mail address to confirm"),
        validators=[DataRequired(), Length(max=254), no_control_characters],
    )
    certificates = RadioField(
        _l("Certificates already issued"),
        choices=options(
            [
                ("keep", _l("Keep them: they still verify, as issued to a deleted account")),
                ("revoke", _l("Revoke them")),
            ]
        ),
        validators=[InputRequired()],
    )
    reason = StringField(
        _l("Request (reference or reason, for the audit log)"),
        validators=[DataRequired(), Length(max=200), no_control_characters],
    )
    submit = SubmitField(_l("Erase this account"))
