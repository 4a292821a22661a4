"""The capstone's forms: the learner's plan (its section texts come from the template), sharing, review."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import BooleanField, SubmitField, TextAreaField
from wtforms.validators import Length

from learning.forms import Form


class PlanForm(Form):
    # the section texts are fields named section-<slug>, one per section of the course's template
    attachment = FileField(_l("Attachment (optional): a PDF or Word (DOCX) file of at most 10 MB"))
    save = SubmitField(_l("Save the draft"))
    submit = SubmitField(_l("Submit for review"))


class ShareForm(Form):
    shareable = BooleanField(_l("Share my accepted plan with the secretariat as a national good practice"))
    submit = SubmitField(_l("Save my choice"))


class ReviewForm(Form):
    comment = TextAreaField(_l("Comments for the learner"), validators=[Length(max=20_000)])
    accept = SubmitField(_l("Accept the plan"))
    send_back = SubmitField(_l("Return with comments"))
