"""Small action forms: each is only a CSRF-protected button."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import SubmitField

from learning.forms import Form


class EnrolForm(Form):
    submit = SubmitField(_l("Enrol in this course"))


class LeaveForm(Form):
    submit = SubmitField(_l("Leave this course"))


class CompleteLessonForm(Form):
    submit = SubmitField(_l("Mark as complete and continue"))
