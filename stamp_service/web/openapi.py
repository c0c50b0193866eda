"""``/api/openapi.json`` (OpenAPI 3.1, generated from the declared operations) and ``/api/docs``."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from flask import Blueprint, Flask, Response, json, render_template
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from stamp_service.web.api import OPERATIONS, Operation, openapi_path

bp = Blueprint("openapi", __name__)
REF_PREFIX = "#/components/schemas/"

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
    414: "URI too long (more than 4,096 characters)",
    415: "Not JSON",
    422: "Invalid fields or rule violated",
    429: "Rate limited",
    503: "Database busy or restarting (database-busy), or no signing key; retry after Retry-After",
}
_RETRY_AFTER = {"description": "Seconds to wait before retrying", "schema": {"type": "integer"}}
# Headers an error answer always carries (schemathesis checks documented headers are sent).
_ERROR_HEADERS: dict[int, dict[str, Any]] = {
    401: {
        "WWW-Authenticate": {"description": "Always `Bearer`", "schema": {"type": "string"}, "required": True}
    },
    429: {"Retry-After": {**_RETRY_AFTER, "required": True}},
    503: {"Retry-After": _RETRY_AFTER},
}


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in get_args(annotation) for m in _models_in(arg)]


Mode = Literal["validation", "serialization"]
RefMap = dict[tuple[type[BaseModel], Mode], dict[str, Any]]


def _schema_ref(annotation: Any, mode: Mode, refs: RefMap) -> dict[str, Any]:
    """The schema of a body or response annotation, as references into ``components``.

    The names come from pydantic's own map (``Page[X]`` is ``Page_X_``, two models of one name
    in two modules get qualified names), never from ``__name__``: a guessed name may dangle.
    """
    if get_origin(annotation) is list:
        (inner,) = get_args(annotation)
        return {"type": "array", "items": _schema_ref(inner, mode, refs)}
    return dict(refs[(annotation, mode)])


def _component_schemas(
    operations: list[Operation],
) -> tuple[RefMap, dict[str, Any]]:
    """Every body, query and response model in one pydantic pass: one set of component names."""
    wanted: dict[tuple[type[BaseModel], Mode], None] = {}
    for op in operations:
        if op.body is not None:
            wanted[(op.body, "validation")] = None
        if op.query is not None:
            wanted[(op.query, "validation")] = None
        if op.response is not None:
            for model in _models_in(op.response):
                wanted[(model, "serialization")] = None
    if not wanted:
        return {}, {}
    refs, defs = models_json_schema(list(wanted), ref_template=REF_PREFIX + "{model}")
    return {key: refs[key] for key in wanted}, dict(defs.get("$defs", {}))


def _query_parameters(query: type[BaseModel], refs: RefMap, schemas: dict[str, Any]) -> list[dict[str, Any]]:
    """One ``in: query`` parameter per field; enum types stay references to their component."""
    component = schemas[refs[(query, "validation")]["$ref"].removeprefix(REF_PREFIX)]
    params = []
    for name, field in query.model_fields.items():
        schema = dict(component["properties"].get(name, {}))
        param: dict[str, Any] = {"name": name, "in": "query", "required": field.is_required()}
        if "description" in schema:
            param["description"] = schema.pop("description")
        param["schema"] = schema
        params.append(param)
    return params


def build_document(version: str) -> dict[str, Any]:
    operations = list(OPERATIONS)
    refs, schemas = _component_schemas(operations)
    schemas["Problem"] = PROBLEM_SCHEMA

    paths: dict[str, Any] = {}
    for op in sorted(operations, key=lambda o: (o.rule, o.method)):
        path, params = openapi_path(op.rule)
        if op.query is not None:
            params.extend(_query_parameters(op.query, refs, schemas))
        responses: dict[str, Any] = {}
        if op.status == 204:
            responses["204"] = {"description": "Done"}
        elif op.response is not None:
            responses[str(op.status)] = {
                "description": "Success",
                "content": {"application/json": {"schema": _schema_ref(op.response, "serialization", refs)}},
            }
        else:
            responses[str(op.status)] = {"description": "Success"}
        # Every operation reads or writes the database, which may be busy (SQLite's one writer)
        # or restarting (PostgreSQL): 503 database-busy is a possible answer everywhere.
        # Any request target may be too long (web.errors.MAX_REQUEST_TARGET).
        codes = set(op.errors) | ({401, 403} if op.auth else set()) | {414, 503}
        if op.body is not None:
            codes |= {400, 413, 415, 422}
        if op.uploads:
            codes |= {413, 415, 422}
        if op.query is not None:
            codes.add(422)
        for code in sorted(codes):
            responses[str(code)] = {
                "description": _STATUS_TEXT.get(code, "Error"),
                "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
            }
            if code in _ERROR_HEADERS:
                responses[str(code)]["headers"] = _ERROR_HEADERS[code]
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
                "content": {"application/json": {"schema": _schema_ref(op.body, "validation", refs)}},
            }
        if op.uploads:
            binary = {"schema": {"type": "string", "format": "binary"}}
            entry["requestBody"] = {"required": True, "content": {t: binary for t in op.uploads}}
        paths.setdefault(path, {})[op.method] = entry
    for query in {op.query for op in operations if op.query is not None}:
        # Query models become parameters, not components (their enums stay components).
        schemas.pop(refs[(query, "validation")]["$ref"].removeprefix(REF_PREFIX), None)
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


def referenced_schemas(node: Any) -> list[str]:
    """The component names ``node`` refers to, in order of first use (the docs page links them)."""
    found: dict[str, None] = {}
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(REF_PREFIX):
            found[ref.removeprefix(REF_PREFIX)] = None
        for value in node.values():
            found.update(dict.fromkeys(referenced_schemas(value)))
    elif isinstance(node, list):
        for value in node:
            found.update(dict.fromkeys(referenced_schemas(value)))
    return list(found)


_DOCS_CSS = (Path(__file__).resolve().parent.parent / "templates" / "api_docs.css").read_text().strip()
DOCS_CSP = (
    "default-src 'none'; "
    f"style-src 'sha256-{base64.b64encode(hashlib.sha256(_DOCS_CSS.encode()).digest()).decode()}'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


@bp.get("/api/docs")
def api_docs() -> Response:
    """A readable rendering of the document: each operation links the schemas it uses."""
    html = render_template("api_docs.html", doc=document(), css=_DOCS_CSS, refs=referenced_schemas)
    response = Response(html, mimetype="text/html")
    response.headers["Content-Security-Policy"] = DOCS_CSP
    return response


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
