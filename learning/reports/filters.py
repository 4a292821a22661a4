"""The filters every report takes, read from query parameters with clear messages for bad values."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from learning.auth.choices import country_codes, has_control_characters
from learning.auth.models import ORGANISATION_TYPES
from learning.catalog.models import Course, CourseVersion
from learning.cohorts.models import Cohort
from learning.extensions import db
from learning.urls import whole_number

# The query parameters, in the order forms and links write them.
PARAMS = ("course", "version", "country", "organisation_type", "organisation", "cohort", "from", "to")
MAX_TEXT = 200


class FilterError(Exception):
    """Some parameters are not valid; ``fields`` maps each to its message."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in fields.items()))
        self.fields = fields


@dataclass(frozen=True)
class Filters:
    """What to count. ``date_from`` and ``date_to`` are whole UTC days, both included."""

    course_id: int | None = None
    course_slug: str | None = None
    version_id: int | None = None
    version_number: int | None = None
    country: str | None = None
    organisation_type: str | None = None
    organisation: str | None = None
    cohort_id: int | None = None
    cohort_course_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None
    extra: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def start(self) -> datetime | None:
        """The first instant of the period (UTC), if it has a start."""
        return datetime.combine(self.date_from, time.min, UTC) if self.date_from else None

    @property
    def end(self) -> datetime | None:
        """The first instant after the period (UTC), if it has an end (a period to 9999-12-31, the last day
        there is, has none: the URL fuzzer found the day after it answering 500)."""
        if self.date_to is None or self.date_to == date.max:
            return None
        return datetime.combine(self.date_to + timedelta(days=1), time.min, UTC)

    def params(self) -> dict[str, str]:
        """The filters as query parameters (for links, forms and stored export jobs)."""
        values: dict[str, Any] = {
            "course": self.course_slug,
            "version": self.version_number,
            "country": self.country,
            "organisation_type": self.organisation_type,
            "organisation": self.organisation,
            "cohort": self.cohort_id,
            "from": self.date_from.isoformat() if self.date_from else None,
            "to": self.date_to.isoformat() if self.date_to else None,
        }
        return {k: str(v) for k, v in values.items() if v not in (None, "")}

    def with_(self, **changes: Any) -> Filters:
        return replace(self, **changes)


def _date(value: str, name: str, errors: dict[str, str]) -> date | None:
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors[name] = _("Give a date as YYYY-MM-DD.")
        return None


def _int(value: str, name: str, errors: dict[str, str]) -> int | None:
    number = whole_number(value, 999_999_999)
    if number is None:
        errors[name] = _("Give a whole number.")
    return number


def parse_filters(args: Mapping[str, str]) -> Filters:
    """Read the filters from query parameters; raise FilterError naming every bad one."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    get = {name: (args.get(name) or "").strip() for name in PARAMS}
    for name, value in get.items():
        if len(value) > MAX_TEXT:
            errors[name] = _("This value is too long.")
            get[name] = ""
        elif has_control_characters(value):
            # no course, organisation or date has one; a NUL in ?course= answered 500 on PostgreSQL
            # (found by the API fuzzer at 10,000 calls)
            errors[name] = _("Remove the control characters from this value.")
            get[name] = ""

    if get["course"]:
        course = db.session.scalar(select(Course).where(Course.slug == get["course"]))
        if course is None:
            errors["course"] = _("There is no course %(slug)s.", slug=get["course"])
        else:
            values.update(course_id=course.id, course_slug=course.slug)
    if get["version"]:
        number = _int(get["version"], "version", errors)
        if number is not None and "course_id" not in values and "course" not in errors:
            errors["version"] = _("Choose a course to filter by one of its versions.")
        elif number is not None and "course_id" in values:
            version_id = db.session.scalar(
                select(CourseVersion.id).where(
                    CourseVersion.course_id == values["course_id"],
                    CourseVersion.number == number,
                    CourseVersion.published_at.is_not(None),
                )
            )
            if version_id is None:
                errors["version"] = _("This course has no published version %(n)s.", n=number)
            else:
                values.update(version_id=version_id, version_number=number)
    if get["country"]:
        code = get["country"].upper()
        if code not in country_codes():
            errors["country"] = _("Give a country as its ISO 3166-1 alpha-2 code, e.g. TH.")
        else:
            values["country"] = code
    if get["organisation_type"]:
        if get["organisation_type"] not in ORGANISATION_TYPES:
            errors["organisation_type"] = _("Choose one of: %(types)s.", types=", ".join(ORGANISATION_TYPES))
        else:
            values["organisation_type"] = get["organisation_type"]
    if get["organisation"]:
        values["organisation"] = get["organisation"]
    if get["cohort"]:
        cohort_id = _int(get["cohort"], "cohort", errors)
        if cohort_id is not None:
            course_of_cohort = cohort_course(cohort_id)
            if course_of_cohort is None:
                errors["cohort"] = _("There is no cohort %(id)s.", id=cohort_id)
            else:
                values.update(cohort_id=cohort_id, cohort_course_id=course_of_cohort)
    start = _date(get["from"], "from", errors) if get["from"] else None
    end = _date(get["to"], "to", errors) if get["to"] else None
    if start and end and start > end:
        errors["to"] = _("The end of the period comes before its start.")
    values.update(date_from=start, date_to=end)
    if errors:
        raise FilterError(errors)
    return Filters(**values)


def cohort_course(cohort_id: int) -> int | None:
    """The course of a cohort, or None when there is no such cohort."""
    return db.session.scalar(select(Cohort.course_id).where(Cohort.id == cohort_id))
