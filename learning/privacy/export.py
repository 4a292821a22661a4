"""Gathering everything the platform holds about one person (see coverage.py for the map)."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import or_, select

from learning.audit.models import AuditEvent
from learning.auth.models import ApiToken, AuthAttempt, LoginSession, PasswordReset, User
from learning.capstone.models import CapstoneReview, CapstoneSubmission
from learning.catalog.models import Course, CourseMember, CourseVersion
from learning.certificates.models import Certificate, CertificateEvent
from learning.cohorts.models import Cohort, CohortInvitation, CohortMember
from learning.db import utcnow
from learning.extensions import db
from learning.privacy import schemas as s
from learning.progress.models import Enrolment, LessonCompletion, ModuleState, SyncEvent
from learning.quizzes.models import QuizAttempt
from learning.reminders.models import ReminderBundle, ReminderOptOut, ReminderSending
from learning.reports.models import ReportExport, ReportMailing


def personal_data(user: User) -> s.PersonalDataOut:
    """Everything stored about ``user``, as the export document (reads only)."""
    courses = dict(db.session.execute(select(Course.id, Course.slug)).all())
    enrolments = list(
        db.session.scalars(select(Enrolment).where(Enrolment.user_id == user.id).order_by(Enrolment.id))
    )
    by_enrolment = {e.id: courses[e.course_id] for e in enrolments}
    ids = list(by_enrolment)
    return s.PersonalDataOut(
        format=s.FORMAT,
        generated_at=utcnow(),
        profile=s.ExportProfile(
            id=user.id,
            email=user.email,
            name=user.full_name,
            country=user.country,
            organisation=user.organisation,
            organisation_type=user.organisation_type,
            job_title=user.job_title,
            language=user.language,
            timezone=user.timezone,
            roles=sorted(user.roles),
            active=user.active,
            created_at=user.created_at,
            password_changed_at=user.password_changed_at,
            last_login_at=user.last_login_at,
            locked_until=user.locked_until,
        ),
        consent=s.ExportConsent(
            share_progress_with_secretariat=user.consents_to_share, given_at=user.consent_share_progress_at
        ),
        enrolments=_enrolments(enrolments, courses),
        lesson_completions=_lesson_completions(ids, by_enrolment),
        module_states=[
            s.ExportModuleState(
                course=by_enrolment[m.enrolment_id],
                module=m.module_slug,
                best_score=m.best_score,
                attempts=m.attempts,
                failed_attempts=m.failed_attempts,
                last_attempt_at=m.last_attempt_at,
                quiz_passed_at=m.quiz_passed_at,
                completed_at=m.completed_at,
            )
            for m in db.session.scalars(
                select(ModuleState)
                .where(ModuleState.enrolment_id.in_(ids))
                .order_by(ModuleState.enrolment_id, ModuleState.module_slug)
            )
        ],
        quiz_attempts=[
            s.ExportQuizAttempt(
                id=a.id,
                course=by_enrolment[a.enrolment_id],
                module=a.module_slug,
                quiz_id=a.quiz_id,
                score=a.score,
                passed=a.passed,
                answers=a.answers,
                results=a.results,
                submitted_at=a.submitted_at,
            )
            for a in db.session.scalars(
                select(QuizAttempt).where(QuizAttempt.enrolment_id.in_(ids)).order_by(QuizAttempt.id)
            )
        ],
        certificates=_certificates(user, courses),
        capstone_plans=_plans(ids, by_enrolment),
        cohorts=[
            s.ExportCohort(
                cohort=cohort.name,
                course=courses[cohort.course_id],
                starts_on=cohort.starts_on,
                due_on=cohort.due_on,
                joined_at=member.created_at,
            )
            for member, cohort in db.session.execute(
                select(CohortMember, Cohort)
                .join(Cohort, Cohort.id == CohortMember.cohort_id)
                .where(CohortMember.user_id == user.id)
                .order_by(Cohort.id)
            )
        ],
        cohort_invitations=[
            s.ExportCohortInvitation(
                cohort=cohort.name,
                email=invitation.email,
                created_at=invitation.created_at,
                expires_at=invitation.expires_at,
                accepted_at=invitation.accepted_at,
            )
            for invitation, cohort in db.session.execute(
                select(CohortInvitation, Cohort)
                .join(Cohort, Cohort.id == CohortInvitation.cohort_id)
                .where(
                    or_(CohortInvitation.accepted_user_id == user.id, CohortInvitation.email == user.email)
                )
                .order_by(CohortInvitation.id)
            )
        ],
        reminders=_reminders(user, courses),
        api_tokens=[
            s.ExportCredential(
                id=t.id, created_at=t.created_at, expires_at=t.expires_at, revoked_at=t.revoked_at
            )
            for t in db.session.scalars(
                select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id)
            )
        ],
        sessions=[
            s.ExportCredential(
                id=t.id, created_at=t.created_at, expires_at=t.expires_at, revoked_at=t.revoked_at
            )
            for t in db.session.scalars(
                select(LoginSession).where(LoginSession.user_id == user.id).order_by(LoginSession.id)
            )
        ],
        password_resets=[
            s.ExportPasswordReset(created_at=r.created_at, expires_at=r.expires_at, used_at=r.used_at)
            for r in db.session.scalars(
                select(PasswordReset).where(PasswordReset.user_id == user.id).order_by(PasswordReset.id)
            )
        ],
        sign_ins=[
            s.ExportSignIn(kind=a.kind, address=a.address, succeeded=a.succeeded, at=a.created_at)
            for a in db.session.scalars(
                select(AuthAttempt).where(AuthAttempt.email == user.email).order_by(AuthAttempt.id)
            )
        ],
        audit_events=[
            s.ExportAuditEvent(
                at=e.at,
                action=e.action,
                by_you=e.actor_id == user.id,
                course=courses.get(e.course_id) if e.course_id is not None else None,
                subject=e.subject,
                details=e.details,
            )
            for e in db.session.scalars(
                select(AuditEvent)
                .where(or_(AuditEvent.actor_id == user.id, AuditEvent.subject == user.email))
                .order_by(AuditEvent.id)
            )
        ],
        offline_events=[
            s.ExportOfflineEvent(client_id=e.client_id, type=e.type, created_at=e.created_at)
            for e in db.session.scalars(
                select(SyncEvent).where(SyncEvent.user_id == user.id).order_by(SyncEvent.id)
            )
        ],
        course_memberships=[
            s.ExportCourseMembership(course=courses[m.course_id], role=m.role, added_at=m.added_at)
            for m in db.session.scalars(
                select(CourseMember).where(CourseMember.user_id == user.id).order_by(CourseMember.course_id)
            )
        ],
        report_exports=[
            s.ExportReportExport(
                report=r.report,
                format=r.format,
                status=r.status,
                file_name=r.file_name,
                created_at=r.created_at,
            )
            for r in db.session.scalars(
                select(ReportExport).where(ReportExport.user_id == user.id).order_by(ReportExport.id)
            )
        ],
        report_mailings=[
            s.ExportReportMailing(period=m.period, sent_at=m.sent_at)
            for m in db.session.scalars(
                select(ReportMailing).where(ReportMailing.user_id == user.id).order_by(ReportMailing.id)
            )
        ],
    )


def _enrolments(enrolments: list[Enrolment], courses: dict[int, str]) -> list[s.ExportEnrolment]:
    version_ids = {e.version_id for e in enrolments} | {
        e.completed_version_id for e in enrolments if e.completed_version_id
    }
    versions = {
        v.id: v for v in db.session.scalars(select(CourseVersion).where(CourseVersion.id.in_(version_ids)))
    }
    return [
        s.ExportEnrolment(
            course=courses[e.course_id],
            course_title=versions[e.version_id].title,
            version=versions[e.version_id].number,
            status=e.status,
            enrolled_at=e.enrolled_at,
            left_at=e.left_at,
            started_at=e.started_at,
            halfway_at=e.halfway_at,
            completed_at=e.completed_at,
            completed_version=versions[e.completed_version_id].number if e.completed_version_id else None,
            percent=e.percent,
            last_activity_at=e.last_activity_at,
        )
        for e in enrolments
    ]


def _lesson_completions(ids: list[int], by_enrolment: dict[int, str]) -> list[s.ExportLessonCompletion]:
    rows = db.session.execute(
        select(LessonCompletion, CourseVersion.number)
        .join(CourseVersion, CourseVersion.id == LessonCompletion.version_id)
        .where(LessonCompletion.enrolment_id.in_(ids))
        .order_by(LessonCompletion.enrolment_id, LessonCompletion.completed_at, LessonCompletion.lesson_slug)
    )
    return [
        s.ExportLessonCompletion(
            course=by_enrolment[c.enrolment_id],
            lesson=c.lesson_slug,
            version=number,
            completed_at=c.completed_at,
        )
        for c, number in rows
    ]


def _certificates(user: User, courses: dict[int, str]) -> list[s.ExportCertificate]:
    certificates = list(
        db.session.scalars(select(Certificate).where(Certificate.user_id == user.id).order_by(Certificate.id))
    )
    events: dict[int, list[s.ExportCertificateEvent]] = {c.id: [] for c in certificates}
    for event in db.session.scalars(
        select(CertificateEvent)
        .where(CertificateEvent.certificate_id.in_(list(events)))
        .order_by(CertificateEvent.id)
    ):
        events[event.certificate_id].append(
            s.ExportCertificateEvent(kind=event.kind, reason=event.reason, created_at=event.created_at)
        )
    base = current_app.config["BASE_URL"].rstrip("/")
    return [
        s.ExportCertificate(
            serial=c.serial,
            code=c.code,
            verify_url=f"{base}/verify/{c.code}",
            status=c.status,
            holder_name=c.holder_name,
            course=courses[c.course_id],
            course_title=c.course_title,
            hours=c.hours,
            completed_at=c.completed_at,
            issued_at=c.issued_at,
            revoked_at=c.revoked_at,
            revocation_reason=c.revocation_reason,
            superseded_at=c.superseded_at,
            email_sent_at=c.email_sent_at,
            downloaded_at=c.downloaded_at,
            events=events[c.id],
        )
        for c in certificates
    ]


def _plans(ids: list[int], by_enrolment: dict[int, str]) -> list[s.ExportCapstonePlan]:
    plans = list(
        db.session.scalars(
            select(CapstoneSubmission)
            .where(CapstoneSubmission.enrolment_id.in_(ids))
            .order_by(CapstoneSubmission.id)
        )
    )
    reviews: dict[int, list[s.ExportReview]] = {p.id: [] for p in plans}
    for review in db.session.scalars(
        select(CapstoneReview)
        .where(CapstoneReview.submission_id.in_(list(reviews)))
        .order_by(CapstoneReview.id)
    ):
        reviews[review.submission_id].append(
            s.ExportReview(decision=review.decision, comment=review.comment, reviewed_at=review.reviewed_at)
        )
    return [
        s.ExportCapstonePlan(
            course=by_enrolment[p.enrolment_id],
            status=p.status,
            sections=p.sections,
            attachment=s.ExportAttachment(
                name=p.attachment_name, type=p.attachment_type, size=p.attachment_size
            )
            if p.attachment_key
            else None,
            created_at=p.created_at,
            updated_at=p.updated_at,
            submitted_at=p.submitted_at,
            reviewed_at=p.reviewed_at,
            shared_as_example_since=p.shareable_at,
            reviews=reviews[p.id],
        )
        for p in plans
    ]


def _reminders(user: User, courses: dict[int, str]) -> s.ExportReminders:
    grouped: dict[int | None, list[s.ExportReminder]] = {}
    for row in db.session.scalars(
        select(ReminderSending).where(ReminderSending.user_id == user.id).order_by(ReminderSending.id)
    ):
        grouped.setdefault(row.bundle_id, []).append(
            s.ExportReminder(
                rule=row.rule,
                course=courses[row.course_id],
                subject=row.subject,
                period=row.period,
                local_date=row.local_date,
                decided_at=row.created_at,
            )
        )
    return s.ExportReminders(
        preferences=[
            s.ExportReminderPreference(opted_out_of=o.rule, since=o.created_at)
            for o in db.session.scalars(
                select(ReminderOptOut).where(ReminderOptOut.user_id == user.id).order_by(ReminderOptOut.rule)
            )
        ],
        emails=[
            s.ExportReminderEmail(
                local_date=b.local_date,
                status=b.status,
                attempts=b.attempts,
                created_at=b.created_at,
                sent_at=b.sent_at,
                error=b.error,
                reminders=grouped.get(b.id, []),
            )
            for b in db.session.scalars(
                select(ReminderBundle).where(ReminderBundle.user_id == user.id).order_by(ReminderBundle.id)
            )
        ],
        reminders_not_yet_emailed=grouped.get(None, []),
    )
