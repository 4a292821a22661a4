"""Erasing an account: personal data gone, figures kept, certificates still verifiable or revoked, no 500."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from learning.audit.models import AuditEvent
from learning.auth import services as auth
from learning.auth.models import User
from learning.catalog.models import Course, CourseMember
from learning.certificates import services as certificates
from learning.certificates.models import Certificate
from learning.cohorts.models import Cohort
from learning.extensions import db
from learning.privacy.erasure import ErasureError, erase_account
from learning.reports.jobs import export_folder
from learning.reports.models import ReportExport, ReportMailing
from learning.storage import storage
from tests.conftest import csrf_from, post_form
from tests.fixtures.api import ApiClient
from tests.fixtures.factories import PASSWORD
from tests.privacy.conftest import Traces, database_text


def _browser(app: Flask) -> FlaskClient:
    browser = app.test_client()
    browser.environ_base["wsgi.url_scheme"] = "https"
    return browser


def _figures(api: ApiClient, headers: dict[str, str]) -> dict[str, Any]:
    """What the secretariat's reports say about Thailand, maritime administrations and the learner list."""
    by_country = api.get("/api/v1/reports/completion?group_by=country", headers=headers).get_json()
    by_type = api.get("/api/v1/reports/completion?group_by=organisation_type", headers=headers).get_json()
    learners = api.get("/api/v1/reports/tables/learners", headers=headers).get_json()
    pick = ("enrolled", "started", "completed")
    return {
        "country": [{k: r[k] for k in pick} for r in by_country["rows"] if r["key"] == "TH"],
        "type": [{k: r[k] for k in pick} for r in by_type["rows"] if r["key"] == "maritime_administration"],
        "learners": learners["rows"],
    }


def test_a_learner_erases_their_own_account(
    app: Flask,
    client: FlaskClient,
    api: ApiClient,
    rich_learner: Callable[..., Traces],
    create_user: Callable[..., User],
    login: Callable[..., None],
    api_token: Callable[[User], dict[str, str]],
) -> None:
    traces = rich_learner()
    staff = api_token(create_user(roles=("secretariat",)))
    before = _figures(api, staff)
    assert before["country"] == [{"enrolled": 1, "started": 1, "completed": 1}]
    assert any(traces.name in str(row) for row in before["learners"])  # consented: listed by name
    learner_token = api_token(traces.user)
    login(client, traces.user)
    assert storage().exists(traces.attachment_key) and storage().exists(traces.pdf_key)

    # a wrong password, or no tick, changes nothing
    for data in ({"password": "not my password", "understood": "y"}, {"password": PASSWORD}):
        response = post_form(client, "/account/data", data, action="/account/erase")
        assert response.status_code == 400
        db.session.expire_all()
        assert traces.user.erased_at is None
    assert (
        b"That is not your password."
        in post_form(
            client, "/account/data", {"password": "wrong", "understood": "y"}, action="/account/erase"
        ).data
    )

    response = post_form(
        client, "/account/data", {"password": PASSWORD, "understood": "y"}, action="/account/erase"
    )
    assert response.status_code == 302
    db.session.expire_all()
    user = db.session.get(User, traces.user.id)
    assert user is not None and user.erased_at is not None and not user.active

    # nothing personal is left in any table, nor among the stored files
    text = database_text()
    for trace in traces.strings():
        assert trace not in text, trace
    assert not storage().exists(traces.attachment_key)
    assert not storage().exists(traces.pdf_key)

    # signed out everywhere; the e-mail address is free again
    assert client.get("/account").status_code == 302
    assert api.get("/api/v1/me/export", headers=learner_token).status_code == 401
    with pytest.raises(auth.AuthError):
        auth.authenticate(traces.email, PASSWORD)
    db.session.rollback()
    again = create_user(email=traces.email)
    assert again.id != user.id and again.email == traces.email

    # the certificate still verifies, without a name (the default: ERASURE_CERTIFICATES = keep)
    page = _browser(app).get(f"/verify/{traces.certificate_code}")
    assert page.status_code == 200
    assert b"Valid." in page.data and b"Issued to a deleted account" in page.data
    assert traces.name.encode() not in page.data
    body = api.get(f"/api/v1/certificates/{traces.certificate_code}").get_json()
    assert body["status"] == "valid" and body["holder_name"] is None

    # the reports still count the learner, and no longer list them
    after = _figures(api, staff)
    assert after["country"] == before["country"]
    assert after["type"] == before["type"]
    assert after["learners"] == []
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "account.erase"))
    assert event is not None and event.actor_id == user.id and event.details["by"] == "self"


