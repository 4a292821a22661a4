"""The day's reminder e-mail of each learner: what is still due in it, rendered in their language."""

from __future__ import annotations

import email.policy
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from email.message import EmailMessage

from flask import current_app, render_template
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _
from sqlalchemy import select, tuple_
from sqlalchemy.orm import joinedload, selectinload

from learning.catalog.models import Course, CourseVersion, Module
from learning.cohorts.models import Cohort
from learning.extensions import babel, db
from learning.mail import build_message
from learning.progress.models import Enrolment
from learning.quizzes.models import Quiz
from learning.reminders.links import external_url, unsubscribe_token
from learning.reminders.models import ALL, ReminderBundle, ReminderOptOut, ReminderSending

# List-Unsubscribe must stay a plain <address>: folded to 78 columns, a long one would become an
# RFC 2047 encoded word, which mail programs do not decode there. RFC 5322 allows lines of 998; with
# them the body of an ASCII e-mail also goes as 7bit, without the costly quoted-printable trial.
LONG_LINES = email.policy.default.clone(max_line_length=998)


@dataclass
class Item:
    """One reminder in an e-mail, with what its text needs."""

    rule: str
    course_title: str
    link: str
    unsubscribe: str  # stops this kind of reminder only
    percent: int = 0
    cohort_name: str = ""
    due_on: date | None = None
    days_left: int = 0
    module_title: str = ""


@dataclass
class Email:
    bundle: ReminderBundle
    items: list[Item] = field(default_factory=list)


def _subject_id(sending: ReminderSending) -> str:
    return sending.subject.split(":", 1)[1] if ":" in sending.subject else ""


def load(bundle_ids: list[int]) -> list[Email]:
    """Load the e-mails with their reminders that are still due, in a fixed number of queries.

    A reminder decided minutes ago is dropped if the learner has since unsubscribed from it, been
    deactivated, left or completed the course (but for "certificate"), or the course was archived.
    """
    bundles = db.session.scalars(
        select(ReminderBundle)
        .where(ReminderBundle.id.in_(bundle_ids))
        .options(joinedload(ReminderBundle.user), selectinload(ReminderBundle.sendings))
        .order_by(ReminderBundle.id)
    ).all()
    user_ids = {b.user_id for b in bundles}
    refused: dict[int, set[str]] = defaultdict(set)
    for user_id, rule in db.session.execute(
        select(ReminderOptOut.user_id, ReminderOptOut.rule).where(ReminderOptOut.user_id.in_(user_ids))
    ):
        refused[user_id].add(rule)
    enrolments = {
        (e.user_id, e.course_id): (e, slug, status, title)
        for e, slug, status, title in db.session.execute(
            select(Enrolment, Course.slug, Course.status, CourseVersion.title)
            .join(Course, Course.id == Enrolment.course_id)
            .join(CourseVersion, CourseVersion.id == Course.current_version_id)
            .where(Enrolment.user_id.in_(user_ids))
        )
    }
    sendings = [s for b in bundles for s in b.sendings]
    cohort_ids = {int(_subject_id(s)) for s in sendings if s.rule == "deadline"}
    cohorts = (
        {c.id: c for c in db.session.scalars(select(Cohort).where(Cohort.id.in_(cohort_ids)))}
        if cohort_ids
        else {}
    )
    module_keys = {
        (enrolments[(s.user_id, s.course_id)][0].version_id, _subject_id(s))
        for s in sendings
        if s.rule == "quiz_failed" and (s.user_id, s.course_id) in enrolments
    }
    modules = (
        {
            (version_id, slug): (title, quiz_id)
            for version_id, slug, title, quiz_id in db.session.execute(
                select(Module.version_id, Module.slug, Module.title, Quiz.id)
                .join(Quiz, Quiz.module_id == Module.id)
                .where(tuple_(Module.version_id, Module.slug).in_(module_keys))
            )
        }
        if module_keys
        else {}
    )

    emails = []
    for bundle in bundles:
        email = Email(bundle)
        if bundle.user.active and ALL not in refused[bundle.user_id]:
            for sending in bundle.sendings:
                item = _item(sending, bundle, refused[bundle.user_id], enrolments, cohorts, modules)
                if item is not None:
                    email.items.append(item)
        emails.append(email)
    return emails


