"""Declaring JSON operations once: validation, auth, response shape and the OpenAPI entry.

A view is declared with :func:`operation`; it receives the validated ``body``
and ``query`` models and the caller as ``principal`` (keyword-only) and returns
a pydantic model, a list of them, a ``Page`` or a ``(model, status)`` pair. The
same declaration feeds ``/api/openapi.json``, so the document cannot drift from
the code.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

from flask import Blueprint, Response, json, request
from pydantic import BaseModel, ValidationError

from stamp_service.domain.access import Role, require_role
from stamp_service.errors import (
    MalformedRequest,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
)
from stamp_service.schemas.common import FieldValueError, Page, PageQuery, QueryModel, Strict
from stamp_service.web.auth import current_principal

__all__ = ["OPERATIONS", "Page", "PageQuery", "QueryModel", "Strict", "operation"]


@dataclass
class Operation:
    method: str
    rule: str
    endpoint: str
    summary: str
    tag: str
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    response: Any
    status: int
    auth: bool
    roles: tuple[str, ...]
    errors: tuple[int, ...]
    description: str = ""
    uploads: tuple[str, ...] = ()  # media types of a raw (non-JSON) body the view reads itself
    extra_responses: dict[str, Any] = field(default_factory=dict)


OPERATIONS: list[Operation] = []


def validation_errors(exc: ValidationError, prefix: str = "") -> list[dict[str, Any]]:
    out = []
    for err in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in err["loc"])
        message = err["msg"]
        cause = err.get("ctx", {}).get("error")
        if isinstance(cause, FieldValueError) and cause.field:
            loc, message = ".".join(filter(None, (loc, cause.field))), str(cause)
        ctx = {k: v if isinstance(v, int | float) else str(v) for k, v in err.get("ctx", {}).items()}
        # ``_type``/``_ctx`` let web.errors word the message in the caller's language; not sent.
        out.append(
            {"field": f"{prefix}{loc or '(body)'}", "message": message, "_type": err["type"], "_ctx": ctx}
        )
    return out


def parse_body(model: type[BaseModel]) -> BaseModel:
    limit = request.max_content_length
    if request.content_length is not None and limit is not None and request.content_length > limit:
        raise PayloadTooLarge()
    if request.mimetype != "application/json":
        raise UnsupportedMediaType("send the body as application/json")
    raw = request.get_data(cache=True)
    try:
        return model.model_validate_json(raw or b"")
    except ValidationError as exc:
        if any(e["type"] == "json_invalid" for e in exc.errors()):
            raise MalformedRequest() from None
        raise ValidationFailed(validation_errors(exc)) from None


def parse_query(model: type[BaseModel]) -> BaseModel:
    data: dict[str, Any] = {}
    for key in request.args:
        values = request.args.getlist(key)
        data[key] = values if len(values) > 1 else values[0]
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed(validation_errors(exc, "query.")) from None


def _render(result: Any, status: int) -> Response:
    if isinstance(result, Response):
        return result
    if isinstance(result, tuple):
        result, status = result
    if isinstance(result, BaseModel):
        payload: Any = result.model_dump(mode="json")
    elif isinstance(result, list):
        payload = [r.model_dump(mode="json") if isinstance(r, BaseModel) else r for r in result]
    else:
        payload = result
    if status == 204:
        empty = Response(status=204)
        del empty.headers["Content-Type"]  # no content, so no content type (Flask defaults to text/html)
        return empty
    return Response(json.dumps(payload, ensure_ascii=False), status=status, mimetype="application/json")


def operation(
    bp: Blueprint,
    rule: str,
    *,
    method: str,
    summary: str,
    tag: str,
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    response: Any = None,
    status: int = 200,
    auth: bool = True,
    roles: tuple[str, ...] = ("admin", "producer", "inspector"),
    errors: tuple[int, ...] = (),
    description: str = "",
    uploads: tuple[str, ...] = (),
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a JSON operation on ``bp`` and in the OpenAPI document.

    ``roles`` says who may call it: checked here before the body is read, and documented.
    """

    allowed = tuple(Role(r) for r in roles)

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapper(**path_args: Any) -> Response:
            kwargs: dict[str, Any] = dict(path_args)
            if auth:
                # The role first: a caller who may not use the operation learns nothing about
                # its body's rules (403, not 422 with field details). Services check it again,
                # with the per-record scope only they can judge.
                kwargs["principal"] = principal = current_principal()
                require_role(principal, *allowed)
            if query is not None:
                kwargs["query"] = parse_query(query)
            if body is not None:
                kwargs["body"] = parse_body(body)
            return _render(view(**kwargs), status)

        bp.add_url_rule(rule, endpoint=view.__name__, view_func=wrapper, methods=[method])
        prefix = bp.url_prefix or ""
        OPERATIONS.append(
            Operation(
                method=method.lower(),
                rule=prefix + rule,
                endpoint=f"{bp.name}.{view.__name__}",
                summary=summary,
                tag=tag,
                body=body,
                query=query,
                response=response,
                status=status,
                auth=auth,
                roles=roles,
                errors=errors,
                description=description or (view.__doc__ or "").strip(),
                uploads=uploads,
            )
        )
        return wrapper

    return decorate


_PATH_PARAM = re.compile(r"<(?:(\w+):)?(\w+)>")


def openapi_path(rule: str) -> tuple[str, list[dict[str, Any]]]:
    params = []
    for converter, name in _PATH_PARAM.findall(rule):
        schema = {"type": "integer"} if converter == "int" else {"type": "string"}
        params.append({"name": name, "in": "path", "required": True, "schema": schema})
    return _PATH_PARAM.sub(lambda m: "{" + m.group(2) + "}", rule), params
