"""Recording audit events (flushed with the unit of work they describe)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from learning.audit.models import AuditEvent
from learning.db import utcnow
from learning.extensions import db


def record(
    action: str, *, actor_id: int | None, course_id: int | None = None, subject: str = "", **details: Any
) -> AuditEvent:
    """Add an audit event to the current transaction."""
    event = AuditEvent(
        at=utcnow(),
        actor_id=actor_id,
        action=action,
        course_id=course_id,
        subject=subject[:200],
        details=details,
    )
    db.session.add(event)
    return event


def recent(course_id: int | None = None, limit: int = 200, before_id: int | None = None) -> list[AuditEvent]:
    """The newest events first, for one course or all, a page at a time."""
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if course_id is not None:
        query = query.where(AuditEvent.course_id == course_id)
    if before_id is not None:
        query = query.where(AuditEvent.id < before_id)
    return list(db.session.scalars(query))
