"""Where each piece of a person's data goes in the export, and what erasure does with it.

Every column that points at a user, directly or through a row the user owns (an enrolment, a plan, a
certificate, a reminder e-mail), is named here; tests/privacy walks ``db.metadata`` and fails when a new
one is not, so that a new table holding a user's data cannot be forgotten by the export or by erasure.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Handling:
    export: str | None  # the export's top-level key, or None (then ``why`` says why it is not theirs)
    erase: str  # what erasure does with the rows
    why: str = ""


KEEP = "kept: no personal data left once the account row is anonymised; reports count it"

PERSONAL_DATA: dict[str, Handling] = {
    "users.id": Handling(
        "profile",
        "anonymised: name, e-mail, organisation, job title, time zone, consent, password cleared; "
        "country and type of organisation kept for the aggregates",
    ),
    "user_roles.user_id": Handling("profile", "deleted"),
    "login_sessions.user_id": Handling("sessions", "deleted"),
    "api_tokens.user_id": Handling("api_tokens", "deleted"),
    "password_resets.user_id": Handling("password_resets", "deleted"),
    "sync_events.user_id": Handling("offline_events", "deleted"),
    "enrolments.user_id": Handling("enrolments", KEEP),
    "lesson_completions.enrolment_id": Handling("lesson_completions", KEEP),
    "module_states.enrolment_id": Handling("module_states", KEEP),
    "quiz_attempts.enrolment_id": Handling("quiz_attempts", KEEP),
    "capstone_submissions.enrolment_id": Handling(
        "capstone_plans", "the plan's texts and its attached file removed; its status kept"
    ),
    "capstone_reviews.submission_id": Handling("capstone_plans", "the comments on the plan removed"),
    "certificates.user_id": Handling(
        "certificates",
        "name, PDF and credential removed; still verifiable as issued to a deleted account, "
        "or revoked (ERASURE_CERTIFICATES, or the secretariat's choice)",
    ),
    "certificates.enrolment_id": Handling("certificates", "as certificates.user_id"),
    "certificates.superseded_by_id": Handling("certificates", "as certificates.user_id"),
    "certificate_events.certificate_id": Handling(
        "certificates", "names and the e-mail address in the details removed"
    ),
    "cohort_members.user_id": Handling("cohorts", KEEP),
    "cohort_invitations.accepted_user_id": Handling("cohort_invitations", "the e-mail address removed"),
    "reminder_opt_outs.user_id": Handling("reminders", "deleted"),
    "reminder_bundles.user_id": Handling("reminders", "pending ones cancelled, error texts removed; kept"),
    "reminder_sendings.user_id": Handling("reminders", KEEP),
    "reminder_sendings.bundle_id": Handling("reminders", KEEP),
    "course_members.user_id": Handling("course_memberships", "deleted"),
    "report_exports.user_id": Handling("report_exports", "deleted, with their files"),
    "report_mailings.user_id": Handling("report_mailings", "deleted"),
    "audit_events.actor_id": Handling(
        "audit_events", "kept (the actor is the anonymised account); the e-mail address in subjects replaced"
    ),
    # Links from other people's rows: these are about the work, not about this person.
    "course_versions.created_by_id": Handling(
        None, KEEP, "who made a course version: course material; the act itself is in audit_events"
    ),
    "capstone_submissions.reviewer_id": Handling(
        None, KEEP, "the reviewer of another learner's plan: that learner's data; the act is in audit_events"
    ),
    "capstone_reviews.reviewer_id": Handling(
        None, KEEP, "the reviewer of another learner's plan: that learner's data; the act is in audit_events"
    ),
    "certificate_events.actor_id": Handling(
        None, KEEP, "staff acting on another person's certificate: that person's data"
    ),
    "cohort_invitations.invited_by_id": Handling(
        None, KEEP, "a trainer inviting someone else: that person's data; the act is in audit_events"
    ),
}

# Rows found by the person's e-mail address rather than a foreign key.
BY_EMAIL: dict[str, Handling] = {
    "auth_attempts.email": Handling("sign_ins", "deleted (with the addresses they came from)"),
    "cohort_invitations.email": Handling("cohort_invitations", "the e-mail address removed"),
    "audit_events.subject": Handling("audit_events", "the e-mail address replaced"),
}
