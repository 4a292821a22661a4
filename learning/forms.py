"""The base of every form: Flask-WTF's FlaskForm, fed only what a browser's form can send to each field."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from flask import request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm

# Flask-WTF's marker for "read the request" (formdata not given), the only case changed here, and its test
# of a submission (POST, PUT, PATCH or DELETE)
from flask_wtf.form import _Auto, _is_submitted
from markupsafe import Markup, escape
from werkzeug.datastructures import MultiDict
from wtforms import Field, SelectField
from wtforms.validators import ValidationError
from wtforms.widgets import Select, html_params

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


class LongSelect(Select):
    """A single-choice select for long fixed lists (countries, time zones, languages): the options' markup
    is made once per list and language, and each render marks only the selected option.

    WTForms' own widget escapes and formats every option on every render: the 850 options of the profile
    form were most of the 37 ms of CPU that the registration page took (cProfile); with this widget the
    page takes a fraction of that and its HTML is the same.
    """

    def __call__(self, field: SelectField, **kwargs: Any) -> Markup:
        kwargs.setdefault("id", field.id)
        for name in dir(field.flags):
            if name in self.validation_attrs and name not in kwargs:
                kwargs[name] = getattr(field.flags, name)
        choices = field.iter_choices()
        options = list(_options(tuple((str(c.value), str(c.label or c.value)) for c in choices)))
        for index, choice in enumerate(choices):
            if choice.selected:
                options[index] = options[index].replace("<option ", "<option selected ", 1)
        # every value and label was escaped by _options, the attributes by html_params
        select = f"<select {html_params(name=field.name, **kwargs)}>{''.join(options)}</select>"
        return Markup(select)  # noqa: S704  # nosec B704  # nosemgrep: markup-constructor


@lru_cache(maxsize=64)
def _options(pairs: tuple[tuple[str, str], ...]) -> tuple[str, ...]:
    return tuple(f'<option value="{escape(value)}">{escape(label)}</option>' for value, label in pairs)
