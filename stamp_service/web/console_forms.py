"""Form parsing for the console's registry pages: a form into the API's input model, errors per field.

The pages validate with the same pydantic models as the API (one set of rules); a failure becomes a
message next to its field. Where the model's own message would show a regular expression, the page
says what to type instead (``hints``); the template translates the message.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, TypeVar

from flask import Blueprint, request
from pydantic import BaseModel, ValidationError

from stamp_service.errors import ValidationFailed
from stamp_service.web.i18n import format_number
from stamp_service.web.people import lang

M = TypeVar("M", bound=BaseModel)

REQUIRED = "Fill in this field."
INVALID = "Check this value."


def cleaned(fields: tuple[str, ...]) -> dict[str, str]:
    """The posted values of ``fields``, trimmed ("" for a missing one)."""
    return {name: request.form.get(name, "").strip() for name in fields}


def parse(
    model: type[M], form: Mapping[str, Any], hints: Mapping[str, str], numbers: tuple[str, ...] = ()
) -> tuple[M | None, dict[str, str]]:
    """``model`` from the form (empty values left out), or the errors by field.

    Parsed as the API parses JSON (the input models are strict: enums and dates from text);
    ``numbers`` are the fields sent as numbers when they are digits.
    """
    data: dict[str, Any] = {k: v for k, v in form.items() if v not in ("", None)}
    for name in numbers:
        value = data.get(name)
        if isinstance(value, str) and value.isdigit() and len(value) < 10:
            data[name] = int(value)
    try:
        return model.model_validate_json(json.dumps(data)), {}
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for err in exc.errors(include_url=False):
            name = str(err["loc"][0]) if err["loc"] else ""
            if not name:  # a rule across fields (model validator): its message names the field
                name = next((f for f in hints if f in str(err["msg"])), "")
            message = REQUIRED if err["type"] == "missing" else hints.get(name, INVALID)
            errors.setdefault(name or "form", message)
        return None, errors


def service_errors(exc: ValidationFailed, hints: Mapping[str, str]) -> dict[str, str]:
    """A service's field errors, worded for the page where a hint exists (else its own message)."""
    return {e["field"]: hints.get(e["field"], e["message"]) for e in exc.errors}


def page_number() -> int:
    raw = request.args.get("page", "")
    return min(int(raw), 100_000) if raw.isdigit() and 0 < len(raw) < 7 and int(raw) > 0 else 1


def add_number_format(bp: Blueprint) -> None:
    """``fmt_num`` in this blueprint's templates: numbers grouped in the page's language (2.000)."""

    @bp.context_processor
    def _numbers() -> dict[str, Any]:
        current = lang()
        return {"fmt_num": lambda value: format_number(value, current)}