def _item(
    sending: ReminderSending,
    bundle: ReminderBundle,
    refused: set[str],
    enrolments: dict[tuple[int, int], tuple[Enrolment, str, str, str]],
    cohorts: dict[int, Cohort],
    modules: dict[tuple[int, str], tuple[str, int]],
) -> Item | None:
    found = enrolments.get((sending.user_id, sending.course_id))
    if sending.rule in refused or found is None:
        return None
    enrolment, slug, course_status, title = found
    if enrolment.status != "active" or course_status != "active":
        return None
    if sending.rule != "certificate" and enrolment.completed_at is not None:
        return None
    item = Item(
        rule=sending.rule,
        course_title=title,
        link=external_url("progress.continue_course", slug=slug),
        unsubscribe=external_url(
            "reminders.unsubscribe", token=unsubscribe_token(sending.user_id, sending.rule)
        ),
        percent=enrolment.percent,
    )
    if sending.rule == "deadline":
        cohort = cohorts.get(int(_subject_id(sending)))
        if cohort is None:
            return None
        item.cohort_name = cohort.name
        item.due_on = cohort.due_on
        item.days_left = (cohort.due_on - bundle.local_date).days
        if item.days_left < 0:
            return None
    elif sending.rule == "certificate":
        # the course page lists the learner's certificate (until learning/certificates has its own)
        item.link = external_url("catalog.course", slug=slug)
    elif sending.rule == "quiz_failed":
        module = modules.get((enrolment.version_id, _subject_id(sending)))
        if module is None:
            return None
        item.module_title, quiz_id = module
        item.link = external_url("quizzes.take", quiz_id=quiz_id)
    return item


def locale_for(language: str) -> str:
    """The learner's language if the site is translated into it, else the default."""
    available = {str(locale) for locale in babel.list_translations()}
    return language if language in available else current_app.config["BABEL_DEFAULT_LOCALE"]


def _subject(items: list[Item]) -> str:
    if len(items) > 1:
        return ngettext(
            "%(num)d reminder from Smart Port Academy",
            "%(num)d reminders from Smart Port Academy",
            len(items),
        )
    item = items[0]
    if item.rule == "deadline":
        if item.days_left == 0:
            return _("%(cohort)s: the course is due today", cohort=item.cohort_name)
        return ngettext(
            "%(cohort)s: the course is due tomorrow",
            "%(cohort)s: the course is due in %(num)d days",
            item.days_left,
            cohort=item.cohort_name,
        )
    if item.rule == "quiz_failed":
        return _("Another try at the quiz on %(module)s?", module=item.module_title)
    if item.rule == "certificate":
        return _("Your certificate for %(course)s is waiting for you", course=item.course_title)
    return _("Your course is waiting: %(course)s", course=item.course_title)


def message(email: Email) -> EmailMessage:
    """Render the multipart e-mail, in the learner's language, with a one-click unsubscribe (RFC 8058)."""
    user = email.bundle.user
    unsubscribe = external_url("reminders.unsubscribe", token=unsubscribe_token(user.id, ALL))
    context = {
        "user": user,
        "items": email.items,
        "unsubscribe": unsubscribe,
        "preferences": external_url("reminders.preferences"),
    }
    with force_locale(locale_for(user.language)):
        return build_message(
            user.email,
            _subject(email.items),
            render_template("reminders/email/bundle.txt", **context),
            render_template("reminders/email/bundle.html", **context),
            headers={
                "List-Unsubscribe": f"<{unsubscribe}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            },
            policy=LONG_LINES,
        )
