"""The base of every form: Flask-WTF's FlaskForm, fed only what a browser's form can send to each field."""

from __future__ import annotations

from typing import Any

from flask import request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm

# Flask-WTF's marker for "read the request" (formdata not given), the only case changed here, and its test
# of a submission (POST, PUT, PATCH or DELETE)
from flask_wtf.form import _Auto, _is_submitted
from werkzeug.datastructures import MultiDict
from wtforms import Field
from wtforms.validators import ValidationError

from learning.auth.choices import has_control_characters

FILE_FIELDS = frozenset({"FileField", "MultipleFileField"})
FORM_BODIES = frozenset({"multipart/form-data", "application/x-www-form-urlencoded"})


class Form(FlaskForm):
    """A FlaskForm whose text fields read only text and whose file fields read only files.

    Flask-WTF lets the files of a multipart body stand in for any field, and turns a JSON body into form
    data: a file where a password was expected, or a number or a list from JSON, then reached validators
    and views that expect a string, and answered 500 (found by tests/fuzz). Here a text field takes its
    value from the text parts of the body only, a file field from the files only, and a body that is not
    a form's (JSON, XML, anything else) gives an empty form, which fails validation as a browser's would.

    No text field accepts a NUL character: no browser sends one in what a person typed, and PostgreSQL
    cannot store one (a review comment with a NUL answered 500 there, found by tests/fuzz at 1,000 cases).
    """

    def validate(self, extra_validators: Any = None) -> bool:
        valid: bool = super().validate(extra_validators)
        for field in self:
            # a field its own validators refused already (for control characters, say) shows one message
            if isinstance(field.data, str) and "\x00" in field.data and not field.errors:
                field.errors = [*field.errors, str(_l("Remove the NUL character from this field."))]
                valid = False
        return valid

    class Meta(FlaskForm.Meta):
        def wrap_formdata(self, form: Any, formdata: Any) -> Any:
            if formdata is not _Auto or not _is_submitted():
                return super().wrap_formdata(form, formdata)
            if request.mimetype not in FORM_BODIES or not (request.form or request.files):
                return None
            files = {name for name, field in form._fields.items() if field.type in FILE_FIELDS}
            data: MultiDict[str, Any] = MultiDict(
                (key, value) for key, value in request.form.items(multi=True) if key not in files
            )
            for key, value in request.files.items(multi=True):
                if key in files:
                    data.add(key, value)
            return data


def no_control_characters(form: Form, field: Field) -> None:
    """A validator for one-line text fields (names, addresses): no control character, line breaks included."""
    if field.data and has_control_characters(field.data):
        raise ValidationError(_l("Remove the control characters (such as line breaks) from this field."))
