"""Certificates in the API: public look-up by code, and the learner's own certificates and files."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from flask import Response, current_app, g
from pydantic import BaseModel, ConfigDict, Field

from learning import throttle
from learning.api.routing import ApiError, api_route
from learning.certificates import services
from learning.certificates.models import Certificate
from learning.certificates.views import download, note_download
from learning.extensions import db


class CertificateLookupOut(BaseModel):
    """What anyone holding a certificate's code may know: nothing else about the holder."""

    status: Literal["valid", "revoked", "superseded"]
    holder_name: str | None = Field(description="null: issued to an account that was erased since")
    course_title: str
    completed_at: datetime
    issued_at: datetime
    serial: str
    revoked_at: datetime | None
    revocation_reason: str | None


class MyCertificateOut(BaseModel):
    serial: str
    status: Literal["valid", "revoked"]
    course_title: str
    hours: float
    completed_at: datetime
    issued_at: datetime
    revocation_reason: str | None
    verify_url: str
    pdf_url: str
    credential_url: str


class MyCertificatesOut(BaseModel):
    certificates: list[MyCertificateOut]


class CredentialOut(BaseModel):
    """A signed Open Badges 3.0 credential (OpenBadgeCredential), exactly as signed."""

    model_config = ConfigDict(extra="allow")


@api_route(
    "/certificates/<code>",
    "GET",
    summary="Verify a certificate by its code (public, rate-limited)",
    response=CertificateLookupOut,
    auth=False,
    errors=(404, 429),
)
def lookup_certificate(code: str) -> CertificateLookupOut:
    if throttle.hit("certificate-lookup", current_app.config["CERTIFICATE_LOOKUPS_PER_MINUTE"]):
        db.session.commit()
        raise ApiError(429, "throttled", "Too many look-ups. Wait a minute and try again.")
    certificate = services.by_code(code)
    db.session.commit()
    if certificate is None:
        raise ApiError(404, "not_found", "No certificate has this code.")
    view = services.public_view(certificate)
    return CertificateLookupOut(
        status=view.status,  # type: ignore[arg-type]
        holder_name=view.holder_name,
        course_title=view.course_title,
        completed_at=view.completed_on,
        issued_at=view.issued_on,
        serial=view.serial,
        revoked_at=view.revoked_on,
        revocation_reason=view.revocation_reason,
    )


def _mine(serial: str) -> Certificate:
    certificate = services.by_serial(serial)
    if certificate is None or certificate.user_id != g.api_user.id or certificate.status == "superseded":
        raise ApiError(404, "not_found", "You have no certificate with this serial.")
    return certificate


@api_route(
    "/me/certificates", "GET", summary="The learner's certificates", response=MyCertificatesOut, errors=(401,)
)
def my_certificates() -> MyCertificatesOut:
    base = current_app.config["BASE_URL"].rstrip("/")
    return MyCertificatesOut(
        certificates=[
            MyCertificateOut(
                serial=c.serial,
                status=c.status,  # type: ignore[arg-type]
                course_title=c.course_title,
                hours=c.hours,
                completed_at=c.completed_at,
                issued_at=c.issued_at,
                revocation_reason=c.revocation_reason,
                verify_url=f"{base}/verify/{c.code}",
                pdf_url=f"{base}/api/v1/me/certificates/{c.serial}/pdf",
                credential_url=f"{base}/api/v1/me/certificates/{c.serial}/credential",
            )
            for c in services.certificates_of(g.api_user)
        ]
    )


def _credential_file(certificate: Certificate) -> Response:
    if certificate.credential is None:
        raise ApiError(404, "not_found", "This certificate's credential is not ready yet.")
    return download(
        certificate.credential.encode(), "application/json", f"credential-{certificate.serial}.json"
    )


def _pdf_file(certificate: Certificate) -> Response:
    data = services.pdf_bytes(certificate)
    db.session.commit()  # a PDF rendered again is kept
    return download(data, "application/pdf", f"certificate-{certificate.serial}.pdf")


# A GET serves the file and changes nothing; the POST on the same address serves it and records that the
# learner kept their certificate (which ends the reminders' "download your certificate" follow-up).


@api_route(
    "/me/certificates/<serial>/credential",
    "GET",
    summary="Download a certificate's signed Open Badges 3.0 credential",
    response=CredentialOut,
    errors=(401, 404),
)
def my_credential(serial: str) -> Any:
    return _credential_file(_mine(serial))


@api_route(
    "/me/certificates/<serial>/credential",
    "POST",
    summary="Download a certificate's signed credential and record that the learner kept it",
    response=CredentialOut,
    errors=(401, 404),
)
def keep_credential(serial: str) -> Any:
    certificate = _mine(serial)
    response = _credential_file(certificate)
    note_download(certificate, g.api_user.id)
    return response


@api_route(
    "/me/certificates/<serial>/pdf",
    "GET",
    summary="Download a certificate as PDF",
    response_media="application/pdf",
    errors=(401, 404),
)
def my_certificate_pdf(serial: str) -> Response:
    return _pdf_file(_mine(serial))


@api_route(
    "/me/certificates/<serial>/pdf",
    "POST",
    summary="Download a certificate as PDF and record that the learner kept it",
    response_media="application/pdf",
    errors=(401, 404),
)
def keep_certificate_pdf(serial: str) -> Response:
    certificate = _mine(serial)
    note_download(certificate, g.api_user.id)
    return _pdf_file(certificate)
