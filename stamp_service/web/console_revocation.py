"""``/console/revocation``: withdraw or reduce stars, recall or lift a lot, void a range of a request.

Each action is two steps: a confirmation page (GET) that shows how many issued stamps it reaches
(``services.revocation_impact``) and asks for the decision and the reason, then the POST that
calls the one revocation use case (``services.revocation``: access check, audit entry, one
commit) and redirects to a result page showing the record as it is now.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, flash, redirect, request, url_for

from stamp_service.domain.access import Role
from stamp_service.errors import Conflict, RuleViolation, ValidationFailed
from stamp_service.schemas.revocation import ReasonCode, RecallIn, ReductionIn, VoidIn, WithdrawalIn
from stamp_service.services import revocation, revocation_impact
from stamp_service.web.auth import page_principal
from stamp_service.web.console_decision_form import (
    Errors,
    page_context,
    read,
    rule_message,
    service_errors,
    text,
)
from stamp_service.web.context import db
from stamp_service.web.people import _, people_blueprint, render, signed_in

bp = people_blueprint("console_revocation", __name__, url_prefix="/console/revocation")
bp.context_processor(page_context)
REASON_CODES = (
    ("copied", "Copied (counterfeit)"),
    ("lost", "Lost"),
    ("spoiled", "Spoiled (misprinted or damaged)"),
    ("other", "Other (unprinted left-overs)"),
)


def _failed(exc: Exception) -> Errors:
    """A service refusal as a message on the page (rules and conflicts on the reason field)."""
    db().rollback()
    if isinstance(exc, ValidationFailed):
        return service_errors(exc)
    if isinstance(exc, Conflict):
        return {"reason": _("This cannot be done on the record as it is now: %(detail)s", detail=exc.detail)}
    assert isinstance(exc, RuleViolation)
    return {"reason": rule_message(exc)}


# --- certificates ---------------------------------------------------------------------------------


def _certificate_page(
    action: str, certificate_id: int, status: int = 200, errors: Errors | None = None
) -> Any:
    target = revocation_impact.certificate_target(db(), page_principal(), certificate_id)
    cert = target.certificate
    return render(
        "people/console_revoke_certificate.html",
        status,
        action=action,
        target=target,
        # Not in force: the page says why and links to the product and its current certificate.
        successor=None if cert.state == "active" else revocation_impact.successor_of(db(), cert),
        current=None if cert.state == "active" else revocation_impact.current_of(db(), cert),
        # In force but decided above this office (a central 5-star decision): say so, no form.
        may_revise=revocation_impact.may_revise_stars(page_principal(), cert),
        errors=errors or {},
        form=request.form if request.method == "POST" else {},
    )


@bp.route("/certificates/<int:certificate_id>/withdraw", methods=["GET", "POST"])
@signed_in(Role.ADMIN)
def withdraw(certificate_id: int) -> Any:
    if request.method == "GET":
        return _certificate_page("withdraw", certificate_id)
    revocation_impact.certificate_target(
        db(), page_principal(), certificate_id
    )  # NotFound before reading the form
    parsed, errors = read(request.form.to_dict(), decision_required=True)
    if parsed is None:
        return _certificate_page("withdraw", certificate_id, 422, errors)
    assert parsed.decision is not None
    try:
        revocation.withdraw_certificate(
            db(),
            page_principal(),
            certificate_id,
            WithdrawalIn(decision=parsed.decision, reason=parsed.reason),
        )
    except (ValidationFailed, Conflict, RuleViolation) as exc:
        return _certificate_page("withdraw", certificate_id, 422, _failed(exc))
    flash("The stars are withdrawn: every stamp of the product now shows as revoked.", "success")
    return redirect(url_for("console_revocation.certificate_result", certificate_id=certificate_id))


@bp.route("/certificates/<int:certificate_id>/reduce", methods=["GET", "POST"])
@signed_in(Role.ADMIN)
def reduce(certificate_id: int) -> Any:
    if request.method == "GET":
        return _certificate_page("reduce", certificate_id)
    target = revocation_impact.certificate_target(db(), page_principal(), certificate_id)
    form = request.form.to_dict()
    parsed, errors = read(form, decision_required=True)
    raw = text(form, "stars")
    stars = int(raw) if raw.isdigit() and len(raw) == 1 else None
    if stars is None or not 1 <= stars < target.certificate.stars:
        errors["stars"] = "Choose fewer stars than now."
    if parsed is None or stars is None or errors:
        return _certificate_page("reduce", certificate_id, 422, errors)
    assert parsed.decision is not None
    try:
        revocation.reduce_stars(
            db(),
            page_principal(),
            certificate_id,
            ReductionIn(stars=stars, decision=parsed.decision, reason=parsed.reason),
        )
    except (ValidationFailed, Conflict, RuleViolation) as exc:
        return _certificate_page("reduce", certificate_id, 422, _failed(exc))
    flash("The stars are reduced: a new certificate with fewer stars is in force.", "success")
    return redirect(url_for("console_revocation.certificate_result", certificate_id=certificate_id))


@bp.get("/certificates/<int:certificate_id>")
@signed_in(Role.ADMIN)
def certificate_result(certificate_id: int) -> Any:
    target = revocation_impact.certificate_target(db(), page_principal(), certificate_id)
    current = revocation_impact.current_of(db(), target.certificate)
    return render("people/console_revoke_certificate_done.html", target=target, current=current)


# --- lots -----------------------------------------------------------------------------------------


def _lot_page(lot_id: int, status: int = 200, errors: Errors | None = None) -> Any:
    target = revocation_impact.lot_target(db(), page_principal(), lot_id)
    return render(
        "people/console_revoke_lot.html",
        status,
        target=target,
        errors=errors or {},
        form=request.form if request.method == "POST" else {},
    )


@bp.route("/lots/<int:lot_id>", methods=["GET", "POST"])
@signed_in(Role.ADMIN)
def lot(lot_id: int) -> Any:
    """Recall the lot, or lift its recall when it is recalled (the page says which)."""
    if request.method == "GET":
        return _lot_page(lot_id)
    target = revocation_impact.lot_target(db(), page_principal(), lot_id)
    recalled = bool(target.lot.recall)
    parsed, errors = read(request.form.to_dict(), decision_required=False)
    if parsed is None:
        return _lot_page(lot_id, 422, errors)
    data = RecallIn(reason=parsed.reason, decision=parsed.decision)
    try:
        if recalled:
            revocation.lift_recall(db(), page_principal(), lot_id, data)
        else:
            revocation.recall_lot(db(), page_principal(), lot_id, data)
    except (ValidationFailed, Conflict, RuleViolation) as exc:
        return _lot_page(lot_id, 422, _failed(exc))
    flash(
        "The recall is lifted." if recalled else "The lot is recalled: its stamps now show as revoked.",
        "success",
    )
    # The result, not this form again: after a recall this route offers to lift it (the undo).
    return redirect(url_for("console_revocation.lot_result", lot_id=lot_id))


@bp.get("/lots/<int:lot_id>/result")
@signed_in(Role.ADMIN)
def lot_result(lot_id: int) -> Any:
    """The lot's recall as it is now (the decision, the stamps it reaches); lifting is a link away."""
    target = revocation_impact.lot_target(db(), page_principal(), lot_id)
    return render("people/console_revoke_lot_done.html", target=target)


