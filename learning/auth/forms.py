"""Forms for registration, sign-in, passwords and the profile."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, Field, PasswordField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional, ValidationError

from learning.auth import choices
from learning.auth.passwords import MAX_LENGTH, password_problem
from learning.forms import Form, LongSelect, no_control_characters


def _strip(value: Any) -> Any:
    return choices.clean_text(value) if isinstance(value, str) else value


def _new_password_ok(form: Form, field: Field) -> None:
    email = getattr(getattr(form, "email", None), "data", "") or ""
    problem = password_problem(field.data or "", email)
    if problem:
        raise ValidationError(problem)


class ProfileFields(Form):
    full_name = StringField(
        _l("Full name, as it should appear on your certificate"),
        validators=[DataRequired(), Length(max=200), no_control_characters],
        filters=[_strip],
    )
    country = SelectField(_l("Country"), validators=[DataRequired()], widget=LongSelect())
    organisation = StringField(
        _l("Organisation"), validators=[Optional(), Length(max=200), no_control_characters], filters=[_strip]
    )
    organisation_type = SelectField(_l("Type of organisation"), validators=[DataRequired()])
    job_title = StringField(
        _l("Job title"), validators=[Optional(), Length(max=200), no_control_characters], filters=[_strip]
    )
    language = SelectField(
        _l("Preferred language"), validators=[DataRequired()], default="en", widget=LongSelect()
    )
    timezone = SelectField(_l("Time zone"), validators=[DataRequired()], default="UTC", widget=LongSelect())
    consent_share_progress = BooleanField(
        _l(
            "I agree that the ESCAP secretariat may see my individual progress (otherwise I am counted "
            "only in totals). I can withdraw this at any time."
        )
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.country.choices = choices.options([("", _l("Choose a country")), *choices.countries()])
        self.organisation_type.choices = choices.options(
            [("", _l("Choose a type")), *choices.ORGANISATION_TYPE_LABELS.items()]
        )
        self.language.choices = choices.options(choices.languages())
        self.timezone.choices = choices.options([(tz, tz) for tz in choices.timezones()])


class RegistrationForm(ProfileFields):
    email = EmailField(
        _l("E-mail address"), validators=[DataRequired(), Email(), Length(max=254)], filters=[_strip]
    )
    password = PasswordField(
        _l("Password (at least 8 characters; a long passphrase is best)"),
        validators=[DataRequired(), Length(max=MAX_LENGTH), _new_password_ok],
    )
    confirm = PasswordField(
        _l("Repeat the password"),
        validators=[DataRequired(), EqualTo("password", _l("The passwords differ."))],
    )
    submit = SubmitField(_l("Create my account"))


class ProfileForm(ProfileFields):
    submit = SubmitField(_l("Save"))


class LoginForm(Form):
    email = EmailField(_l("E-mail address"), validators=[DataRequired(), Length(max=254)], filters=[_strip])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=MAX_LENGTH)])
    submit = SubmitField(_l("Sign in"))


class ChangePasswordForm(Form):
    current_password = PasswordField(
        _l("Current password"), validators=[DataRequired(), Length(max=MAX_LENGTH)]
    )
    password = PasswordField(
        _l("New password"), validators=[DataRequired(), Length(max=MAX_LENGTH), _new_password_ok]
    )
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[DataRequired(), EqualTo("password", _l("The passwords differ."))],
    )
    submit = SubmitField(_l("Change password"))


class ForgotPasswordForm(Form):
    email = EmailField(
        _l("E-mail address"), validators=[DataRequired(), Email(), Length(max=254)], filters=[_strip]
    )
    submit = SubmitField(_l("Send me a reset link"))


class ResetPasswordForm(Form):
    password = PasswordField(
        _l("New password"), validators=[DataRequired(), Length(max=MAX_LENGTH), _new_password_ok]
    )
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[DataRequired(), EqualTo("password", _l("The passwords differ."))],
    )
    submit = SubmitField(_l("Set the new password"))


class ConfirmRegistrationForm(Form):
    submit = SubmitField(_l("Confirm and sign in"))


class LogoutForm(Form):
    submit = SubmitField(_l("Sign out"))
