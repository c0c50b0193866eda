"""Who may do what. Checked by the services, so every entry point (API, CLI) obeys it.

Reads of another producer's records answer *not found* rather than *forbidden*,
so that a producer cannot learn which lot or product ids exist elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from stamp_service.errors import Forbidden, NotFound


class Role(StrEnum):
    ADMIN = "admin"
    PRODUCER = "producer"
    INSPECTOR = "inspector"


@dataclass(frozen=True)
class Principal:
    """The authenticated caller, as the services see it."""

    account_id: int | None
    name: str
    role: Role
    producer_id: int | None = None
    # The province an office or inspector account belongs to; None is the central level
    # (and producers, whose scope is their producer).
    province_code: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


SYSTEM = Principal(account_id=None, name="system", role=Role.ADMIN)
"""The CLI and the demo loader act as the office itself."""


def require_role(principal: Principal, *roles: Role) -> None:
    if principal.role not in roles:
        raise Forbidden(f"the {principal.role} role may not do this")


def require_read(principal: Principal, owner_producer_id: int, what: str = "resource") -> None:
    """Admins and inspectors read everything; a producer only its own records."""
    if principal.role is Role.PRODUCER and principal.producer_id != owner_producer_id:
        raise NotFound(f"no such {what}")


def require_write(principal: Principal, owner_producer_id: int, what: str = "resource") -> None:
    """Admins change anything; a producer only its own records; inspectors nothing."""
    if principal.role is Role.INSPECTOR:
        raise Forbidden("inspectors have read-only access")
    require_read(principal, owner_producer_id, what)


def producer_scope(principal: Principal) -> int | None:
    """The producer id a listing must be restricted to, or None for all."""
    return principal.producer_id if principal.role is Role.PRODUCER else None
