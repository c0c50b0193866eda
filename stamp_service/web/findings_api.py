"""Inspectors' findings under /api/v1: thin views over ``stamp_service.services.findings``."""

from __future__ import annotations

from flask import Blueprint, Flask

from stamp_service.domain.access import Principal
from stamp_service.schemas.common import Page
from stamp_service.schemas.findings import (
    FindingIn,
    FindingOut,
    FindingQuery,
    ProposalDecisionIn,
    ProposalIn,
    ProposalOut,
)
from stamp_service.services import findings
from stamp_service.web.api import operation
from stamp_service.web.context import db

bp = Blueprint("findings_api", __name__, url_prefix="/api/v1")
TAG = "findings"


@operation(
    bp,
    "/findings",
    method="POST",
    summary="Record a finding (idempotent on client_id)",
    tag=TAG,
    body=FindingIn,
    response=FindingOut,
    status=201,
    roles=("inspector", "admin"),
    errors=(409,),
    description="201 when stored now; 200 with the stored finding when the same client_id was "
    "already recorded with the same content (a retry); 409 when it was used for another finding.",
)
def record_finding(*, principal: Principal, body: FindingIn) -> tuple[FindingOut, int]:
    result = findings.record_finding(db(), principal, body)
    return result.finding, 201 if result.created else 200


@operation(
    bp,
    "/findings",
    method="GET",
    summary="List findings (admins: all; inspectors: their own)",
    tag=TAG,
    query=FindingQuery,
    response=Page[FindingOut],
    roles=("inspector", "admin"),
)
def list_findings(*, principal: Principal, query: FindingQuery) -> Page[FindingOut]:
    return findings.list_findings(db(), principal, query)


@operation(
    bp,
    "/findings/<int:finding_id>/propose",
    method="POST",
    summary="Turn a finding into a void, recall or withdrawal proposal (the office then decides)",
    tag=TAG,
    body=ProposalIn,
    response=ProposalOut,
    status=201,
    roles=("admin",),
    errors=(404, 409),
)
def propose(*, principal: Principal, finding_id: int, body: ProposalIn) -> ProposalOut:
    return findings.propose(db(), principal, finding_id, body)


@operation(
    bp,
    "/findings/<int:finding_id>/proposal/accept",
    method="POST",
    summary="Accept the finding's proposal: the void, recall or withdrawal is carried out at once",
    tag=TAG,
    body=ProposalDecisionIn,
    response=ProposalOut,
    roles=("admin",),
    errors=(403, 404, 409, 422),
    description="One transaction: the revocation (with the same checks as the revocation "
    "endpoints), the proposal's state and an audit entry naming the finding. A withdrawal needs "
    "the withdrawal decision. 409 once the proposal was accepted or rejected.",
)
def accept_proposal(*, principal: Principal, finding_id: int, body: ProposalDecisionIn) -> ProposalOut:
    return findings.accept_proposal(db(), principal, finding_id, body)


@operation(
    bp,
    "/findings/<int:finding_id>/proposal/reject",
    method="POST",
    summary="Reject the finding's proposal with a reason (nothing is revoked)",
    tag=TAG,
    body=ProposalDecisionIn,
    response=ProposalOut,
    roles=("admin",),
    errors=(404, 409),
)
def reject_proposal(*, principal: Principal, finding_id: int, body: ProposalDecisionIn) -> ProposalOut:
    return findings.reject_proposal(db(), principal, finding_id, body)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