def test_the_secretariat_erases_an_account_on_request_and_revokes_its_certificates(
    app: Flask,
    client: FlaskClient,
    api: ApiClient,
    rich_learner: Callable[..., Traces],
    create_user: Callable[..., User],
    login: Callable[..., None],
) -> None:
    traces = rich_learner()
    staff = create_user(roles=("secretariat",))
    login(client, staff)
    page = client.get(f"/secretariat/accounts?q={traces.email.upper()}")
    assert page.status_code == 200 and traces.name.encode() in page.data
    action = f"/secretariat/accounts/{traces.user.id}/erase"
    form = {"confirm_email": traces.email, "certificates": "revoke", "reason": "Request 2026/14 by e-mail"}
    wrong = post_form(
        client, page.request.full_path, {**form, "confirm_email": "someone@else.org"}, action=action
    )
    assert wrong.status_code == 400 and b"not the account" in wrong.data
    assert (
        post_form(
            client, page.request.full_path, {**form, "certificates": "shred"}, action=action
        ).status_code
        == 400
    )
    db.session.expire_all()
    assert traces.user.erased_at is None

    response = post_form(client, page.request.full_path, form, action=action)
    assert response.status_code == 302
    db.session.expire_all()
    assert traces.user.erased_at is not None
    assert traces.name not in database_text()

    certificate = db.session.scalar(select(Certificate).where(Certificate.code == traces.certificate_code))
    assert certificate is not None and certificate.status == "revoked"
    assert certificate.id in certificates.revoked_indexes()  # the published revocation list sets its bit
    page = _browser(app).get(f"/verify/{traces.certificate_code}")
    assert b"Revoked." in page.data and b"account was erased" in page.data
    body = api.get(f"/api/v1/certificates/{traces.certificate_code}").get_json()
    assert body["status"] == "revoked" and body["holder_name"] is None
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "account.erase"))
    assert event is not None and event.actor_id == staff.id
    assert event.details == {"by": "staff", "certificates": "revoke", "request": "Request 2026/14 by e-mail"}
    listing = client.get("/secretariat/accounts")
    assert b"Request 2026/14 by e-mail" in listing.data
    assert (
        b"already erased"
        in client.post(
            action,
            data={**form, "csrf_token": csrf_from(listing.get_data(as_text=True))},
            follow_redirects=True,
        ).data
    )


def test_pages_that_showed_the_person_still_work(
    app: Flask,
    rich_learner: Callable[..., Traces],
    create_user: Callable[..., User],
    login: Callable[..., None],
) -> None:
    traces = rich_learner()
    cohort = db.session.scalar(select(Cohort).where(Cohort.name == "Cohort 1"))
    certificate = db.session.scalar(select(Certificate).where(Certificate.user_id == traces.user.id))
    assert cohort is not None and certificate is not None
    admin = create_user(roles=("admin", "trainer", "secretariat"))
    erase_account(traces.user, admin)
    db.session.commit()
    browser = _browser(app)
    login(browser, admin)
    pages = [
        f"/authoring/cohorts/{cohort.id}",
        f"/authoring/cohorts/{cohort.id}/export.csv",
        "/authoring/courses/harbour-basics/capstone",
        "/authoring/audit",
        "/reports/learners",
        "/reports/completion?group_by=organisation",
        f"/secretariat/certificates/{certificate.serial}",
        f"/secretariat/certificates?q={certificate.serial}",
        f"/secretariat/accounts?q=erased-{traces.user.id}@erased.invalid",
    ]
    for page in pages:
        response = browser.get(page)
        assert response.status_code == 200, page
        assert traces.name.encode() not in response.data, page
    plans = browser.get("/authoring/courses/harbour-basics/capstone").get_data(as_text=True)
    assert "Deleted account" in plans
    # the PDF went with the name; reissuing has no name to use: refused, not a 500
    assert browser.get(f"/certificates/{certificate.serial}/certificate.pdf").status_code == 404
    assert browser.get(f"/certificates/{certificate.serial}/credential.json").status_code == 404
    manage = browser.get(f"/secretariat/certificates/{certificate.serial}").get_data(as_text=True)
    refused = browser.post(
        f"/secretariat/certificates/{certificate.serial}/reissue",
        data={"csrf_token": csrf_from(manage), "reason": "name"},
        follow_redirects=True,
    )
    assert refused.status_code == 200 and b"erased" in refused.data
    assert certificates.issue_for_enrolment(traces.enrolment.id) is None  # nothing issued to nobody
    with pytest.raises(ErasureError):
        erase_account(traces.user, admin)


