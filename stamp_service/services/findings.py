"""Inspectors' findings: record them idempotently, list them, turn one into a proposal.

The scanner page queues findings offline and posts each one until the server answers, so a
finding is keyed by the client-generated ``client_id`` per account: the same id with the same
content returns the stored finding (no second row, no second audit entry); the same id with
other content is a conflict. A proposal (void the stamp, recall its lot, withdraw the
certificate) waits for the office: accepting it carries it out through the same revocation
use cases, in the same transaction as the proposal's new state and its audit entry (which
names the finding and what was done); rejecting it keeps the reason.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from stamp_service.domain import serials
from stamp_service.domain.access import (
    Principal,
    Role,
    can_read,
    province_scope,
    require_province,
    require_role,
)
from stamp_service.domain.stamp_format import parse_stamp_url, parse_token
from stamp_service.errors import Conflict, InvalidStamp, NotFound, RuleViolation, SerialTypo, ValidationFailed
from stamp_service.schemas.common import Page
from stamp_service.schemas.findings import (
    FindingIn,
    FindingOut,
    FindingQuery,
    ProposalDecisionIn,
    ProposalIn,
    ProposalOut,
)
from stamp_service.schemas.revocation import RecallIn, VoidIn, WithdrawalIn
from stamp_service.services import audit, revocation
from stamp_service.services.lookup import by_id
from stamp_service.services.minting import current_certificate
from stamp_service.services.pagination import paginate
from stamp_service.services.scope import owner_of_product
from stamp_service.services.status_events import status_changed
from stamp_service.services.tx import flush_or_conflict
from stamp_service.storage.models.base import utcnow
from stamp_service.storage.models.findings import Finding, FindingProposal
from stamp_service.storage.models.stamps import Stamp, StampRequest

__all__ = [
    "RecordedFinding",
    "accept_proposal",
    "get_finding",
    "list_findings",
    "propose",
    "record_finding",
    "reject_proposal",
]

FINDING_AUDIT_FIELDS = (
    "client_id",
    "account_id",
    "serial",
    "code",
    "verdict",
    "possible_copy",
    "shop",
    "note",
    "latitude",
    "longitude",
    "accuracy_m",
    "observed_at",
    "state",
)
# Compared when a client id comes back: a retry must carry the same finding.
_IDENTITY_FIELDS = ("serial", "code", "verdict", "possible_copy", "shop", "note", "latitude", "longitude")
CLOCK_SKEW = timedelta(minutes=10)


@dataclass(frozen=True)
class RecordedFinding:
    finding: FindingOut
    created: bool  # False when an earlier attempt with the same client id had stored it


def _serial_of(data: FindingIn) -> int | None:
    """The finding's serial: typed (check character verified) or read from the scanned code."""
    if data.serial is not None:
        try:
            return serials.parse_serial(data.serial)
        except SerialTypo as exc:
            raise ValidationFailed([{"field": "serial", "message": exc.detail}]) from None
    assert data.code is not None  # the schema requires one of the two
    try:
        claims, _signature, _message = parse_token(parse_stamp_url(data.code))
    except InvalidStamp:
        return None  # a code that is not even a stamp: kept as text, it is the evidence
    return claims.serial


def _values(actor: Principal, data: FindingIn) -> dict[str, Any]:
    if data.observed_at.astimezone(UTC) > datetime.now(UTC) + CLOCK_SKEW:
        raise ValidationFailed([{"field": "observed_at", "message": "observed_at is in the future"}])
    serial = _serial_of(data)
    position = data.position
    return {
        "client_id": data.client_id,
        "account_id": actor.account_id,
        "serial": serials.to_db(serial) if serial is not None else None,
        "code": data.code,
        "verdict": data.verdict.value,
        "possible_copy": data.possible_copy,
        "shop": data.shop,
        "note": data.note,
        "latitude": position.latitude if position else None,
        "longitude": position.longitude if position else None,
        "accuracy_m": position.accuracy_m if position else None,
        "observed_at": data.observed_at.astimezone(UTC),
        "province_code": actor.province_code,  # the office the finding goes to
    }


