"""Certificate pages and API: public verification, the issuer's documents, the learner's downloads and
dashboard, the secretariat's revocation and reissue. Who may call each route is checked for every route by
tests/security/test_permissions.py, from the application's permissions table."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from learning.auth.models import User
from learning.certificates import credential
from learning.certificates.models import Certificate
from learning.extensions import db
from learning.progress.models import Enrolment
from tests.conftest import csrf_from, post_form
from tests.fixtures.api import ApiClient, check_response


@pytest.fixture
def issued(completed: Callable[..., Enrolment]) -> Callable[..., Certificate]:
    def make(**overrides: object) -> Certificate:
        enrolment = completed(**overrides)
        certificate = db.session.scalar(select(Certificate).where(Certificate.user_id == enrolment.user_id))
        assert certificate is not None
        return certificate

    return make


def test_the_verification_page_shows_only_what_it_must(
    client: FlaskClient, issued: Callable[..., Certificate]
) -> None:
    certificate = issued(full_name="Trần Văn Nam", organisation="Vinamarine", job_title="Inspector")
    response = client.get(f"/verify/{certificate.code}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert (
        "Valid." in page
        and "Trần Văn Nam" in page
        and "Harbour basics" in page
        and certificate.serial in page
    )
    for private in (certificate.user.email, "Vinamarine", "Inspector", "Asia/Bangkok"):
        assert private not in page
    assert response.headers["X-Robots-Tag"] == "noindex, nofollow"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert client.get("/verify/not-a-code").status_code == 404
    assert client.get("/verify/" + "x" * 200).status_code == 404


def test_lookups_are_rate_limited(
    app: Flask, client: FlaskClient, api: ApiClient, issued: Callable[..., Certificate]
) -> None:
    certificate = issued()
    saved = app.config["CERTIFICATE_LOOKUPS_PER_MINUTE"]
    app.config["CERTIFICATE_LOOKUPS_PER_MINUTE"] = 3
    try:
        assert client.get(f"/verify/{certificate.code}").status_code == 200
        assert api.get(f"/api/v1/certificates/{certificate.code}").status_code == 200
        assert client.get("/verify/unknown").status_code == 404  # misses count too
        assert client.get(f"/verify/{certificate.code}").status_code == 429
        response = api.get(f"/api/v1/certificates/{certificate.code}")
        assert response.status_code == 429 and response.get_json()["error"]["code"] == "throttled"
    finally:
        app.config["CERTIFICATE_LOOKUPS_PER_MINUTE"] = saved


def test_the_api_lookup(api: ApiClient, issued: Callable[..., Certificate]) -> None:
    certificate = issued(full_name="김민준")
    body = api.get(f"/api/v1/certificates/{certificate.code}").get_json()
    assert (
        body["status"] == "valid" and body["holder_name"] == "김민준" and body["serial"] == certificate.serial
    )
    assert set(body) == {
        "status", "holder_name", "course_title", "completed_at", "issued_at", "serial", "revoked_at",
        "revocation_reason",
    }  # fmt: skip
    assert api.get("/api/v1/certificates/nope").status_code == 404


def test_the_learner_lists_and_downloads_through_the_api(
    client: FlaskClient,
    api: ApiClient,
    api_token: Callable[[User], dict[str, str]],
    issued: Callable[..., Certificate],
) -> None:
    certificate = issued()
    headers = api_token(certificate.user)
    [item] = api.get("/api/v1/me/certificates", headers=headers).get_json()["certificates"]
    assert item["serial"] == certificate.serial and item["verify_url"].endswith(certificate.code)
    response = api.get(f"/api/v1/me/certificates/{certificate.serial}/credential", headers=headers)
    assert response.get_data(as_text=True) == certificate.credential  # the very bytes that were signed
    assert response.headers["Content-Disposition"].startswith("attachment")
    pdf = client.get(f"/api/v1/me/certificates/{certificate.serial}/pdf", headers=headers)
    check_response("GET", f"/api/v1/me/certificates/{certificate.serial}/pdf", pdf.status_code, None)
    assert pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    assert pdf.headers["X-Content-Type-Options"] == "nosniff"
    db.session.refresh(certificate)
    assert certificate.downloaded_at is None  # a GET changes nothing
    kept = client.post(f"/api/v1/me/certificates/{certificate.serial}/pdf", headers=headers)
    check_response("POST", f"/api/v1/me/certificates/{certificate.serial}/pdf", kept.status_code, None,
                   kept.mimetype)  # fmt: skip
    assert kept.status_code == 200 and kept.data == pdf.data
    db.session.refresh(certificate)
    first = certificate.downloaded_at
    assert first is not None  # the POST records that the learner kept it
    again = api.post(f"/api/v1/me/certificates/{certificate.serial}/credential", headers=headers)
    assert again.get_data(as_text=True) == certificate.credential
    db.session.refresh(certificate)
    assert certificate.downloaded_at == first  # the first download is kept
    other = api_token(issued().user)
    assert (
        api.get(f"/api/v1/me/certificates/{certificate.serial}/credential", headers=other).status_code == 404
    )
    assert (
        api.get("/api/v1/me/certificates", headers=other).get_json()["certificates"][0]["serial"]
        != certificate.serial
    )
    assert api.get("/api/v1/me/certificates").status_code == 401


def test_the_dashboard_lists_certificates_and_downloads_are_attachments(
    client: FlaskClient, login: Callable[..., None], issued: Callable[..., Certificate]
) -> None:
    certificate = issued()
    login(client, certificate.user)
    page = client.get("/dashboard").get_data(as_text=True)
    assert "Your certificates" in page and certificate.serial in page
    assert (
        f"/certificates/{certificate.serial}/certificate.pdf" in page
        and f"/verify/{certificate.code}" in page
    )
    assert certificate.downloaded_at is None
    link = client.get(f"/certificates/{certificate.serial}/certificate.pdf")
    assert link.status_code == 200 and link.data.startswith(b"%PDF")
    db.session.refresh(certificate)
    assert certificate.downloaded_at is None  # a GET (a saved link, a prefetch) changes nothing
    # the dashboard's button is a form: its POST serves the file and records the download
    form = f'<form method="post" action="/certificates/{certificate.serial}/certificate.pdf"'
    assert form in page
    token = csrf_from(page)
    pdf = client.post(f"/certificates/{certificate.serial}/certificate.pdf", data={"csrf_token": token})
    assert pdf.status_code == 200 and pdf.data == link.data
    db.session.refresh(certificate)
    first = certificate.downloaded_at
    assert first is not None  # the reminders' "certificate" rule stops here
    assert (
        pdf.headers["Content-Disposition"] == f'attachment; filename="certificate-{certificate.serial}.pdf"'
    )
    assert (
        pdf.headers["X-Content-Type-Options"] == "nosniff"
        and "sandbox" in pdf.headers["Content-Security-Policy"]
    )
    document = client.post(f"/certificates/{certificate.serial}/credential.json", data={"csrf_token": token})
    assert json.loads(document.data)["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert document.headers["Content-Disposition"].startswith("attachment")
    db.session.refresh(certificate)
    assert certificate.downloaded_at == first  # the first download is kept
    assert client.get("/certificates/SPA-0000-0000-0000/certificate.pdf").status_code == 404


def test_the_issuer_documents(client: FlaskClient, issued: Callable[..., Certificate], app: Flask) -> None:
    profile = client.get("/issuer").get_json()
    assert profile["id"] == "http://localhost/issuer" and profile["type"] == ["Profile"]
    [entry] = profile["otherIdentifier"]
    assert entry["identifier"].startswith("did:key:z6Mk")
    listing = client.get("/issuer/keys").get_json()
    [key] = listing["keys"]
    assert key["id"] == "http://localhost/issuer/keys/test" and key["controller"] == "http://localhost/issuer"
    assert entry["identifier"] == "did:key:" + key["publicKeyMultibase"]
    assert client.get("/issuer/keys/test").get_json() == key
    assert client.get("/issuer/keys/nope").status_code == 404
    certificate = issued()
    status = client.get("/issuer/status/1").get_json()
    document = json.loads(certificate.credential)
    assert credential.check_credential(document, {key["publicKeyMultibase"]}, status).status == "valid"


# --- the secretariat ------------------------------------------------------------------------------------


def test_revocation_through_the_page(
    client: FlaskClient,
    login: Callable[..., None],
    create_user: Callable[..., User],
    issued: Callable[..., Certificate],
) -> None:
    certificate = issued()
    login(client, create_user(roles=("secretariat",)))
    found = client.get(f"/secretariat/certificates?q={certificate.user.email.upper()}").get_data(as_text=True)
    assert certificate.serial in found
    assert "No certificate matches." in client.get("/secretariat/certificates?q=nobody").get_data(
        as_text=True
    )
    page = f"/secretariat/certificates/{certificate.serial}"
    action = f"{page}/revoke"
    # an empty reason changes nothing
    assert post_form(client, page, {"reason": "  "}, action=action).status_code == 400
    assert client.post(action, data={"reason": "No token"}).status_code == 400  # no CSRF token
    db.session.refresh(certificate)
    assert certificate.status == "valid"
    response = post_form(client, page, {"reason": "The exam was taken by someone else."}, action=action)
    assert response.status_code == 302
    db.session.refresh(certificate)
    assert certificate.status == "revoked"
    public = client.get(f"/verify/{certificate.code}").get_data(as_text=True)
    assert "Revoked." in public and "The exam was taken by someone else." in public
    trail = client.get(page).get_data(as_text=True)
    assert "revoked" in trail and "Revoke this certificate" not in trail
    status = client.get("/issuer/status/1").get_json()
    assert credential.bit_is_set(status["credentialSubject"]["encodedList"], certificate.id)
    # revoking twice is refused with a message, not an error page
    response = client.post(
        action, data={"csrf_token": csrf_from(trail), "reason": "again"}, follow_redirects=True
    )
    assert "Only a valid certificate can be revoked." in response.get_data(as_text=True)


def test_a_name_correction_through_the_pages(
    client: FlaskClient,
    login: Callable[..., None],
    create_user: Callable[..., User],
    issued: Callable[..., Certificate],
) -> None:
    certificate = issued(full_name="Somsak Jaidee")
    old_code, serial = certificate.code, certificate.serial
    login(client, create_user(roles=("admin",)))
    page = f"/secretariat/certificates/{serial}"
    assert "reissue the certificate here" in client.get(page).get_data(as_text=True)
    response = post_form(
        client, page, {"reason": "Name in Thai"}, action=f"{page}/reissue", follow_redirects=True
    )
    assert "correct the profile name first" in response.get_data(as_text=True)
    certificate.user.full_name = "สมศักดิ์ ใจดีเลิศ"
    db.session.commit()
    assert post_form(client, page, {"reason": ""}, action=f"{page}/reissue").status_code == 400
    response = post_form(client, page, {"reason": "Name in Thai"}, action=f"{page}/reissue")
    assert response.status_code == 302
    new = db.session.scalar(
        select(Certificate).where(Certificate.user_id == certificate.user_id, Certificate.status == "valid")
    )
    assert new.serial != serial and response.headers["Location"].endswith(new.serial)
    assert new.holder_name == "สมศักดิ์ ใจดีเลิศ" and new.pdf_key is not None
    assert "Replaced." in client.get(f"/verify/{old_code}").get_data(as_text=True)
    trail = client.get(f"/secretariat/certificates/{new.serial}").get_data(as_text=True)
    assert "superseded" in trail and "reissued" in trail and serial in trail


def test_only_the_holders_download_counts(
    client: FlaskClient,
    login: Callable[..., None],
    create_user: Callable[..., User],
    issued: Callable[..., Certificate],
) -> None:
    certificate = issued()
    login(client, create_user(roles=("secretariat",)))
    token = csrf_from(client.get("/secretariat/certificates").get_data(as_text=True))
    response = client.post(f"/certificates/{certificate.serial}/certificate.pdf", data={"csrf_token": token})
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
    db.session.refresh(certificate)
    assert certificate.downloaded_at is None


def test_a_download_is_never_recorded_from_a_get(app: Flask, issued: Callable[..., Certificate]) -> None:
    from learning.certificates.views import note_download

    certificate = issued()
    with app.test_request_context("/", method="GET"), pytest.raises(RuntimeError, match="POST only"):
        note_download(certificate, certificate.user_id)
    assert certificate.downloaded_at is None
