"""The learner's data in the API: GET /api/v1/me/export."""

from __future__ import annotations

from flask import g

from learning.api.routing import api_route
from learning.privacy.export import personal_data
from learning.privacy.schemas import PersonalDataOut


@api_route(
    "/me/export",
    "GET",
    summary="Everything the platform holds about you, as one JSON document (the same as on /account/data)",
    response=PersonalDataOut,
    errors=(401,),
)
def my_export() -> PersonalDataOut:
    return personal_data(g.api_user)
