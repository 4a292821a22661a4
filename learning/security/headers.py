"""Security headers on every response, with a fresh CSP nonce per request (RELIABILITY rule 9)."""

from __future__ import annotations

import secrets

from flask import Flask, Response, g, request

from learning.errors import log_forbidden


def csp_nonce() -> str:
    """Return this request's nonce for inline scripts and styles."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return str(g.csp_nonce)


def register(app: Flask) -> None:
    app.jinja_env.globals["csp_nonce"] = csp_nonce

    @app.after_request
    def set_headers(response: Response) -> Response:
        nonce = csp_nonce()
        # A view may have set a stricter policy (a download's sandbox, a page that sends no referrer); it
        # still may not be framed.
        own = response.headers.get("Content-Security-Policy")
        if own is not None and "frame-ancestors" not in own:
            response.headers["Content-Security-Policy"] = own.rstrip("; ") + "; frame-ancestors 'none'"
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; "
            f"script-src 'self' 'nonce-{nonce}'; "
            f"style-src 'self' 'nonce-{nonce}'; "
            "img-src 'self' data:; "
            "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        )
        response.headers["Strict-Transport-Security"] = (
            f"max-age={app.config['HSTS_SECONDS']}; includeSubDomains"
        )
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
        if request.blueprint in ("auth", "api") or response.mimetype == "text/html":
            response.headers.setdefault("Cache-Control", "no-store")
        if response.status_code == 403:
            # Here rather than in the error handlers, so that a view's own 403 answer is logged too.
            log_forbidden()
        return response
