"""The export's shape: one pydantic model per section, so that the API's OpenAPI document describes it."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field

FORMAT = "smart-port-academy/personal-data/1"


class ExportProfile(BaseModel):
    id: int
    email: str
    name: str
    country: str | None
    organisation: str | None
    organisation_type: str | None
    job_title: str | None
    language: str
    timezone: str
    roles: list[str]
    active: bool
    created_at: datetime
    password_changed_at: datetime | None
    last_login_at: datetime | None
    locked_until: datetime | None


class ExportConsent(BaseModel):
    share_progress_with_secretariat: bool
    given_at: datetime | None


class ExportEnrolment(BaseModel):
    course: str
    course_title: str
    version: int
    status: str
    enrolled_at: datetime
    left_at: datetime | None
    started_at: datetime | None
    halfway_at: datetime | None
    completed_at: datetime | None
    completed_version: int | None
    percent: int
    last_activity_at: datetime | None


class ExportLessonCompletion(BaseModel):
    course: str
    lesson: str
    version: int
    completed_at: datetime


class ExportModuleState(BaseModel):
    course: str
    module: str
    best_score: int | None
    attempts: int
    failed_attempts: int
    last_attempt_at: datetime | None
    quiz_passed_at: datetime | None
    completed_at: datetime | None


class ExportQuizAttempt(BaseModel):
    id: int
    course: str
    module: str
    quiz_id: int
    score: int
    passed: bool
    answers: dict[str, Any] = Field(description="{question slug: [choice positions]}")
    results: list[dict[str, Any]]
    submitted_at: datetime


class ExportCertificateEvent(BaseModel):
    kind: str
    reason: str | None
    created_at: datetime


class ExportCertificate(BaseModel):
    serial: str
    code: str
    verify_url: str
    status: str
    holder_name: str
    course: str
    course_title: str
    hours: float
    completed_at: datetime
    issued_at: datetime
    revoked_at: datetime | None
    revocation_reason: str | None
    superseded_at: datetime | None
    email_sent_at: datetime | None
    downloaded_at: datetime | None
    events: list[ExportCertificateEvent]


class ExportAttachment(BaseModel):
    name: str | None
    type: str | None
    size: int | None


class ExportReview(BaseModel):
    decision: str
    comment: str
    reviewed_at: datetime


class ExportCapstonePlan(BaseModel):
    course: str
    status: str
    sections: dict[str, Any]
    attachment: ExportAttachment | None
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None
    reviewed_at: datetime | None
    shared_as_example_since: datetime | None
    reviews: list[ExportReview]


class ExportCohort(BaseModel):
    cohort: str
    course: str
    starts_on: date
    due_on: date
    joined_at: datetime


class ExportCohortInvitation(BaseModel):
    cohort: str
    email: str
    created_at: datetime
    expires_at: datetime
    accepted_at: datetime | None


class ExportReminderPreference(BaseModel):
    opted_out_of: str
    since: datetime


class ExportReminder(BaseModel):
    rule: str
    course: str
    subject: str
    period: str
    local_date: date
    decided_at: datetime


class ExportReminderEmail(BaseModel):
    local_date: date
    status: str
    attempts: int
    created_at: datetime
    sent_at: datetime | None
    error: str | None
    reminders: list[ExportReminder]


class ExportReminders(BaseModel):
    preferences: list[ExportReminderPreference]
    emails: list[ExportReminderEmail]
    reminders_not_yet_emailed: list[ExportReminder]


class ExportCredential(BaseModel):
    """An API token or a web session: when it was made and until when it works; never its secret."""

    id: int
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None


class ExportPasswordReset(BaseModel):
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None


class ExportSignIn(BaseModel):
    kind: str
    address: str
    succeeded: bool
    at: datetime


class ExportAuditEvent(BaseModel):
    at: datetime
    action: str
    by_you: bool
    course: str | None
    subject: str
    details: dict[str, Any]


class ExportOfflineEvent(BaseModel):
    client_id: str
    type: str
    created_at: datetime


class ExportCourseMembership(BaseModel):
    course: str
    role: str
    added_at: datetime


class ExportReportExport(BaseModel):
    report: str
    format: str
    status: str
    file_name: str
    created_at: datetime


class ExportReportMailing(BaseModel):
    period: str
    sent_at: datetime | None


class PersonalDataOut(BaseModel):
    """Everything the platform holds about you (secrets such as passwords and token values excepted:
    only their hashes are stored, and those are not yours to need)."""

    format: str = Field(description=f"always {FORMAT!r}")
    generated_at: datetime
    profile: ExportProfile
    consent: ExportConsent
    enrolments: list[ExportEnrolment]
    lesson_completions: list[ExportLessonCompletion]
    module_states: list[ExportModuleState]
    quiz_attempts: list[ExportQuizAttempt]
    certificates: list[ExportCertificate]
    capstone_plans: list[ExportCapstonePlan]
    cohorts: list[ExportCohort]
    cohort_invitations: list[ExportCohortInvitation]
    reminders: ExportReminders
    api_tokens: list[ExportCredential]
    sessions: list[ExportCredential]
    password_resets: list[ExportPasswordReset]
    sign_ins: list[ExportSignIn]
    audit_events: list[ExportAuditEvent]
    offline_events: list[ExportOfflineEvent]
    course_memberships: list[ExportCourseMembership]
    report_exports: list[ExportReportExport]
    report_mailings: list[ExportReportMailing]
