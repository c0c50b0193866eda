"""Helpers for the revocation tests: verdicts, the served bundle, audit entries, decisions."""

from __future__ import annotations

from datetime import date
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from stamp_service.domain import bundle as fmt
from stamp_service.domain.certification import local_today
from stamp_service.domain.stamp_format import parse_stamp_url, parse_token
from stamp_service.services.stamp_status import check_token
from stamp_service.storage.models.audit import AuditEntry
from stamp_service.storage.models.keys import SigningKey


def decision(number: str = "3763/QĐ-UBND", decided_on: str = "2026-11-18", **extra: Any) -> dict[str, Any]:
    return {"number": number, "decided_on": decided_on, "authority": "UBND tỉnh Hà Tĩnh", **extra}


def verdict(session: Session, keyring: Any, token: str, today: date | None = None) -> Any:
    session.expire_all()  # the API changed rows through another session
    keyring.invalidate()
    return check_token(session, keyring, token, today=today).status


def audit_count(session: Session, action: str, entity_id: Any = None) -> int:
    stmt = select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action)
    if entity_id is not None:
        stmt = stmt.where(AuditEntry.entity_id == str(entity_id))
    return session.scalar(stmt) or 0


def last_audit(session: Session, action: str, entity_id: Any) -> AuditEntry:
    return session.scalars(
        select(AuditEntry)
        .where(AuditEntry.action == action, AuditEntry.entity_id == str(entity_id))
        .order_by(AuditEntry.id.desc())
    ).first()


def served_bundle(client: Any, session: Session) -> fmt.StatusBundle:
    """GET /status/bundle.bin and decode it with the service's public keys (from the database)."""
    resp = client.get("/status/bundle.bin")
    assert resp.status_code == 200, resp.data[:200]
    keys = {bytes.fromhex(k.kid): k for k in session.scalars(select(SigningKey))}

    def lookup(kid: bytes) -> Ed25519PublicKey | None:
        row = keys.get(kid)
        return Ed25519PublicKey.from_public_bytes(row.public_key) if row else None

    return fmt.decode(resp.data, public_key_lookup=lookup)


def offline(bundle: fmt.StatusBundle, token: str, today: date | None = None) -> fmt.OfflineResult:
    claims, signature, message = parse_token(parse_stamp_url(token))
    return fmt.offline_verdict(bundle, claims, signature, message, today=today or local_today())
