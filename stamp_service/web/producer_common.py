"""What the producer pages share: the signed-in principal, form parsing helpers, a render that
adds the Vietnamese number format (2.000), and pydantic errors as messages next to fields."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from functools import wraps
from typing import Any

from pydantic import ValidationError

from stamp_service.domain.access import ProducerDuty, Role, may
from stamp_service.domain.certification import VN_TZ
from stamp_service.errors import NotFound
from stamp_service.web.auth import page_principal
from stamp_service.web.i18n import format_number
from stamp_service.web.people import lang, render, signed_in

me = page_principal  # the producer pages' short name for it


def producer_page(duty: ProducerDuty) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A producer page for ``duty``: signed in as a producer, and the page of a duty the account
    never has (a staff member on the staff page or the void form) is *not found*, like a page
    that does not exist. The services refuse the same duty with Forbidden (the API's 403)."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def checked(**kwargs: Any) -> Any:
            if not may(me(), duty):
                raise NotFound("no such page")
            return view(**kwargs)

        return signed_in(Role.PRODUCER)(checked)

    return decorate


def page(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    return render(template, status, fmt_num=lambda v: format_number(v, lang()), **context)


def as_int(raw: str | None) -> int | None:
    raw = (raw or "").strip().replace(".", "")
    return int(raw) if raw.isdigit() and len(raw) < 10 else None


def as_day(raw: str | None) -> date | None:
    try:
        return date.fromisoformat((raw or "").strip())
    except ValueError:
        return None


def as_local_moment(raw: str | None) -> datetime | None:
    """A ``datetime-local`` input (Vietnam time) as an aware datetime."""
    try:
        return datetime.fromisoformat((raw or "").strip()).replace(tzinfo=VN_TZ)
    except ValueError:
        return None


def pydantic_errors(exc: ValidationError, messages: dict[str, str], fallback: str) -> dict[str, str]:
    """Each invalid field's page message (``messages[field]``, else ``fallback``)."""
    errors: dict[str, str] = {}
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else ""
        errors.setdefault(field or "form", messages.get(field, fallback))
    return errors
