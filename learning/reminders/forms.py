"""The learner's reminder preferences."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, SubmitField

from learning.forms import Form
from learning.reminders.models import ALL, RULES

RULE_LABELS = {
    "inactivity": _l("When I have not studied a course for a while"),
    "deadline": _l("When my cohort's due date is a week away, and the day before"),
    "certificate": _l("When my certificate is ready and I have not downloaded it yet"),
    "quiz_failed": _l("When a quiz has not gone my way twice, with tips to try again"),
}
assert set(RULE_LABELS) == set(RULES)


class PreferencesForm(Form):
    inactivity = BooleanField(RULE_LABELS["inactivity"])
    deadline = BooleanField(RULE_LABELS["deadline"])
    certificate = BooleanField(RULE_LABELS["certificate"])
    quiz_failed = BooleanField(RULE_LABELS["quiz_failed"])
    stop_all = BooleanField(_l("Send me no reminder e-mails at all"))
    submit = SubmitField(_l("Save my preferences"))

    def load(self, opt_outs: set[str]) -> None:
        for rule in RULES:
            self[rule].data = rule not in opt_outs
        self.stop_all.data = ALL in opt_outs

    def opt_outs(self) -> set[str]:
        chosen = {rule for rule in RULES if not self[rule].data}
        return chosen | {ALL} if self.stop_all.data else chosen


class UnsubscribeForm(Form):
    """The confirm button of an unsubscribe link; the signed token stands in for the CSRF token, as
    mail programs post RFC 8058's one-click request without one."""

    class Meta:
        csrf = False

    submit = SubmitField(_l("Unsubscribe"))