# --- void a range -----------------------------------------------------------------------------------


def _range(values: dict[str, str], errors: Errors) -> tuple[int, int] | None:
    raw_from, raw_to = text(values, "seq_from"), text(values, "seq_to") or text(values, "seq_from")
    if not (raw_from.isdigit() and 0 < len(raw_from) < 10 and int(raw_from) > 0):
        errors["seq_from"] = "Give the first stamp's number in the request (1 or more)."
        return None
    if not (raw_to.isdigit() and 0 < len(raw_to) < 10 and int(raw_to) >= int(raw_from)):
        errors["seq_to"] = "Give the last stamp's number (not below the first)."
        return None
    return int(raw_from), int(raw_to)


def _void_page(request_id: int, status: int = 200, errors: Errors | None = None) -> Any:
    errors = dict(errors or {})
    values = request.form.to_dict() if request.method == "POST" else request.args.to_dict()
    # The count form was sent (even with "From stamp number" left empty): check it, say what is wrong.
    asked = "seq_from" in values or "seq_to" in values
    span = _range(values, errors) if asked else None
    target = revocation_impact.range_target(db(), page_principal(), request_id, *(span or (1, 0)))
    if span is not None and span[1] > target.request.issued_count:
        errors["seq_to"] = "Only issued stamps can be voided: choose a range within them."
        span = None
    voids = revocation_impact.request_voids(db(), page_principal(), request_id)
    return render(
        "people/console_revoke_void.html",
        status,
        target=target,
        confirm=span is not None and target.impact.stamps > 0,
        errors=errors,
        form=values,
        reason_codes=REASON_CODES,
        reason_labels=dict(REASON_CODES),
        voids=voids,
    )


@bp.route("/requests/<int:request_id>/void", methods=["GET", "POST"])
@signed_in(Role.ADMIN)
def void(request_id: int) -> Any:
    if request.method == "GET":
        return _void_page(request_id)
    revocation_impact.range_target(db(), page_principal(), request_id, 1, 0)  # NotFound first
    form = request.form.to_dict()
    errors: Errors = {}
    span = _range(form, errors)
    code = form.get("reason_code", "")
    if code not in {c for c, _ in REASON_CODES}:
        errors["reason_code"] = "Choose why the stamps are voided."
    parsed, more = read(form, decision_required=False)
    errors.update(more)
    if span is None or parsed is None or errors:
        return _void_page(request_id, 422, errors)
    data = VoidIn(
        request_id=request_id,
        seq_from=span[0],
        seq_to=span[1],
        reason_code=ReasonCode(code),
        reason=parsed.reason,
        decision=parsed.decision,
    )
    try:
        revocation.void_stamps(db(), page_principal(), data)
    except (ValidationFailed, Conflict, RuleViolation) as exc:
        return _void_page(request_id, 422, _failed(exc))
    flash("The stamps are voided: they now show as revoked.", "success")
    return redirect(url_for("console_revocation.void", request_id=request_id))


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
