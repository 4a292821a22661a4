"""Certificates: issued by a task when a course is completed, as a PDF and a signed Open Badges 3.0
credential, verifiable in public and offline, revocable and reissued on a name correction."""

from __future__ import annotations

from flask import Flask


def enqueue_issue(enrolment_id: int) -> None:
    """Course-completion listener: queue the certificate (called after the completion's commit), unless
    an issuing task queued for an earlier completion has not started yet: that one will take it."""
    from learning.certificates import services
    from learning.certificates.tasks import issue_certificate

    if services.wake_issuing():
        issue_certificate.delay(enrolment_id)


def init_app(app: Flask) -> None:
    """Hook issuance into course completion (once per process, however many apps are made)."""
    from learning.progress.services import course_completed_listeners

    if enqueue_issue not in course_completed_listeners:
        course_completed_listeners.append(enqueue_issue)
