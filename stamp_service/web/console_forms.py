"""Form parsing for the console's registry pages: a form into the API's input model, errors per field.

The pages validate with the same pydantic models as the API (one set of rules); a failure becomes a
message next to its field. Where the model's own message would show a regular expression, the page
says what to type instead (``hints``); the template translates the message.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
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


def subject_field(message: str, fields: Iterable[str]) -> str:
    """The field a rule across fields is about: the first of ``fields`` its message names.

    "valid_until must be after signed_on" is about ``valid_until`` (named first), not about the
    first field of the form that the message happens to mention. Names match as whole words
    (``on`` is not found in ``signed_on``); "" when the message names none.
    """
    found = [(m.start(), f) for f in fields if (m := re.search(rf"(?<!\w){re.escape(f)}(?!\w)", message))]
    return min(found)[1] if found else ""


def parse(
    model: type[M],
    form: Mapping[str, Any],
    hints: Mapping[str, str],
    numbers: tuple[str, ...] = (),
    rules: Mapping[str, str] | None = None,
) -> tuple[M | None, dict[str, str]]:
    """``model`` from the form (empty values left out), or the errors by field.

    Parsed as the API parses JSON (the input models are strict: enums and dates from text);
    ``numbers`` are the fields sent as numbers when they are digits. A rule across fields (a model
    validator) goes next to the field its message is about (``subject_field``), worded by
    ``rules[field]`` when given (the field's own hint describes a value, not the rule).
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
            if name:
                message = REQUIRED if err["type"] == "missing" else hints.get(name, INVALID)
            else:  # a rule across fields (model validator): its message names the field first
                name = subject_field(str(err["msg"]), hints)
                message = (rules or {}).get(name) or hints.get(name, INVALID)
            errors.setdefault(name or "form", message)
        return None, errors


def service_errors(exc: ValidationFailed, hints: Mapping[str, str]) -> dict[str, str]:
    """A service's field errors, worded for the page where a hint exists (else its own message)."""
    return {e["field"]: hints.get(e["field"], e["message"]) for e in exc.errors}


def add_number_format(bp: Blueprint) -> None:
    """``fmt_num`` in this blueprint's templates: numbers grouped in the page's language (2.000)."""

    @bp.context_processor
    def _numbers() -> dict[str, Any]:
        current = lang()
        return {"fmt_num": lambda value: format_number(value, current)}
