"""Who may call each endpoint: the one table of permissions (RELIABILITY rule 10).

Every endpoint of the application has one entry. ``check`` enforces the first part of each entry for every
request, before the view runs: public, any signed-in user (a web session for pages, a bearer token for the
API), or one of some roles. An endpoint missing from the table is refused (403) and logged: a programming
error, which ``tests/security/test_permissions.py`` catches. The second part, the *scope*, names the check
on the objects in the URL that the view (or its service) makes after this one; the tests read it to know
whose objects each principal may reach.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, abort, current_app, g, request
from flask_login import current_user
from werkzeug.wrappers import Response

# The object checks views make after the role check; the table says which one applies.
SCOPES = {
    "self": "the caller's own account and data; nothing in the URL names anyone else's",
    "owner": "an object named in the URL (a quiz attempt, a certificate in the API) must be the caller's; "
    "404 for anyone else",
    "owner_or_admin": "an export job: the user who asked for it, or an admin; 404 for anyone else",
    "holder_or_staff": "a certificate: its holder, the secretariat or an admin; 404 for anyone else",
    "enrolled": "the course in the URL, through the caller's active enrolment; others are sent to the "
    "course page to enrol (pages) or get 403/404",
    "course_author": "the course in the URL (or the course of the cohort or plan): its owners and "
    "co-authors, and admins; 403 for anyone else",
    "token": "the token in the URL is the credential (password reset, invitation, unsubscribe)",
    "library": "a capstone plan in the good practice library (accepted, and shared by its author); 404 for "
    "any other plan",
}


@dataclass(frozen=True)
class Access:
    """Who may call an endpoint: ``roles`` None is anyone; empty, any signed-in user; else one of them."""

    roles: frozenset[str] | None
    scope: str | None = None
    # The view checks the credential itself, in the statement that reads what it shows (the pages learners
    # open most), and answers strangers as this check would; the walk over every route still checks it.
    in_view: bool = False

    @property
    def public(self) -> bool:
        return self.roles is None

    def describe(self) -> str:
        who = "anyone" if self.roles is None else " or ".join(sorted(self.roles)) or "signed in"
        return f"{who} ({self.scope})" if self.scope else who


def public(scope: str | None = None) -> Access:
    return Access(None, scope)


def signed_in(scope: str | None = None, *, in_view: bool = False) -> Access:
    return Access(frozenset(), scope, in_view)


def roles(*names: str, scope: str | None = None) -> Access:
    return Access(frozenset(names), scope)


AUTHORS = ("trainer", "admin")
STAFF = ("secretariat", "admin")
COURSE_AUTHORS = roles(*AUTHORS, scope="course_author")

TABLE: dict[str, Access] = {
    # probes, static files, the catalogue, signing in
    "health.healthz": public(),
    "health.readyz": public(),
    "static": public(),
    "catalog.index": public(),
    "catalog.course": public(),  # published courses only; an archived one only to its learners
    "media.image": public(),  # lesson images, named by their digest
    "auth.login": public(),
    "auth.register": public(),
    "auth.registration_sent": public(),
    "auth.confirm_registration": public("token"),
    "auth.logout": public(),  # a POST with the session's CSRF token; anonymous, it only clears the cookie
    "auth.forgot_password": public(),
    "auth.reset_password": public("token"),
    "cohorts.invitation": public("token"),
    "reminders.unsubscribe": public("token"),
    # certificates: public verification and the issuer's documents
    "certificates.verify": public(),
    "certificates.issuer": public(),
    "certificates.issuer_keys": public(),
    "certificates.issuer_key": public(),
    "certificates.status_list": public(),
    # the learner's own account and studies
    "auth.account": signed_in("self"),
    "auth.change_password": signed_in("self"),
    "privacy.my_data": signed_in("self"),
    "privacy.my_data_export": signed_in("self"),
    "privacy.erase_mine": signed_in("self"),
    "reminders.preferences": signed_in("self"),
    "progress.dashboard": signed_in("self"),
    "progress.enrol": signed_in("self"),
    "progress.leave": signed_in("self"),
    "progress.continue_course": signed_in("enrolled"),
    "progress.lesson": signed_in("enrolled", in_view=True),  # the session is checked with the lesson
    "progress.complete_lesson": signed_in("enrolled"),
    "quizzes.take": signed_in("enrolled"),
    "quizzes.result": signed_in("owner"),
    "capstone.page": signed_in("enrolled"),
    "capstone.share": signed_in("enrolled"),
    "capstone.attachment": signed_in("enrolled"),
    "certificates.pdf": signed_in("holder_or_staff"),
    "certificates.credential_file": signed_in("holder_or_staff"),
    # authoring (trainers), cohorts and capstone reviews
    "authoring.index": roles(*AUTHORS),
    "authoring.new_course": roles(*AUTHORS),
    "authoring.import_bundle": roles(*AUTHORS),
    "authoring.audit_log": roles("admin"),
    "authoring.members": roles("admin"),
    **{
        f"authoring.{name}": COURSE_AUTHORS
        for name in (
            "course",
            "start_draft",
            "discard_draft",
            "edit_course",
            "publish",
            "archive",
            "add_module",
            "module",
            "move_module",
            "delete_module",
            "add_lesson",
            "lesson",
            "move_lesson",
            "delete_lesson",
            "quiz",
            "question",
            "move_question",
            "delete_question",
            "preview",
            "preview_lesson",
            "preview_quiz",
            "export",
            "insight",
            "upload_image",
            "cohorts",
            "cohort",
            "cohort_members",
            "cohort_export",
            "review_list",
            "review",
            "review_attachment",
        )
    },  # fmt: skip
    # the secretariat: reports and certificates
    "reports.dashboard": roles(*STAFF),
    "reports.completion": roles(*STAFF),
    "reports.learners": roles(*STAFF),
    "reports.table_page": roles(*STAFF),
    "reports.export": roles(*STAFF),
    "reports.export_job": roles(*STAFF, scope="owner_or_admin"),
    "reports.download": roles(*STAFF, scope="owner_or_admin"),
    "reports.good_practice": roles(*STAFF),
    "reports.good_practice_plan": roles(*STAFF, scope="library"),
    "reports.good_practice_markdown": roles(*STAFF, scope="library"),
    "reports.good_practice_attachment": roles(*STAFF, scope="library"),
    "certificates.manage_list": roles(*STAFF),
    "privacy.accounts": roles(*STAFF),
    "privacy.erase_account_on_request": roles(*STAFF),
    "certificates.manage": roles(*STAFF),
    "certificates.revoke": roles(*STAFF),
    "certificates.reissue": roles(*STAFF),
    # the JSON API (bearer tokens)
    "api.openapi_json": public(),
    "api.register": public(),
    "api.create_token": public(),
    "api.lookup_certificate": public(),
    "api.me": signed_in("self"),
    "api.revoke_current_token": signed_in("self"),
    "api.list_courses": signed_in(),
    "api.get_course": signed_in(),
    "api.put_enrolment": signed_in("self"),
    "api.delete_enrolment": signed_in("enrolled"),
    "api.get_lesson": signed_in("enrolled", in_view=True),  # the token is checked with the lesson
    "api.put_completion": signed_in("enrolled"),
    "api.get_quiz": signed_in("enrolled"),
    "api.post_attempt": signed_in("enrolled"),
    "api.my_progress": signed_in("self"),
    "api.my_export": signed_in("self"),
    "api.sync_progress": signed_in("self"),
    "api.my_certificates": signed_in("self"),
    "api.my_credential": signed_in("owner"),
    "api.my_certificate_pdf": signed_in("owner"),
    "api.keep_certificate_pdf": signed_in("owner"),
    "api.keep_credential": signed_in("owner"),
    "api.api_export": COURSE_AUTHORS,
    "api.api_import": roles(*AUTHORS),
    "api.completion_report": roles(*STAFF),
    "api.report_table": roles(*STAFF),
}


def access_for(endpoint: str) -> Access | None:
    return TABLE.get(endpoint)


def unlisted(app: Flask) -> list[str]:
    """Endpoints the application serves that the table does not list (each is refused)."""
    return sorted(set(app.view_functions) - set(TABLE))


def is_api(endpoint: str) -> bool:
    return endpoint.startswith("api.")


def check() -> Response | None:
    """Enforce the table's role part before the view runs: the sign-in page (pages) or 401 (API) for
    strangers, 403 for signed-in users without the role, 403 for an endpoint the table does not list."""
    endpoint = request.endpoint
    if endpoint is None:  # no route matched: 404 or 405 follows
        return None
    access = TABLE.get(endpoint)
    if access is None:
        current_app.logger.error("endpoint %s is not in the permissions table: refused", endpoint)
        abort(403)
    if access.roles is None or access.in_view:
        return None
    if is_api(endpoint):
        from learning.api.routing import ApiError, authenticate_request

        authenticate_request()
        if access.roles and not g.api_user.has_role(*access.roles):
            allowed = ", ".join(sorted(access.roles))
            raise ApiError(403, "forbidden", f"Only these roles may do this: {allowed}.")
        return None
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()  # type: ignore[attr-defined]
    if access.roles and not current_user.has_role(*access.roles):
        abort(403)
    return None


def init_app(app: Flask) -> None:
    """Check the table against the registered endpoints and enforce it on every request."""
    for endpoint in unlisted(app):
        app.logger.error("endpoint %s is not in the permissions table: its requests are refused", endpoint)
    app.before_request(check)