def _existing(session: Session, account_id: int | None, client_id: str) -> Finding | None:
    return session.scalar(
        select(Finding).where(Finding.account_id == account_id, Finding.client_id == client_id)
    )


def _replay(row: Finding, values: dict[str, Any]) -> RecordedFinding:
    if any(getattr(row, name) != values[name] for name in _IDENTITY_FIELDS):
        raise Conflict("this client id was already used for another finding", finding_id=row.id)
    return RecordedFinding(_out(row, None), created=False)


def record_finding(session: Session, actor: Principal, data: FindingIn) -> RecordedFinding:
    """Store a finding once per (account, client id); a retry answers the stored one."""
    require_role(actor, Role.INSPECTOR, Role.ADMIN)
    values = _values(actor, data)
    row = _existing(session, actor.account_id, data.client_id)
    if row is not None:
        return _replay(row, values)
    row = Finding(**values, state="open")
    session.add(row)
    try:
        session.flush()
    except IntegrityError:  # a concurrent retry of the same finding stored it first
        session.rollback()
        row = _existing(session, actor.account_id, data.client_id)
        if row is None:
            raise
        return _replay(row, values)
    audit.record(
        session,
        actor,
        action="finding.create",
        entity="finding",
        entity_id=row.id,
        after=audit.snapshot(row, FINDING_AUDIT_FIELDS),
    )
    session.commit()
    return RecordedFinding(_out(row, None), created=True)


def list_findings(session: Session, actor: Principal, query: FindingQuery) -> Page[FindingOut]:
    """Central admins see every finding, a provincial office its province's; an inspector their own."""
    require_role(actor, Role.INSPECTOR, Role.ADMIN)
    stmt = select(Finding)
    if actor.role is Role.INSPECTOR:
        stmt = stmt.where(Finding.account_id == actor.account_id)
    province = province_scope(actor)
    if province is not None:
        stmt = stmt.where(Finding.province_code == province)
    if query.account_id is not None:
        stmt = stmt.where(Finding.account_id == query.account_id)
    if query.state:
        stmt = stmt.where(Finding.state == query.state)
    if query.verdict:
        stmt = stmt.where(Finding.verdict == query.verdict.value)
    page = paginate(session, stmt.order_by(Finding.id.desc()), query.page, query.per_page, lambda r: r)
    ids = [r.id for r in page.items]
    proposals = {
        p.finding_id: p
        for p in session.scalars(select(FindingProposal).where(FindingProposal.finding_id.in_(ids)))
    }
    return Page(
        items=[_out(r, proposals.get(r.id)) for r in page.items],
        page=page.page,
        per_page=page.per_page,
        total=page.total,
    )


def propose(session: Session, actor: Principal, finding_id: int, data: ProposalIn) -> ProposalOut:
    """Record an admin's proposal to void the finding's stamp or withdraw its product's certificate."""
    require_role(actor, Role.ADMIN)
    finding = _finding(session, actor, finding_id)
    if finding.state != "open":
        raise Conflict("a proposal was already made from this finding")
    stamp = session.get(Stamp, finding.serial) if finding.serial is not None else None
    if stamp is None:
        raise RuleViolation(
            "the finding's serial is not an issued stamp: there is nothing to void or withdraw",
            rule="finding-without-issued-stamp",
        )
    _require_stamp_in_scope(session, actor, stamp)
    certificate_id = None
    if data.action.value == "withdrawal":
        cert = current_certificate(session, stamp.product_id)
        if cert is None or cert.state != "active":
            raise RuleViolation(
                "the product has no active certificate to withdraw", rule="no-active-certificate"
            )
        certificate_id = cert.id
    proposal = FindingProposal(
        finding_id=finding.id,
        action=data.action.value,
        reason=data.reason,
        stamp_serial=stamp.serial,
        request_id=stamp.request_id,
        seq=stamp.seq,
        product_id=stamp.product_id,
        certificate_id=certificate_id,
        state="pending",
        proposed_by=actor.account_id,
    )
    finding.state = "proposed"
    session.add(proposal)
    # A concurrent admin may have proposed from the same finding.
    flush_or_conflict(session, "a proposal was already made from this finding")
    audit.record(
        session,
        actor,
        action=f"finding.propose_{data.action.value}",
        entity="finding",
        entity_id=finding.id,
        before={"state": "open"},
        after={
            "state": "proposed",
            "proposal_id": proposal.id,
            "action": proposal.action,
            "stamp_serial": serials.format_serial(serials.from_db(stamp.serial)),
            "request_id": proposal.request_id,
            "seq": proposal.seq,
            "product_id": proposal.product_id,
            "certificate_id": proposal.certificate_id,
        },
        reason=data.reason,
    )
    session.commit()
    return _proposal_out(proposal)


