"""The OpenAPI 3.1 document, generated from the declared routes and their pydantic models."""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Literal

from flask import jsonify
from flask.wrappers import Response
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from learning.api.routing import OPERATIONS, bp
from learning.errors import CODES

REF = "#/components/schemas/{model}"

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "fields"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "fields": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        }
    },
}


@lru_cache(maxsize=1)
def document() -> dict[str, Any]:
    """Build the OpenAPI document once per process."""
    models: list[tuple[type[BaseModel], Literal["validation", "serialization"]]] = []
    for op in OPERATIONS:
        if op.body is not None:
            models.append((op.body, "validation"))
        if op.response is not None:
            models.append((op.response, "serialization"))
        models.extend((model, "serialization") for model in op.other_responses.values())
    refs, definitions = models_json_schema(models, ref_template=REF)
    schemas = {**definitions.get("$defs", {}), "Error": ERROR_SCHEMA}
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        operation: dict[str, Any] = {"operationId": op.name, "summary": op.summary, "responses": {}}
        if op.roles:
            operation["description"] = f"Only for users with the role {' or '.join(op.roles)}."
        params = [
            {
                "name": name,
                "in": "path",
                "required": True,
                "schema": {"type": "integer", "minimum": 0} if conv == "int" else {"type": "string"},
            }
            for name, conv in op.path_params.items()
        ]
        if params:
            operation["parameters"] = params
        if op.auth:
            operation["security"] = [{"bearer": []}]
        else:
            operation["security"] = []
        if op.query:
            operation.setdefault("parameters", []).extend(
                {"name": name, "in": "query", "required": False, "schema": {"type": kind}}
                for name, kind in op.query.items()
            )
        if op.multipart:
            operation["requestBody"] = {
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "required": list(op.multipart),
                            "properties": {
                                name: {"type": "string", "format": "binary"} for name in op.multipart
                            },
                        }
                    }
                },
            }
        if op.body is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": refs[(op.body, "validation")]}},
            }
        if op.response is not None:
            content: dict[str, Any] = {"application/json": {"schema": refs[(op.response, "serialization")]}}
            for media in op.alternative_media:
                content[media] = {"schema": {"type": "string"}}
            success = {"description": "OK", "content": content}
            operation["responses"][str(op.status)] = success
            if op.name == "put_enrolment":
                operation["responses"]["201"] = {**success, "description": "Enrolled"}
        elif op.response_media != "application/json":
            operation["responses"][str(op.status)] = {
                "description": "OK",
                "content": {op.response_media: {"schema": {"type": "string", "format": "binary"}}},
            }
        else:
            operation["responses"][str(op.status)] = {"description": "No content"}
        for status in sorted(
            {*op.errors, 413, 500, *((401,) if op.auth else ()), *((403,) if op.roles else ())}
        ):
            if status in op.other_responses:
                schema = refs[(op.other_responses[status], "serialization")]
                operation["responses"][str(status)] = {
                    "description": CODES.get(status, "error").replace("_", " "),
                    "content": {"application/json": {"schema": schema}},
                }
                continue
            operation["responses"][str(status)] = {
                "description": CODES.get(status, "error").replace("_", " "),
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            }
        paths.setdefault("/api/v1" + op.path, {})[op.method] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Smart Port Academy API",
            "version": "1.0.0",
            "description": "The learner's journey as JSON, for mobile and offline clients. Errors are "
            '{"error": {"code", "message", "fields"}}.',
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


@bp.get("/openapi.json")
def openapi_json() -> Response:
    return jsonify(document())
