"""Small action forms: each is only a CSRF-protected button."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SubmitField


class EnrolForm(FlaskForm):
    submit = SubmitField(_l("Enrol in this course"))


class LeaveForm(FlaskForm):
    submit = SubmitField(_l("Leave this course"))


class CompleteLessonForm(FlaskForm):
    submit = SubmitField(_l("Mark as complete and continue"))
