"""The JSON API under /api/v1, for mobile and offline clients, described by /api/v1/openapi.json."""

from learning.api import courses, me, openapi, quizzes, tokens  # noqa: F401,E402  (registers the routes)
from learning.api.routing import bp

__all__ = ["bp"]