def test_who_may_erase_whom(
    app: Flask, client: FlaskClient, create_user: Callable[..., User], login: Callable[..., None]
) -> None:
    admin = create_user(roles=("admin",))
    learner = create_user()
    anonymous = _browser(app)
    assert anonymous.get("/secretariat/accounts").status_code == 302
    assert anonymous.get("/account/data").status_code == 302
    assert anonymous.post("/account/erase").status_code in (302, 400)
    login(client, learner)
    assert client.get("/secretariat/accounts").status_code == 403
    secretariat = create_user(roles=("secretariat",))
    staff = _browser(app)
    login(staff, secretariat)
    page = staff.get(f"/secretariat/accounts?q={admin.email}").get_data(as_text=True)
    form = {
        "confirm_email": admin.email,
        "certificates": "keep",
        "reason": "request",
        "csrf_token": csrf_from(page),
    }
    assert staff.post(f"/secretariat/accounts/{admin.id}/erase", data=form).status_code == 403
    assert staff.post("/secretariat/accounts/999999/erase", data=form).status_code == 404
    own = {**form, "confirm_email": secretariat.email}
    assert staff.post(f"/secretariat/accounts/{secretariat.id}/erase", data=own).status_code == 400
    db.session.expire_all()
    assert admin.erased_at is None and secretariat.erased_at is None


def test_erasing_a_staff_account_removes_its_report_exports_and_memberships(
    app: Flask, create_user: Callable[..., User], course: Course
) -> None:
    staff = create_user(roles=("secretariat", "trainer"))
    admin = create_user(roles=("admin",))
    with app.test_request_context():
        folder = export_folder()
    (folder / "learners-privacy-test.csv").write_text("name\nSomeone Else\n")
    db.session.add(
        ReportExport(user_id=staff.id, report="learners", params={}, format="csv", status="done",
                     file_name="learners.csv", path="learners-privacy-test.csv")
    )  # fmt: skip
    db.session.add(ReportMailing(user_id=staff.id, period="2026-11"))
    db.session.add(CourseMember(course_id=course.id, user_id=staff.id, role="owner"))
    db.session.commit()
    with pytest.raises(ErasureError):
        erase_account(staff, admin, "shred")
    result = erase_account(staff, admin)
    db.session.commit()
    assert result.certificates_kept == result.certificates_revoked == 0
    assert not (folder / "learners-privacy-test.csv").exists()
    for model in (ReportExport, ReportMailing, CourseMember):
        assert db.session.scalar(select(model).where(model.user_id == staff.id)) is None
    assert staff.roles == {"learner"} and not staff.active


def test_a_pdf_rendered_while_the_account_is_erased_is_not_kept(
    rich_learner: Callable[..., Traces], create_user: Callable[..., User]
) -> None:
    """A worker read the certificate, the account was erased, then the worker stored the PDF it rendered."""
    traces = rich_learner()
    certificate = db.session.scalar(select(Certificate).where(Certificate.user_id == traces.user.id))
    assert certificate is not None
    certificate_id, serial, content = certificate.id, certificate.serial, certificates.content_of(certificate)
    erase_account(traces.user, create_user(roles=("admin",)))
    db.session.commit()
    certificates.render_and_store(certificate_id, serial, content)
    db.session.commit()
    db.session.expire_all()
    assert certificate.pdf_key is None
    assert not storage().exists(f"certificates/{serial.lower()}.pdf")


def test_bad_input_gets_a_clear_answer_never_a_500(
    app: Flask, client: FlaskClient, create_user: Callable[..., User], login: Callable[..., None]
) -> None:
    staff = create_user(roles=("secretariat",))
    learner = create_user()
    login(client, staff)
    # PostgreSQL refuses a NUL in a query: these were 500s there (the certificates search too)
    for query in ("%00", "a%00b@example.org", "x" * 5000, "%E2%80%AE@example.org"):
        response = client.get(f"/secretariat/accounts?q={query}")
        assert response.status_code == 200 and b"No account has this address." in response.data, query
        assert client.get(f"/secretariat/certificates?q={query}").status_code == 200, query
    page = client.get(f"/secretariat/accounts?q={learner.email}").get_data(as_text=True)
    form = {"csrf_token": csrf_from(page), "confirm_email": learner.email, "certificates": "keep"}
    for bad in ({"reason": "a\x00b"}, {"reason": "x" * 201}, {"reason": ""},
                {"reason": "ok", "confirm_email": "\x00"}, {"reason": "ok", "certificates": ""}):  # fmt: skip
        response = client.post(f"/secretariat/accounts/{learner.id}/erase", data={**form, **bad})
        assert response.status_code == 400, bad
    assert client.post("/secretariat/accounts/abc/erase", data=form).status_code == 404
    db.session.expire_all()
    assert learner.erased_at is None
