"""Every figure of the reports, computed in one place: pages, the API, exports and the monthly e-mail all
call these functions, so that they cannot disagree.

Reports count enrolments (one row per learner and course, whose completion state is kept up to date as
progress is written) joined with their learners; they never re-aggregate lesson completions. The
definitions are in the README ("Reports") and on the reports page.
"""

from learning.reports.queries.base import courses, modules
from learning.reports.queries.completion import (
    GROUP_LABELS,
    GROUP_TITLES,
    GROUPS,
    certificates_issued,
    completion,
    funnel,
    headline,
    trend,
)
from learning.reports.queries.details import (
    learner_count,
    learner_ids,
    learner_rows,
    learner_table,
    percentile,
    quiz_pass_rates,
    reminders,
    time_to_complete,
)

__all__ = [
    "GROUPS",
    "GROUP_LABELS",
    "GROUP_TITLES",
    "certificates_issued",
    "completion",
    "courses",
    "funnel",
    "headline",
    "learner_count",
    "learner_ids",
    "learner_rows",
    "learner_table",
    "modules",
    "percentile",
    "quiz_pass_rates",
    "reminders",
    "time_to_complete",
    "trend",
]
