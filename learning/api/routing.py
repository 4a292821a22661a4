"""Declaring API routes once: the Flask route, body parsing, the response model and the OpenAPI entry."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

from flask import Blueprint, Response, g, request
from pydantic import BaseModel, ValidationError

from learning.auth.services import user_for_token
from learning.errors import json_error
from learning.extensions import db
from learning.security.permissions import access_for

bp = Blueprint("api", __name__, url_prefix="/api/v1")


class ApiError(Exception):
    """An error answered as JSON with ``status``; raised anywhere in an API view."""

    def __init__(self, status: int, code: str, message: str, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields or {}


@bp.errorhandler(ApiError)
def _api_error(error: ApiError) -> Response:
    db.session.rollback()
    return json_error(error.status, error.message, error.code, error.fields)


@dataclass
class Operation:
    path: str
    method: str
    name: str
    summary: str
    body: type[BaseModel] | None
    response: type[BaseModel] | None
    status: int
    auth: bool
    errors: tuple[int, ...]
    path_params: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    response_media: str = "application/json"
    multipart: tuple[str, ...] = ()
    other_responses: dict[int, type[BaseModel]] = field(default_factory=dict)
    roles: tuple[str, ...] = ()
    # further media types the success answer comes in, chosen by the Accept header (e.g. text/csv)
    alternative_media: tuple[str, ...] = ()


OPERATIONS: list[Operation] = []
_CONVERTER = re.compile(r"<(?:(\w+):)?(\w+)>")


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip() or len(token) > 200:
        return None
    return token.strip()


def unauthorized() -> ApiError:
    return ApiError(401, "unauthorized", "A valid bearer token is required.")


def bearer_or_401() -> str:
    """Return the request's bearer token (not yet checked), or raise 401 when there is none."""
    token = _bearer()
    if token is None:
        raise unauthorized()
    return token


def authenticate_request() -> None:
    """Set ``g.api_user`` and ``g.api_token`` from the bearer token, or raise 401 (once per request)."""
    if "api_user" in g:
        return
    found = user_for_token(bearer_or_401())
    if found is None:
        raise unauthorized()
    g.api_user, g.api_token = found


def _access(
    name: str, auth: bool | None, roles: tuple[str, ...] | None
) -> tuple[bool, tuple[str, ...], bool]:
    """Whether the endpoint needs a token, which roles, and whether its view checks the token itself,
    from the permissions table."""
    access = access_for(f"api.{name}")
    if access is None:  # refused on every request until it is in the table (a test fails meanwhile)
        return True, tuple(roles or ()), False
    needs_token, needed_roles = not access.public, tuple(sorted(access.roles or ()))
    if (auth is not None and auth != needs_token) or (roles is not None and set(roles) != set(needed_roles)):
        given = f"api_route(auth={auth}, roles={roles})"
        raise ValueError(f"api.{name}: {given} disagrees with the permissions table: {access.describe()}")
    if access.in_view and (needed_roles or not needs_token):
        raise ValueError(f"api.{name}: a view checks the token itself only for a token and no role")
    return needs_token, needed_roles, access.in_view


def parse_body(model: type[BaseModel]) -> BaseModel:
    """Parse the JSON body into ``model``: 400 when it is not JSON, 422 with fields when it does not fit."""
    if not request.is_json:
        raise ApiError(415, "unsupported_media_type", "Send the body as application/json.")
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError(400, "bad_request", "The body must be a JSON object.")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        fields = {".".join(str(p) for p in err["loc"]) or "body": err["msg"] for err in exc.errors()}
        raise ApiError(422, "validation_failed", "Some fields are not valid.", fields) from None


def api_route(
    path: str,
    method: str,
    *,
    summary: str,
    response: type[BaseModel] | None = None,
    body: type[BaseModel] | None = None,
    status: int = 200,
    auth: bool | None = None,
    errors: tuple[int, ...] = (),
    query: dict[str, str] | None = None,
    response_media: str = "application/json",
    multipart: tuple[str, ...] = (),
    other_responses: dict[int, type[BaseModel]] | None = None,
    roles: tuple[str, ...] | None = None,
    alternative_media: tuple[str, ...] = (),
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register an API view; it receives ``body=`` when a body model is given and returns a model
    (or a (model, status) pair, or None for 204). Who may call it comes from the permissions table
    (learning.security.permissions); ``auth`` and ``roles``, when given, must agree with it.

    An entry of the table marked ``in_view`` still requires a bearer token, but the view checks it itself
    (with ``bearer_or_401``, in a statement of its own, setting ``g.api_user``) before anything else."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        needs_token, needed_roles, in_view = _access(view.__name__, auth, roles)
        params = {name: (conv or "string") for conv, name in _CONVERTER.findall(path)}
        OPERATIONS.append(
            Operation(
                path=_CONVERTER.sub(r"{\2}", path),
                method=method.lower(),
                name=view.__name__,
                summary=summary,
                body=body,
                response=response,
                status=status,
                auth=needs_token,
                errors=errors,
                path_params=params,
                query=query or {},
                response_media=response_media,
                multipart=multipart,
                other_responses=other_responses or {},
                roles=needed_roles,
                alternative_media=alternative_media,
            )
        )

        @wraps(view)
        def wrapped(**kwargs: Any) -> Any:
            # The permissions check before every request has done this already; kept here so that an API
            # view never runs without it.
            if needs_token and not in_view:
                authenticate_request()
                if needed_roles and not g.api_user.has_role(*needed_roles):
                    raise ApiError(
                        403, "forbidden", f"Only these roles may do this: {', '.join(needed_roles)}."
                    )
            if body is not None:
                kwargs["body"] = parse_body(body)
            if multipart and request.mimetype != "multipart/form-data":
                raise ApiError(415, "unsupported_media_type", "Send the body as multipart/form-data.")
            result = view(**kwargs)
            if result is None:
                return Response(status=204)
            code = status
            if isinstance(result, tuple):
                result, code = result
            if isinstance(result, Response):
                return result
            return Response(result.model_dump_json(), status=code, mimetype="application/json")

        bp.add_url_rule(path, endpoint=view.__name__, view_func=wrapped, methods=[method])
        return wrapped

    return decorator
