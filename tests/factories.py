"""Test data through the real services (validation and audit included)."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from stamp_service.domain.access import SYSTEM, Role
from stamp_service.schemas.registry import LegalType, ProducerIn
from stamp_service.services import accounts, registry
from stamp_service.storage.models.registry import Producer

_seq = itertools.count(1)


@dataclass(frozen=True)
class Caller:
    """An account with its bearer token, ready for the test client."""

    account_id: int
    token: str
    producer_id: int | None = None

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def make_caller(session: Session, role: Role, producer_id: int | None = None) -> Caller:
    n = next(_seq)
    account = accounts.create_account(
        session, SYSTEM, name=f"{role.value}-{n}", role=role, producer_id=producer_id
    )
    issued = accounts.issue_token(session, SYSTEM, account_id=account.id)
    return Caller(account_id=account.id, token=issued.token, producer_id=producer_id)


def producer_payload(**overrides: Any) -> dict[str, Any]:
    n = next(_seq)
    payload: dict[str, Any] = {
        "name": f"HTX Nông nghiệp Phúc Trạch {n}",
        "legal_type": "cooperative",
        "registration_number": f"3001{n:06d}",
        "representative": "Nguyễn Văn An",
        "commune_code": "18418",
        "street": "Thôn 3",
        "phone": "0239 3871 234",
    }
    payload.update(overrides)
    return payload


def make_producer(session: Session, **overrides: Any) -> Producer:
    data = ProducerIn.model_validate_json(json.dumps(producer_payload(**overrides)))
    return registry.create_producer(session, SYSTEM, data)


__all__ = ["Caller", "LegalType", "make_caller", "make_producer", "producer_payload"]
