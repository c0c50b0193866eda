"""The decision fields every office action asks for (number, date, authority, reason), read from a form.

One place for the pages of the stamp requests, revocation and findings: the same checks as the
API's ``DecisionIn`` (``schemas.revocation``), with messages for people (message ids in English,
translated by the form macro) next to the field that is wrong.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from stamp_service.errors import RuleViolation, ValidationFailed
from stamp_service.schemas.revocation import DECISION_NUMBER, DecisionIn

_NUMBER = re.compile(DECISION_NUMBER)
Errors = dict[str, str]


@dataclass(frozen=True)
class DecisionForm:
    reason: str
    decision: DecisionIn | None


def text(form: dict[str, str], name: str) -> str:
    return (form.get(name) or "").strip()


def read_reason(form: dict[str, str], errors: Errors, name: str = "reason") -> str:
    reason = text(form, name)
    if not 3 <= len(reason) <= 2000:
        errors[name] = "Write the reason (3 to 2,000 characters)."
    return reason


def read_decision(form: dict[str, str], errors: Errors, *, required: bool) -> DecisionIn | None:
    """The decision, or None when it is optional and every field is empty."""
    number, day, authority = text(form, "decision_number"), text(form, "decided_on"), text(form, "authority")
    if not required and not (number or day or authority):
        return None
    before = len(errors)
    if not _NUMBER.fullmatch(number):
        errors["decision_number"] = "Write the decision number like 3763/QĐ-UBND."
    decided_on = None
    try:
        decided_on = date.fromisoformat(day)
    except ValueError:
        errors["decided_on"] = "Choose the date the decision was signed."
    if not 2 <= len(authority) <= 300:
        errors["authority"] = "Write who decided (for example UBND tỉnh Hà Tĩnh)."
    if len(errors) > before or decided_on is None:
        return None
    return DecisionIn(number=number, decided_on=decided_on, authority=authority)


def read(form: dict[str, str], *, decision_required: bool) -> tuple[DecisionForm | None, Errors]:
    errors: Errors = {}
    reason = read_reason(form, errors)
    decision = read_decision(form, errors, required=decision_required)
    if errors:
        return None, errors
    return DecisionForm(reason, decision), errors


# Service messages that belong to a decision field, as messages for people.
_SERVICE_FIELDS = {
    "decision.decided_on": (
        "decided_on",
        "The date must not be in the future nor before the record it acts on.",
    ),
    "decision": ("decision_number", "This action needs the decision: number, date and authority."),
    "stars": ("stars", "Choose fewer stars than now."),
    "seq_to": ("seq_to", "Only issued stamps can be voided: choose a range within them."),
    "quantity": ("quantity", "At most the number requested."),
}


def service_errors(exc: ValidationFailed) -> Errors:
    """A service's field errors as page errors (unknown ones on the reason field, in English)."""
    errors: Errors = {}
    for e in exc.errors:
        field, message = _SERVICE_FIELDS.get(e["field"], ("reason", e["message"]))
        errors[field] = message
    return errors


def page_context() -> dict[str, object]:
    """Template helpers of the office decision pages: numbers grouped in the page's language."""
    from stamp_service.web.i18n import format_number
    from stamp_service.web.people import lang

    current = lang()
    return {"fmt_number": lambda value: format_number(value, current)}


# OCOP rules a decision page can run into, as messages for people (``RuleViolation.rule``).
RULE_MESSAGES = {
    "lot-quantity-exceeded": "The lot has no room for that many stamps (its quantity plus the spare).",
    "lot-recalled": "The lot is recalled: no stamps can be issued for it.",
    "certificate-expired": "The product's certificate has expired.",
    "certificate-withdrawn": "The product's stars were withdrawn.",
    "no-valid-certificate": "The product has no certificate in force today.",
    "stars-below-three": "The product has fewer than 3 stars: no stamps can be issued.",
    "no-active-certificate": "The product has no active certificate to withdraw.",
    "finding-without-issued-stamp": "The finding's serial is not an issued stamp: nothing to act on.",
    "stamp-outside-province": "The stamp belongs to a producer of another province: its office acts on it.",
    "certifying-authority-level": "This decision belongs to another level (5 stars: the central level).",
    "score-star-band": "The score does not fall in the stars' band.",
}


def rule_message(exc: RuleViolation) -> str:
    """The rule as a message in the page's language (unknown rules: the service's English text)."""
    from stamp_service.web.people import _

    known = RULE_MESSAGES.get(exc.rule)
    return _(known) if known else _("The rules do not allow it: %(detail)s", detail=exc.detail)