def _require_stamp_in_scope(session: Session, actor: Principal, stamp: Stamp) -> None:
    """The stamp's producer must be within the office's scope: only its own office (or the central
    level) can void, recall or withdraw. The serial is known from the finding, so say so plainly."""
    if not can_read(actor, owner_of_product(session, stamp.product_id)):
        raise RuleViolation(
            "the stamp belongs to a producer of another province: its office or the central level acts on it",
            rule="stamp-outside-province",
        )


def _finding(session: Session, actor: Principal, finding_id: int) -> Finding:
    """The finding, NotFound when unknown or sent to another province's office."""
    finding = by_id(session, Finding, finding_id)
    if finding is None:
        raise NotFound("no such finding")
    require_province(actor, finding.province_code, "finding")
    return finding


def _pending_proposal(session: Session, actor: Principal, finding_id: int) -> FindingProposal:
    require_role(actor, Role.ADMIN)
    finding = _finding(session, actor, finding_id)
    proposal = session.scalar(select(FindingProposal).where(FindingProposal.finding_id == finding.id))
    if proposal is None:
        raise NotFound("no proposal was made from this finding")
    if proposal.state != "pending":
        raise Conflict(f"the proposal was already {proposal.state}", state=proposal.state)
    return proposal


def _lock_pending(session: Session, proposal_id: int) -> FindingProposal:
    """Lock the proposal row and re-check it (a concurrent decision commits first or waits)."""
    proposal = session.scalar(
        select(FindingProposal).where(FindingProposal.id == proposal_id).with_for_update()
    )
    assert proposal is not None
    session.refresh(proposal)
    if proposal.state != "pending":
        raise Conflict(f"the proposal was already {proposal.state}", state=proposal.state)
    return proposal


def _carry_out(
    session: Session, actor: Principal, proposal: FindingProposal, data: ProposalDecisionIn
) -> dict[str, Any]:
    """Do what the proposal says through the revocation use cases, without committing."""
    decision = data.decision.model_dump(mode="json") if data.decision is not None else None
    if proposal.action == "void":
        serial = serials.format_serial(serials.from_db(proposal.stamp_serial))
        body = {"serial": serial, "reason_code": "copied", "reason": data.reason, "decision": decision}
        voided = revocation.void_stamps(session, actor, VoidIn.model_validate_json(_json(body)), commit=False)
        return {"changed": voided.changed, "void_ids": [v.id for v in voided.voids]}
    if proposal.action == "recall":
        lot_id = session.scalar(select(StampRequest.lot_id).where(StampRequest.id == proposal.request_id))
        assert lot_id is not None
        body = {"reason": data.reason, "decision": decision}
        recalled = revocation.recall_lot(
            session, actor, lot_id, RecallIn.model_validate_json(_json(body)), commit=False
        )
        return {"changed": recalled.changed, "lot_id": lot_id, "stopped_requests": recalled.stopped_requests}
    if data.decision is None:
        raise ValidationFailed(
            [{"field": "decision", "message": "withdrawing stars needs the withdrawal decision"}]
        )
    assert proposal.certificate_id is not None  # recorded with every withdrawal proposal
    body = {"reason": data.reason, "decision": decision}
    withdrawn = revocation.withdraw_certificate(
        session, actor, proposal.certificate_id, WithdrawalIn.model_validate_json(_json(body)), commit=False
    )
    return {
        "changed": withdrawn.changed,
        "certificate_id": withdrawn.certificate.id,
        "stopped_requests": withdrawn.stopped_requests,
    }


