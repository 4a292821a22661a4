"""The good practice library: accepted action plans that their authors offered to the secretariat.

A plan is in the library while it is accepted and its author keeps it shared; withdrawing it takes it out
at once. The author's name is shown only to those whose learners consented to share their progress with the
secretariat (the same rule as the rest of the reports); otherwise a plan is known by its country and
organisation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from learning.auth.choices import ORGANISATION_TYPE_LABELS, country_name
from learning.auth.models import User
from learning.capstone.models import CapstoneSubmission
from learning.catalog.models import CourseVersion
from learning.extensions import db
from learning.progress.models import Enrolment


@dataclass(frozen=True)
class SharedPlan:
    """One plan of the library, with what the secretariat may see of its author."""

    id: int
    country: str
    country_name: str
    organisation: str
    organisation_type: str
    author: str | None  # None unless the author consented to share their progress
    course_title: str
    accepted_at: datetime | None
    shared_at: datetime
    has_attachment: bool


def _shared() -> Any:
    return (
        select(CapstoneSubmission, User, CourseVersion.title, CourseVersion.capstone)
        .join(Enrolment, Enrolment.id == CapstoneSubmission.enrolment_id)
        .join(User, User.id == Enrolment.user_id)
        .join(CourseVersion, CourseVersion.id == Enrolment.version_id)
        .where(CapstoneSubmission.status == "accepted", CapstoneSubmission.shareable_at.is_not(None))
    )


def _plan(submission: CapstoneSubmission, user: User, course_title: str) -> SharedPlan:
    kind = user.organisation_type or ""
    return SharedPlan(
        id=submission.id,
        country=user.country or "",
        country_name=country_name(user.country) or "–",
        organisation=user.organisation or "",
        organisation_type=str(ORGANISATION_TYPE_LABELS.get(kind, kind)),
        author=user.full_name if user.consent_share_progress_at is not None else None,
        course_title=course_title,
        accepted_at=submission.reviewed_at,
        shared_at=submission.shareable_at or submission.reviewed_at or submission.updated_at,
        has_attachment=submission.attachment_key is not None,
    )


def shared_plans(country: str | None = None) -> list[SharedPlan]:
    """Every plan in the library (of ``country``, an ISO code, if given), by country, newest first."""
    query = _shared()
    if country:
        query = query.where(User.country == country)
    plans = [_plan(submission, user, title) for submission, user, title, _ in db.session.execute(query)]
    plans.sort(key=lambda p: p.shared_at, reverse=True)
    plans.sort(key=lambda p: (p.country_name.casefold(), p.organisation.casefold()))
    return plans


def shared_plan(submission_id: int) -> tuple[SharedPlan, CapstoneSubmission, list[dict[str, Any]]] | None:
    """The plan with its template's sections (slug, title) in order, or None if it is not in the library."""
    row = db.session.execute(_shared().where(CapstoneSubmission.id == submission_id)).first()
    if row is None:
        return None
    submission, user, course_title, capstone = row
    capstone = capstone or {}
    sections = [{"slug": s["slug"], "title": s["title"]} for s in capstone.get("sections", [])]
    return _plan(submission, user, course_title), submission, sections


def plan_markdown(plan: SharedPlan, submission: CapstoneSubmission, sections: list[dict[str, Any]]) -> str:
    """The plan as a Markdown document to download: its heading, who and where, then each section."""
    lines = [f"# {plan.course_title}: action plan", ""]
    lines.append(f"- Country: {plan.country_name}")
    if plan.organisation:
        lines.append(f"- Organisation: {plan.organisation} ({plan.organisation_type})")
    if plan.author:
        lines.append(f"- Author: {plan.author}")
    if plan.accepted_at:
        lines.append(f"- Accepted: {plan.accepted_at.date().isoformat()}")
    lines.append("")
    for section in sections:
        lines += [f"## {section['title']}", "", str(submission.sections.get(section["slug"], "")).strip(), ""]
    return "\n".join(lines).rstrip() + "\n"
