"""The secretariat's forms: revoke, and reissue under the corrected name."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length

from learning.forms import Form


class RevokeForm(Form):
    reason = TextAreaField(
        _l("Reason for the revocation"),
        validators=[DataRequired(_l("Give the reason; the public page shows it.")), Length(max=500)],
    )
    submit = SubmitField(_l("Revoke this certificate"))


class ReissueForm(Form):
    reason = TextAreaField(
        _l("Reason for the reissue"),
        validators=[DataRequired(_l("Say why the name changed, for the audit trail.")), Length(max=500)],
    )
    submit = SubmitField(_l("Reissue with the corrected name"))
