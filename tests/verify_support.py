"""Verification test helpers: change a stamp's status the way the revocation actions will (rows + event)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.orm import Session

from stamp_service.crypto.keyring import KeyRing, kid_for
from stamp_service.domain import serials
from stamp_service.domain.access import SYSTEM
from stamp_service.domain.stamp_format import parse_token, sign_token
from stamp_service.schemas.lots import TraceEventIn
from stamp_service.services import keys, lots
from stamp_service.services.status_events import status_changed
from stamp_service.storage.models.registry import Certificate
from stamp_service.storage.models.stamps import StampVoid
from tests.factories import event_payload
from tests.stamp_factories import IssuedBatch

REVOKE_CAUSES = ("withdrawn", "recalled", "voided", "below_three")


def path_of(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def add_events(session: Session, batch: IssuedBatch, n: int = 3) -> None:
    kinds = ("sourcing", "processing", "testing", "packing", "stamping", "dispatch")
    for i in range(n):
        data = event_payload(
            event_type=kinds[i % len(kinds)],
            occurred_at=f"2025-09-{10 + i % 18:02d}T07:30:00+07:00",
            note=f"Ghi chép số {i + 1}",
            documents=[{"name": f"bien-ban-{i}.pdf", "sha256": f"{i:02x}" * 32}],
        )
        lots.add_event(session, SYSTEM, batch.lot.id, TraceEventIn.model_validate_json(json.dumps(data)))


def withdraw(session: Session, batch: IssuedBatch, number: str = "3763/QĐ-UBND") -> None:
    cert = batch.certificate
    cert.state = "withdrawn"
    cert.state_changed_at = datetime(2026, 11, 18, tzinfo=UTC)
    cert.withdrawal = {
        "number": number,
        "decided_on": "2026-11-18",
        "authority": "UBND tỉnh Hà Tĩnh",
        "reason": "không đảm bảo chất lượng",
    }
    session.commit()
    status_changed(session)


def recall(session: Session, batch: IssuedBatch) -> None:
    batch.lot.recall = {"number": "12/QĐ-CCATTP", "decided_on": "2026-11-20", "reason": "vi sinh vượt ngưỡng"}
    session.commit()
    status_changed(session)


def void(session: Session, batch: IssuedBatch, seq: int = 1, reason_code: str = "lost") -> None:
    session.add(
        StampVoid(
            request_id=batch.request.id,
            seq_from=seq,
            seq_to=seq,
            reason_code=reason_code,
            reason="cuộn tem bị mất" if reason_code == "lost" else "tem bị sao chép",
            decision={"number": "05/BB"},
        )
    )
    session.commit()
    status_changed(session)


def reduce_below_three(session: Session, batch: IssuedBatch) -> None:
    reduce_stars(session, batch, 2)


def reduce_stars(session: Session, batch: IssuedBatch, stars: int) -> None:
    """A reduction decision: a new certificate with fewer stars supersedes the current one."""
    old = batch.certificate
    old.state = "superseded"
    session.flush()
    session.add(
        Certificate(
            product_id=old.product_id,
            stars=stars,
            criteria_version=old.criteria_version,
            authority_name=old.authority_name,
            authority_level=old.authority_level,
            decision_number="88/QĐ-UBND",
            signed_on=date(2026, 10, 1),
            valid_until=date(2029, 10, 1),
            supersedes_id=old.id,
            state="active",
        )
    )
    session.commit()
    status_changed(session)


def expire(session: Session, batch: IssuedBatch) -> None:
    batch.certificate.valid_until = date(2026, 1, 1)
    session.commit()
    status_changed(session)


def compromise(session: Session, keyring: KeyRing, batch: IssuedBatch) -> None:
    keys.compromise(session, SYSTEM, keyring=keyring, kid=batch.stamps[0].kid, reason="laptop stolen")
    status_changed(session)


def revoke(session: Session, batch: IssuedBatch, cause: str) -> None:
    {"withdrawn": withdraw, "recalled": recall, "voided": void, "below_three": reduce_below_three}[cause](
        session, batch
    )


def not_genuine_tokens(session: Session, keyring: KeyRing, token: str) -> dict[str, str]:
    """A bad signature, an unknown key, an unknown serial, malformed and truncated codes."""
    claims, _sig, _msg = parse_token(token)
    flipped = token[:-3] + ("A" if token[-3] != "A" else "B") + token[-2:]
    stranger = Ed25519PrivateKey.generate()
    unknown_key = sign_token(replace(claims, kid=kid_for(stranger.public_key())), private_key=stranger)
    unknown_serial = keyring.signer(session).sign_claims(replace(claims, serial=serials.generate()))
    return {
        "bad_signature": flipped,
        "unknown_key": unknown_key,
        "unknown_serial": unknown_serial,
        "malformed": "NOTATOKEN42",
        "truncated": token[:-8],
    }


def verify_settings(settings: Any, **extra: Any) -> Any:
    return settings.with_overrides(extra={**settings.extra, **extra})
