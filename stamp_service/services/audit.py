"""The append-only audit log, each entry chained to the previous one by SHA-256.

``record`` is called inside the transaction that makes the change, so a change
and its audit entry commit or roll back together. On PostgreSQL an advisory
transaction lock serialises appends so concurrent writers cannot fork the chain;
SQLite serialises writers by itself.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from stamp_service.domain.access import Principal
from stamp_service.domain.canonical import canonical_json, to_jsonable
from stamp_service.storage.db import is_postgres
from stamp_service.storage.models.audit import AuditEntry

GENESIS = "0" * 64
_AUDIT_LOCK_KEY = 0x0C0A0D17  # arbitrary, constant: the advisory lock of the audit chain


def _entry_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + b"\n" + canonical_json(fields)).hexdigest()


def _hashed_fields(entry: AuditEntry) -> dict[str, Any]:
    return {
        "at": entry.at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor_account_id": entry.actor_account_id,
        "actor": entry.actor,
        "action": entry.action,
        "entity": entry.entity,
        "entity_id": entry.entity_id,
        "before": entry.before,
        "after": entry.after,
        "reason": entry.reason,
        "decision": entry.decision,
    }


def record(
    session: Session,
    actor: Principal,
    *,
    action: str,
    entity: str,
    entity_id: Any,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str | None = None,
    decision: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry in the caller's transaction (flushes, never commits)."""
    if is_postgres(session):
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _AUDIT_LOCK_KEY})
    last = session.scalar(select(AuditEntry.entry_hash).order_by(AuditEntry.id.desc()).limit(1))
    entry = AuditEntry(
        at=datetime.now(UTC),
        actor_account_id=actor.account_id,
        actor=f"{actor.role}:{actor.name}",
        action=action,
        entity=entity,
        entity_id=str(entity_id),
        before=to_jsonable(before),
        after=to_jsonable(after),
        reason=reason,
        decision=to_jsonable(decision),
        prev_hash=last or GENESIS,
    )
    entry.entry_hash = _entry_hash(entry.prev_hash, _hashed_fields(entry))
    session.add(entry)
    session.flush()
    return entry


@dataclass(frozen=True)
class ChainReport:
    entries: int
    first_broken_id: int | None
    problem: str | None

    @property
    def ok(self) -> bool:
        return self.first_broken_id is None


def verify_chain(session: Session, *, batch: int = 1000) -> ChainReport:
    """Recompute every hash in id order; report the first entry that does not match."""
    prev = GENESIS
    count = 0
    last_id = 0
    while True:
        rows = session.scalars(
            select(AuditEntry).where(AuditEntry.id > last_id).order_by(AuditEntry.id).limit(batch)
        ).all()
        if not rows:
            return ChainReport(entries=count, first_broken_id=None, problem=None)
        for entry in rows:
            if entry.prev_hash != prev:
                return ChainReport(count, entry.id, "previous-hash link broken (entry removed or reordered)")
            if _entry_hash(prev, _hashed_fields(entry)) != entry.entry_hash:
                return ChainReport(count, entry.id, "content does not match its hash (entry altered)")
            prev = entry.entry_hash
            count += 1
            last_id = entry.id
        session.expunge_all()


def snapshot(obj: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    """The audited view of a model: the named attributes as JSON-able values."""
    return {name: to_jsonable(getattr(obj, name)) for name in fields}
