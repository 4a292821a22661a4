"""The reports by name, as pages, the API, export jobs and the monthly e-mail ask for them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from learning.reports import queries
from learning.reports.filters import Filters
from learning.reports.tables import Row, Table

LEARNER_CHUNK = 2000


@dataclass(frozen=True)
class Report:
    name: str
    title: object  # a lazy string


REPORTS = {
    r.name: r
    for r in (
        Report("headline", _l("Headline figures")),
        Report("trend", _l("Enrolments, completions and certificates by month")),
        Report("completion", _l("Completion")),
        Report("funnel", _l("From enrolment to certificate")),
        Report("time-to-complete", _l("Time to complete")),
        Report("quiz-pass-rates", _l("Quiz pass rates")),
        Report("reminders", _l("Reminders and returns")),
        Report("learners", _l("Learners who share their progress")),
    )
}


class UnknownReportError(LookupError):
    pass


def build(name: str, f: Filters, group_by: str | None = None) -> Table:
    """The whole table of report ``name`` (the learner list streamed in chunks, for exports)."""
    if name == "headline":
        return queries.headline(f)
    if name == "trend":
        return queries.trend(f)
    if name == "completion":
        return queries.completion(f, group_by or "country")
    if name == "funnel":
        return queries.funnel(f)
    if name == "time-to-complete":
        return queries.time_to_complete(f)
    if name == "quiz-pass-rates":
        return queries.quiz_pass_rates(f)
    if name == "reminders":
        return queries.reminders(f)
    if name == "learners":
        return queries.learner_table(f, all_learner_rows(f))
    raise UnknownReportError(name)


def all_learner_rows(f: Filters) -> Iterator[Row]:
    """Every row of the learner list, read in chunks so that memory stays flat however long it is."""
    ids = queries.learner_ids(f)
    for start in range(0, len(ids), LEARNER_CHUNK):
        yield from queries.learner_rows(ids[start : start + LEARNER_CHUNK])
