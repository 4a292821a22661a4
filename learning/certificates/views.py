"""Certificate pages: public verification, the issuer's published documents, the learner's downloads and
the secretariat's revocation and reissue."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response as BaseResponse

from learning import throttle
from learning.auth.choices import has_control_characters
from learning.auth.models import User
from learning.certificates import credential, keys, services
from learning.certificates.forms import ReissueForm, RevokeForm
from learning.certificates.models import Certificate
from learning.db import utcnow, write_in_this_request
from learning.extensions import db

bp = Blueprint("certificates", __name__, template_folder="templates")
STAFF = ("secretariat", "admin")


def lookup_or_abort(code: str) -> Certificate:
    """Find a certificate by its public code: rate-limited per address, 404 for anything unknown."""
    if throttle.hit("certificate-lookup", current_app.config["CERTIFICATE_LOOKUPS_PER_MINUTE"]):
        db.session.commit()
        abort(429)
    certificate = services.by_code(code)
    db.session.commit()  # keep the count
    if certificate is None:
        abort(404)
    return certificate


def private(response: Response) -> Response:
    """Pages about a person stay out of search engines and shared caches, and leak no address onwards."""
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/verify/<code>")
def verify(code: str) -> Response:
    certificate = lookup_or_abort(code)
    page = render_template("certificates/verify.html", view=services.public_view(certificate))
    return private(Response(page, mimetype="text/html"))


def json_document(document: dict[str, Any], max_age: int) -> Response:
    response = Response(json.dumps(document, ensure_ascii=False, indent=2), mimetype="application/json")
    response.headers["Cache-Control"] = f"public, max-age={max_age}"
    response.headers["Access-Control-Allow-Origin"] = "*"  # verifiers run in other sites' pages
    return response


@bp.get("/issuer")
def issuer() -> Response:
    return json_document(credential.issuer_profile(keys.published_keys()), max_age=3600)


@bp.get("/issuer/keys")
def issuer_keys() -> Response:
    return json_document(
        {
            "issuer": credential.issuer_id(),
            "keys": [credential.key_document(k) for k in keys.published_keys()],
        },
        max_age=3600,
    )


@bp.get("/issuer/keys/<kid>")
def issuer_key(kid: str) -> Response:
    key = keys.find_key(kid)
    if key is None:
        abort(404)
    return json_document(credential.key_document(key), max_age=3600)


@bp.get(f"/issuer/status/{credential.STATUS_LIST_NUMBER}")
def status_list() -> Response:
    document = credential.status_list_credential(services.revoked_indexes(), utcnow())
    return json_document(document, max_age=60)


# --- the learner's certificates -------------------------------------------------------------------------


def own_or_staff(serial: str) -> Certificate:
    certificate = services.by_serial(serial)
    if certificate is None:
        abort(404)
    if certificate.user_id != current_user.id and not current_user.has_role(*STAFF):
        abort(404)  # the same answer as for an unknown serial
    return certificate


def note_download(certificate: Certificate, downloader_id: int) -> None:
    """Record the holder's first download; staff downloads are not the holder's.

    Only from a POST (the download buttons are small forms): a GET changes nothing, so that links followed
    by mail scanners, previews or prefetching never count as the learner keeping their certificate.
    """
    if request.method != "POST":
        raise RuntimeError("a download is recorded from a POST only")
    if certificate.user_id != downloader_id or certificate.downloaded_at is not None:
        return
    write_in_this_request()
    db.session.commit()  # end the read; the write begins its own transaction (BEGIN IMMEDIATE on SQLite)
    services.mark_downloaded(certificate.id)
    db.session.commit()


def download(data: bytes, mimetype: str, filename: str) -> Response:
    """A file to save, never to render in the page (RELIABILITY rule 8)."""
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'; frame-ancestors 'none'"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/certificates/<serial>/certificate.pdf", methods=["GET", "POST"])
def pdf(serial: str) -> Response:
    """The PDF; the dashboard's button POSTs, which records the holder's first download (the reminders'
    certificate rule reads it); a GET (a saved link, the secretariat) only serves the file."""
    certificate = own_or_staff(serial)
    if certificate.holder_erased_at is not None:
        abort(404)  # the PDF went with the account; the row holds no name to render it again
    if request.method == "POST":
        note_download(certificate, current_user.id)
    data = services.pdf_bytes(certificate)
    db.session.commit()  # a PDF rendered again is kept
    return download(data, "application/pdf", f"certificate-{certificate.serial}.pdf")


@bp.route("/certificates/<serial>/credential.json", methods=["GET", "POST"])
def credential_file(serial: str) -> Response:
    certificate = own_or_staff(serial)
    if certificate.credential is None:
        abort(404)
    if request.method == "POST":
        note_download(certificate, current_user.id)
    return download(
        certificate.credential.encode(), "application/json", f"credential-{certificate.serial}.json"
    )


# --- the secretariat ------------------------------------------------------------------------------------


@bp.get("/secretariat/certificates")
def manage_list() -> str:
    query = request.args.get("q", "").strip()[:254]
    found: list[Certificate] = []
    if query and not has_control_characters(query):  # PostgreSQL refuses a NUL in a query
        user_ids = select(User.id).where(User.email == query.lower())
        found = list(
            db.session.scalars(
                select(Certificate)
                .where((Certificate.serial == query.upper()) | Certificate.user_id.in_(user_ids))
                .order_by(Certificate.issued_at.desc())
                .limit(50)
            )
        )
    return render_template("certificates/manage_list.html", query=query, found=found)


@bp.get("/secretariat/certificates/<serial>")
def manage(serial: str) -> str:
    certificate = services.by_serial(serial)
    if certificate is None:
        abort(404)
    return render_template(
        "certificates/manage.html",
        certificate=certificate,
        history=services.history(certificate),
        revoke_form=RevokeForm(),
        reissue_form=ReissueForm(),
    )


@bp.post("/secretariat/certificates/<serial>/revoke")
def revoke(serial: str) -> BaseResponse | tuple[str, int]:
    certificate = services.by_serial(serial)
    if certificate is None:
        abort(404)
    form = RevokeForm()
    if form.validate_on_submit():
        try:
            services.revoke(certificate, current_user, form.reason.data or "")
        except services.CertificateError as exc:
            db.session.rollback()
            flash(exc.message, "error")
        else:
            db.session.commit()
            flash(_("Certificate %(serial)s is revoked.", serial=certificate.serial), "success")
        return redirect(url_for("certificates.manage", serial=certificate.serial))
    return _manage_with_errors(certificate, revoke_form=form)


@bp.post("/secretariat/certificates/<serial>/reissue")
def reissue(serial: str) -> BaseResponse | tuple[str, int]:
    from learning.certificates.tasks import finish_certificate
    from learning.outbox import after_commit

    certificate = services.by_serial(serial)
    if certificate is None:
        abort(404)
    form = ReissueForm()
    if form.validate_on_submit():
        try:
            replacement = services.reissue(certificate, current_user, form.reason.data or "")
        except services.CertificateError as exc:
            db.session.rollback()
            flash(exc.message, "error")
            return redirect(url_for("certificates.manage", serial=certificate.serial))
        replacement_id = replacement.id
        # The worker renders the new PDF, then the holder gets the e-mail as for any new certificate.
        after_commit(lambda: finish_certificate.delay(replacement_id))
        db.session.commit()
        flash(_("Reissued as %(serial)s.", serial=replacement.serial), "success")
        return redirect(url_for("certificates.manage", serial=replacement.serial))
    return _manage_with_errors(certificate, reissue_form=form)


def _manage_with_errors(
    certificate: Certificate, revoke_form: RevokeForm | None = None, reissue_form: ReissueForm | None = None
) -> tuple[str, int]:
    page = render_template(
        "certificates/manage.html",
        certificate=certificate,
        history=services.history(certificate),
        revoke_form=revoke_form or RevokeForm(),
        reissue_form=reissue_form or ReissueForm(),
    )
    return page, 400