def _json(body: dict[str, Any]) -> str:
    return json.dumps({k: v for k, v in body.items() if v is not None}, ensure_ascii=False)


def accept_proposal(
    session: Session, actor: Principal, finding_id: int, data: ProposalDecisionIn
) -> ProposalOut:
    """Carry the proposal out (void, recall or withdrawal) and mark it accepted, in one transaction.

    The office's scope and the revocation rules apply as if it acted directly (NotFound,
    Forbidden for a central-level certificate, RuleViolation, ValidationFailed); Conflict when
    the proposal was already decided.
    """
    proposal = _pending_proposal(session, actor, finding_id)
    stamp = session.get(Stamp, proposal.stamp_serial)
    assert stamp is not None
    _require_stamp_in_scope(session, actor, stamp)
    proposal_id = proposal.id
    outcome = _carry_out(session, actor, proposal, data)  # may roll back an action already in effect
    proposal = _lock_pending(session, proposal_id)
    _decide(session, actor, proposal, "accepted", data, outcome)
    session.commit()
    status_changed(session)
    return _proposal_out(proposal)


def reject_proposal(
    session: Session, actor: Principal, finding_id: int, data: ProposalDecisionIn
) -> ProposalOut:
    """Refuse the proposal with a reason; nothing is revoked."""
    proposal = _lock_pending(session, _pending_proposal(session, actor, finding_id).id)
    _decide(session, actor, proposal, "rejected", data, None)
    session.commit()
    return _proposal_out(proposal)


def _decide(
    session: Session,
    actor: Principal,
    proposal: FindingProposal,
    state: str,
    data: ProposalDecisionIn,
    outcome: dict[str, Any] | None,
) -> None:
    proposal.state, proposal.decided_by, proposal.decided_at = state, actor.account_id, utcnow()
    proposal.decision_reason, proposal.outcome = data.reason, outcome
    session.flush()
    audit.record(
        session,
        actor,
        action={"accepted": "finding.accept_proposal", "rejected": "finding.reject_proposal"}[state],
        entity="finding",
        entity_id=proposal.finding_id,
        before={"proposal_id": proposal.id, "state": "pending"},
        after={"proposal_id": proposal.id, "state": state, "action": proposal.action, "outcome": outcome},
        reason=data.reason,
        decision=data.decision.model_dump(mode="json") if data.decision is not None else None,
    )


def _proposal_out(p: FindingProposal) -> ProposalOut:
    return ProposalOut(
        id=p.id,
        finding_id=p.finding_id,
        action=p.action,
        reason=p.reason,
        serial=serials.format_serial(serials.from_db(p.stamp_serial)),
        request_id=p.request_id,
        seq=p.seq,
        product_id=p.product_id,
        certificate_id=p.certificate_id,
        state=p.state,
        proposed_by=p.proposed_by,
        proposed_at=p.proposed_at,
        decided_by=p.decided_by,
        decided_at=p.decided_at,
        decision_reason=p.decision_reason,
        outcome=p.outcome,
    )


def _out(row: Finding, proposal: FindingProposal | None) -> FindingOut:
    position = None
    if row.latitude is not None and row.longitude is not None:
        position = {"latitude": row.latitude, "longitude": row.longitude, "accuracy_m": row.accuracy_m}
    return FindingOut.model_validate(
        {
            "id": row.id,
            "client_id": row.client_id,
            "account_id": row.account_id,
            "serial": serials.format_serial(serials.from_db(row.serial)) if row.serial is not None else None,
            "code": row.code,
            "verdict": row.verdict,
            "possible_copy": row.possible_copy,
            "shop": row.shop,
            "note": row.note,
            "position": position,
            "observed_at": row.observed_at,
            "received_at": row.received_at,
            "state": row.state,
            "proposal": _proposal_out(proposal) if proposal else None,
        }
    )


def get_finding(session: Session, actor: Principal, finding_id: int) -> FindingOut:
    """One finding with its proposal (the office's page); NotFound outside the caller's province."""
    require_role(actor, Role.ADMIN)
    finding = _finding(session, actor, finding_id)
    proposal = session.scalar(select(FindingProposal).where(FindingProposal.finding_id == finding.id))
    return _out(finding, proposal)
