"""Who may do what. Checked by the services, so every entry point (API, CLI, console) obeys it.

Scope: a producer sees its own records; an office (admin) or inspector account with a
``province_code`` sees its province's records; a central account (no province) sees all.
Reads outside the scope answer *not found* rather than *forbidden*, so that nobody can
learn which ids exist elsewhere. Who certifies what (docs/registry.md) binds accounts too:
a provincial account may not act on a central-level (5-star) decision.
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
    # A producer account is its producer's administrator or a staff member (ProducerDuty).
    producer_admin: bool = False

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


SYSTEM = Principal(account_id=None, name="system", role=Role.ADMIN)
"""The CLI and the demo loader act as the office itself."""


def require_role(principal: Principal, *roles: Role) -> None:
    if principal.role not in roles:
        raise Forbidden(f"the {principal.role} role may not do this")


@dataclass(frozen=True)
class Owner:
    """Whose a record is: its producer, and that producer's province."""

    producer_id: int
    province_code: str


def province_scope(principal: Principal) -> str | None:
    """The province a listing must be restricted to, or None (central level; producers are
    restricted by ``producer_scope`` instead)."""
    return None if principal.role is Role.PRODUCER else principal.province_code


def in_province(principal: Principal, province_code: str | None) -> bool:
    """Whether a record of ``province_code`` (None: of no province) is within the account's province."""
    scope = province_scope(principal)
    return scope is None or scope == province_code


def require_province(principal: Principal, province_code: str | None, what: str = "resource") -> None:
    """NotFound for a record outside a provincial account's province (findings, reports...)."""
    if not in_province(principal, province_code):
        raise NotFound(f"no such {what}")


def can_read(principal: Principal, owner: Owner) -> bool:
    """A producer reads only its own records; a provincial account only its province's; central all."""
    if principal.role is Role.PRODUCER:
        return principal.producer_id == owner.producer_id
    return in_province(principal, owner.province_code)


def require_read(principal: Principal, owner: Owner, what: str = "resource") -> None:
    """NotFound (not Forbidden) outside the account's scope: ids elsewhere stay unknown."""
    if not can_read(principal, owner):
        raise NotFound(f"no such {what}")


def require_write(principal: Principal, owner: Owner, what: str = "resource") -> None:
    """Admins change what they can read; a producer only its own records; inspectors nothing."""
    require_read(principal, owner, what)
    if principal.role is Role.INSPECTOR:
        raise Forbidden("inspectors have read-only access")


def producer_scope(principal: Principal) -> int | None:
    """The producer id a listing must be restricted to, or None for all."""
    return principal.producer_id if principal.role is Role.PRODUCER else None


def require_central(principal: Principal) -> None:
    """Forbidden unless the account is at the central level (signing keys are the programme's)."""
    if principal.province_code is not None:
        raise Forbidden("only central-level accounts may do this")


def require_certifying_level(principal: Principal, level: str, *, stars: int | None = None) -> None:
    """A provincial account may not act on a decision that belongs to the central level.

    ``level`` is the authority level of the certificate acted on or recorded (docs/registry.md:
    5 stars are certified at the central level, 3-4 stars by the province).
    """
    if principal.province_code is not None and level == "central":
        rated = f"a {stars}-star certificate" if stars is not None else "this certificate"
        raise Forbidden(
            f"{rated} is decided at the central level; a provincial account may not record, "
            "reduce, re-certify or withdraw it",
            rule="certifying-authority-level",
            required_level="central",
        )


class ProducerDuty(StrEnum):
    """What a producer's people do. Staff do the daily work; the administrator also what cannot be
    undone (voiding stamps) and who may act for the producer (staff accounts). docs/producers.md."""

    RECORDS = "records"  # lots, origin records (trace events), their photos and documents
    STAMP_REQUESTS = "stamp_requests"  # request stamps, follow them, download the print files
    READ = "read"  # home, my products, scans
    VOID_STAMPS = "void_stamps"  # void spoiled or unprinted stamps
    MANAGE_STAFF = "manage_staff"  # invite, reset, deactivate, promote or demote staff accounts


PRODUCER_ADMIN_ONLY = frozenset({ProducerDuty.VOID_STAMPS, ProducerDuty.MANAGE_STAFF})


def may(principal: Principal, duty: ProducerDuty) -> bool:
    """Whether a producer's account may do ``duty``; other roles are not limited here (their role
    and scope checks apply as before)."""
    if principal.role is not Role.PRODUCER or principal.producer_admin:
        return True
    return duty not in PRODUCER_ADMIN_ONLY


def require_duty(principal: Principal, duty: ProducerDuty) -> None:
    """Forbidden for a producer's staff member asking for an administrator's duty."""
    if not may(principal, duty):
        raise Forbidden("only the producer's administrator may do this", rule="producer-administrator-only")


def require_account_manager(principal: Principal) -> None:
    """Office administrators manage the accounts of their scope; a producer's administrator those of
    its producer (services/accounts.py); nobody else manages accounts."""
    if principal.role is Role.ADMIN:
        return
    if principal.role is Role.PRODUCER:
        require_duty(principal, ProducerDuty.MANAGE_STAFF)
        return
    raise Forbidden(f"the {principal.role} role may not do this")
