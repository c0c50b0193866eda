"""``/api/openapi.json`` (OpenAPI 3.1, generated from the declared operations) and ``/api/docs``."""

from __future__ import annotations

from typing import Any, get_args, get_origin

from flask import Blueprint, Flask, Response, json, render_template
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from stamp_service.web.api import OPERATIONS, openapi_path

bp = Blueprint("openapi", __name__)

PROBLEM_SCHEMA = {
    "type": "object",
    "description": "RFC 9457 problem details",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string", "examples": ["/problems/validation-failed"]},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
}

_STATUS_TEXT = {
    400: "Malformed request",
    401: "Missing or invalid token",
    403: "Role not allowed",
    404: "Not found",
    409: "Conflict",
    413: "Body too large",
    415: "Not JSON",
    422: "Invalid fields or rule violated",
    429: "Rate limited",
}


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in get_args(annotation) for m in _models_in(arg)]


def _schema_ref(annotation: Any) -> dict[str, Any]:
    if get_origin(annotation) is list:
        (inner,) = get_args(annotation)
        return {"type": "array", "items": _schema_ref(inner)}
    name = annotation.__name__ if isinstance(annotation, type) else str(annotation)
    return {"$ref": f"#/components/schemas/{name}"}


def build_document(version: str) -> dict[str, Any]:
    models: list[tuple[type[BaseModel], str]] = []
    for op in OPERATIONS:
        if op.body is not None:
            models.append((op.body, "validation"))
        if op.response is not None:
            models.extend((m, "serialization") for m in _models_in(op.response))
    seen: dict[type[BaseModel], str] = {}
    for model, mode in models:
        seen.setdefault(model, mode)
    _, defs = (
        models_json_schema(
            list(seen.items()),  # type: ignore[arg-type]
            ref_template="#/components/schemas/{model}",
        )
        if seen
        else ({}, {"$defs": {}})
    )
    schemas: dict[str, Any] = dict(defs.get("$defs", {}))
    schemas["Problem"] = PROBLEM_SCHEMA

    paths: dict[str, Any] = {}
    for op in sorted(OPERATIONS, key=lambda o: (o.rule, o.method)):
        path, params = openapi_path(op.rule)
        if op.query is not None:
            for name, field in op.query.model_fields.items():
                schema = op.query.model_json_schema()["properties"].get(name, {})
                params.append(
                    {"name": name, "in": "query", "required": field.is_required(), "schema": schema}
                )
        responses: dict[str, Any] = {}
        if op.status == 204:
            responses["204"] = {"description": "Done"}
        elif op.response is not None:
            responses[str(op.status)] = {
                "description": "Success",
                "content": {"application/json": {"schema": _schema_ref(op.response)}},
            }
        else:
            responses[str(op.status)] = {"description": "Success"}
        codes = set(op.errors) | ({401, 403} if op.auth else set())
        if op.body is not None:
            codes |= {400, 413, 415, 422}
        if op.query is not None:
            codes.add(422)
        for code in sorted(codes):
            responses[str(code)] = {
                "description": _STATUS_TEXT.get(code, "Error"),
                "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
            }
        entry: dict[str, Any] = {
            "operationId": op.endpoint.replace(".", "_"),
            "summary": op.summary,
            "tags": [op.tag],
            "parameters": params,
            "responses": responses,
        }
        if op.description:
            entry["description"] = op.description
        if op.auth:
            entry["security"] = [{"bearer": []}]
            entry["x-roles"] = list(op.roles)
        if op.body is not None:
            entry["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": _schema_ref(op.body)}},
            }
        paths.setdefault(path, {})[op.method] = entry
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "OCOP stamp service",
            "version": version,
            "description": "Registry, signed traceability stamps, verification and revocation "
            "for Vietnam's OCOP programme. Errors are RFC 9457 problem+json.",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


_DOCUMENT_CACHE: dict[str, Any] = {}


def document() -> dict[str, Any]:
    if "doc" not in _DOCUMENT_CACHE:
        from importlib.metadata import PackageNotFoundError, version

        try:
            v = version("ocop-stamp-service")
        except PackageNotFoundError:  # pragma: no cover - running from a source tree
            v = "0"
        _DOCUMENT_CACHE["doc"] = build_document(v)
    return _DOCUMENT_CACHE["doc"]  # type: ignore[no-any-return]


@bp.get("/api/openapi.json")
def openapi_json() -> Response:
    return Response(json.dumps(document(), ensure_ascii=False), mimetype="application/json")


@bp.get("/api/docs")
def api_docs() -> str:
    return render_template("api_docs.html", doc=document())


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
