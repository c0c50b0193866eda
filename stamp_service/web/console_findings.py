"""``/console/findings``: inspectors' findings with their proposals; the office proposes, accepts, rejects.

Thin views over ``services.findings``: accepting carries the proposal out (void, recall or
withdrawal) through the revocation use cases in one transaction, audited with the finding.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, flash, redirect, request, url_for

from stamp_service.domain.access import Role
from stamp_service.errors import Conflict, RuleViolation, ValidationFailed
from stamp_service.schemas.findings import FindingQuery, ProposalAction, ProposalDecisionIn, ProposalIn
from stamp_service.services import findings
from stamp_service.web.auth import page_principal
from stamp_service.web.console_decision_form import (
    Errors,
    page_context,
    read,
    read_reason,
    rule_message,
    service_errors,
)
from stamp_service.web.context import db
from stamp_service.web.people import page_number, people_blueprint, render, signed_in

bp = people_blueprint("console_findings", __name__, url_prefix="/console/findings")
bp.context_processor(page_context)
STATES = ("open", "proposed")
ACTIONS = (
    ("void", "Void the stamp"),
    ("recall", "Recall the stamp's lot"),
    ("withdrawal", "Withdraw the product's stars"),
)


@bp.get("/")
@signed_in(Role.ADMIN)
def index() -> Any:
    state = request.args.get("state")
    page = page_number()
    query = FindingQuery(state=state if state in STATES else None, page=page, per_page=50)
    listing = findings.list_findings(db(), page_principal(), query)
    return render(
        "people/console_findings.html",
        listing=listing,
        state=query.state,
        states=STATES,
        actions=dict(ACTIONS),
    )


def _detail(finding_id: int, status: int = 200, errors: Errors | None = None) -> Any:
    finding = findings.get_finding(db(), page_principal(), finding_id)
    return render(
        "people/console_finding.html",
        status,
        finding=finding,
        errors=errors or {},
        form=request.form if request.method == "POST" else {},
        actions=ACTIONS,
        action_labels=dict(ACTIONS),
    )


@bp.get("/<int:finding_id>")
@signed_in(Role.ADMIN)
def detail(finding_id: int) -> Any:
    return _detail(finding_id)


def _refused(finding_id: int, exc: Exception, field: str) -> Any:
    db().rollback()
    if isinstance(exc, ValidationFailed):
        return _detail(finding_id, 422, service_errors(exc))
    if isinstance(exc, Conflict):
        flash("This finding was already decided: the page shows its state now.", "error")
        return redirect(url_for("console_findings.detail", finding_id=finding_id))
    assert isinstance(exc, RuleViolation)
    return _detail(finding_id, 422, {field: rule_message(exc)})


@bp.post("/<int:finding_id>/propose")
@signed_in(Role.ADMIN)
def propose(finding_id: int) -> Any:
    findings.get_finding(db(), page_principal(), finding_id)  # NotFound outside the province first
    form = request.form.to_dict()
    errors: Errors = {}
    action = form.get("action", "")
    if action not in {a for a, _ in ACTIONS}:
        errors["action"] = "Choose what to propose."
    reason = read_reason(form, errors, "proposal_reason")
    if errors:
        return _detail(finding_id, 422, errors)
    try:
        findings.propose(
            db(), page_principal(), finding_id, ProposalIn(action=ProposalAction(action), reason=reason)
        )
    except (ValidationFailed, Conflict, RuleViolation) as exc:
        return _refused(finding_id, exc, "proposal_reason")
    flash("The proposal is recorded; it waits for a decision.", "success")
    return redirect(url_for("console_findings.detail", finding_id=finding_id))


@bp.post("/<int:finding_id>/accept")
@signed_in(Role.ADMIN)
def accept(finding_id: int) -> Any:
    finding = findings.get_finding(db(), page_principal(), finding_id)
    needs_decision = finding.proposal is not None and finding.proposal.action == "withdrawal"
    parsed, errors = read(request.form.to_dict(), decision_required=needs_decision)
    if parsed is None:
        return _detail(finding_id, 422, errors)
    try:
        findings.accept_proposal(
            db(),
            page_principal(),
            finding_id,
            ProposalDecisionIn(reason=parsed.reason, decision=parsed.decision),
        )
    except (ValidationFailed, Conflict, RuleViolation) as exc:
        return _refused(finding_id, exc, "reason")
    flash("The proposal is accepted and carried out.", "success")
    return redirect(url_for("console_findings.detail", finding_id=finding_id))


@bp.post("/<int:finding_id>/reject")
@signed_in(Role.ADMIN)
def reject(finding_id: int) -> Any:
    findings.get_finding(db(), page_principal(), finding_id)
    errors: Errors = {}
    reason = read_reason(request.form.to_dict(), errors, "reject_reason")
    if errors:
        return _detail(finding_id, 422, errors)
    try:
        findings.reject_proposal(db(), page_principal(), finding_id, ProposalDecisionIn(reason=reason))
    except (ValidationFailed, Conflict, RuleViolation) as exc:
        return _refused(finding_id, exc, "reject_reason")
    flash("The proposal is rejected; nothing was revoked.", "success")
    return redirect(url_for("console_findings.detail", finding_id=finding_id))


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
