"""The JSON API under /api/v1, for mobile and offline clients, described by /api/v1/openapi.json."""

from learning.api import certificates, courses, me, openapi, quizzes, tokens  # noqa: F401,E402  (registers the routes)
from learning.api.routing import bp
from learning.privacy import api as privacy_api  # noqa: F401,E402  (GET /me/export)
from learning.reports import api as reports_api  # noqa: F401,E402  (the reports API routes)

__all__ = ["bp"]
