"""What the producer pages share: the signed-in principal, form parsing helpers, a render that
adds the Vietnamese number format (2.000), and pydantic errors as messages next to fields."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from functools import wraps
from typing import Any

from pydantic import ValidationError

from stamp_service.domain.access import ProducerDuty, Role, may
from stamp_service.domain.certification import VN_TZ, local_today
from stamp_service.domain.status import Decision
from stamp_service.errors import NotFound
from stamp_service.services import minting
from stamp_service.storage.models.registry import Lot
from stamp_service.web.auth import page_principal
from stamp_service.web.context import db
from stamp_service.web.i18n import format_day, format_number
from stamp_service.web.people import _, lang, render, signed_in

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


# Digits only, or Vietnamese thousands grouping with dots ("1.000.000"): a first group of one to three
# digits, then groups of exactly three. "1.5" or "10.00" could mean a decimal, so they are refused.
_WHOLE = re.compile(r"\d+|\d{1,3}(?:\.\d{3})+")


def whole_number(raw: str | None) -> int | None:
    """A typed whole number of any size (``2000`` or ``2.000``), or None when it is not one."""
    text = (raw or "").strip()
    if not _WHOLE.fullmatch(text) or len(text) > 40:
        return None
    return int(text.replace(".", ""))


def as_int(raw: str | None) -> int | None:
    """A typed identifier or small number (below 10 digits, so it fits the database's integers)."""
    value = whole_number(raw)
    return value if value is not None and value < 10**9 else None


def quantity_error(raw: str | None, maximum: int) -> str | None:
    """The page message for a typed quantity that is not a whole number from 1 to ``maximum``."""
    value = whole_number(raw)
    if value is None:
        return _("Enter a whole number above 0, using digits only (dots may group thousands: 1.000).")
    if value < 1:
        return _("Enter a whole number above 0.")
    if value > maximum:
        return _("At most %(max)s: enter a smaller number.", max=format_number(maximum, lang()))
    return None


def as_quantity(raw: str | None, maximum: int) -> int:
    """The typed quantity, or 0 (which the schema refuses) when ``quantity_error`` has a message."""
    return 0 if quantity_error(raw, maximum) else whole_number(raw) or 0


@dataclass(frozen=True)
class PrintStop:
    """Why the stamps of this product and lot must not be issued or printed today (DOMAIN §4 rule 1)."""

    rule: str
    number: str | None = None
    decided_on: date | None = None
    reason: str | None = None
    authority: str | None = None


def print_stop(product_id: int, lot_id: int | None) -> PrintStop | None:
    """The rule that stops stamps of this product and lot today, with the office's decision, or None.

    The same check as issuance and the downloads (``minting.issuing_blocker``); a lot recall is
    named first when both apply, since it is about these very goods."""
    session = db()
    lot = session.get(Lot, lot_id) if lot_id is not None else None
    if lot is not None and lot.recall:
        found = Decision.from_record(lot.recall)
        return PrintStop("lot-recalled", found.number, found.decided_on, found.reason, found.authority)
    blocker = minting.issuing_blocker(session, product_id, lot_id or 0, local_today())
    if blocker is None:
        return None
    cert = minting.current_certificate(session, product_id)
    if blocker.rule == "certificate-withdrawn" and cert is not None:
        found = Decision.from_record(cert.withdrawal, number=cert.decision_number)
        return PrintStop(blocker.rule, found.number, found.decided_on or cert.withdrawn_on, found.reason)
    if blocker.rule == "certificate-expired" and cert is not None:
        return PrintStop(blocker.rule, cert.decision_number, cert.valid_until)
    return PrintStop(blocker.rule)


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


def stop_message(stop: PrintStop) -> str:
    """One sentence naming the stop and the office's decision, in the page's language."""
    day = format_day(stop.decided_on, lang()) if stop.decided_on else ""
    if stop.rule == "lot-recalled":
        if stop.number:
            return _("This lot was recalled by decision %(number)s of %(day)s.", number=stop.number, day=day)
        return _("This lot was recalled on %(day)s.", day=day)
    if stop.rule == "certificate-withdrawn":
        if stop.number:
            return _(
                "The product's OCOP stars were withdrawn by decision %(number)s of %(day)s.",
                number=stop.number,
                day=day,
            )
        return _("The product's OCOP stars were withdrawn.")
    if stop.rule == "certificate-expired":
        return _("The product's OCOP certificate expired on %(day)s.", day=day)
    if stop.rule == "stars-below-three":
        return _("The product is rated below 3 stars.")
    return _("The product has no valid OCOP certificate.")
