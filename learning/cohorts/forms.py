"""Forms for cohorts: create one, add learners by list or CSV, accept an invitation."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import DateField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from learning.forms import Form


class CohortForm(Form):
    name = StringField(
        _l("Name (for example: Ministry of Transport, first quarter)"),
        validators=[DataRequired(), Length(max=200)],
    )
    starts_on = DateField(_l("Start date"), validators=[DataRequired()])
    due_on = DateField(_l("Due date"), validators=[DataRequired()])
    submit = SubmitField(_l("Create the cohort"))


class MembersForm(Form):
    emails = TextAreaField(_l("E-mail addresses, one per line"), validators=[Optional(), Length(max=200_000)])
    csv_file = FileField(_l("Or a CSV file with an 'email' column"))
    submit = SubmitField(_l("Check and add"))
