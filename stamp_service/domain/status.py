"""A stamp's status, derived (never stored): the worst of its key, itself, its lot and its certificate.

DESIGN §4. Pure: the caller gathers the facts (one row each for the key, the
stamp, the lot and the product's current certificate) and this module decides.
One admin action on a certificate, lot or key therefore changes the verdict of
every linked stamp with no mass update.

Order of evaluation (the first that applies wins, see docs/revocation.md):
1. not genuine: bad format/signature (decided before any lookup), unknown serial,
   or claims that do not match the issued record;
2. revoked: stamp voided, lot recalled, certificate withdrawn, current rating below 3 stars;
3. expired: the current certificate's validity ended, or the stamp's own signed expiry day passed;
4. suspicious: clone signals (decided by the scan-statistics policy, passed in);
5. genuine. A compromised signing key adds a warning (confirmed online only) to 2-5.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any


class Verdict(StrEnum):
    GENUINE = "genuine"
    SUSPICIOUS = "suspicious"
    EXPIRED = "expired"
    REVOKED = "revoked"
    NOT_GENUINE = "not_genuine"


class Cause(StrEnum):
    BAD_CODE = "bad_code"  # malformed, unknown version, unknown key, bad signature
    UNKNOWN_SERIAL = "unknown_serial"
    STAMP_VOIDED = "stamp_voided"
    LOT_RECALLED = "lot_recalled"
    STARS_WITHDRAWN = "stars_withdrawn"
    STARS_BELOW_THREE = "stars_below_three"
    NO_CERTIFICATE = "no_certificate"
    CERTIFICATE_EXPIRED = "certificate_expired"
    STAMP_EXPIRED = "stamp_expired"
    MANY_SCANS = "many_scans"
    PIN_REUSED = "pin_reused"  # a scratch PIN entered again after its first use
    KEY_COMPROMISED = "key_compromised"


class KeyState(StrEnum):
    ACTIVE = "active"
    RETIRED = "retired"
    COMPROMISED = "compromised"


MIN_CERTIFIED_STARS = 3


@dataclass(frozen=True)
class Decision:
    """A reference to the decision or reason behind a state change.

    Stored as JSON on the changed row (``Certificate.withdrawal``, ``Lot.recall``,
    ``StampVoid.decision``) with the keys ``number``, ``decided_on`` (ISO date),
    ``authority`` and ``reason``.
    """

    number: str | None = None
    decided_on: date | None = None
    authority: str | None = None
    reason: str | None = None
    kind: str | None = None  # a void's reason code (lost, spoiled, copied, other): the page words it

    @classmethod
    def from_record(cls, record: dict[str, Any] | None, **defaults: Any) -> Decision:
        data = {**defaults, **{k: v for k, v in (record or {}).items() if v is not None}}
        day = data.get("decided_on")
        return cls(
            number=data.get("number"),
            decided_on=date.fromisoformat(day) if isinstance(day, str) else day,
            authority=data.get("authority"),
            reason=data.get("reason"),
            kind=data.get("kind"),
        )

    def to_record(self) -> dict[str, Any]:
        record = {
            "number": self.number,
            "decided_on": self.decided_on.isoformat() if self.decided_on else None,
            "authority": self.authority,
            "reason": self.reason,
        }
        if self.kind is not None:  # only voids have one; stored decisions keep their four keys
            record["kind"] = self.kind
        return record


@dataclass(frozen=True)
class CertificateFacts:
    """The product's *current* certificate (the newest of its supersession chain)."""

    stars: int
    valid_until: date
    withdrawn: Decision | None = None
    stars_changed_on: date | None = None  # when the rating last changed (a reduction or raise)


@dataclass(frozen=True)
class StampFacts:
    expiry_day: date  # signed into the stamp
    key_state: KeyState
    key_compromised_on: date | None = None
    voided: Decision | None = None
    lot_recalled: Decision | None = None
    certificate: CertificateFacts | None = None
    clone_suspected: bool = False


@dataclass(frozen=True)
class Finding:
    cause: Cause
    since: date | None = None
    decision: Decision | None = None


@dataclass(frozen=True)
class Status:
    verdict: Verdict
    findings: tuple[Finding, ...] = ()
    warnings: tuple[Finding, ...] = field(default=())

    @property
    def primary(self) -> Finding | None:
        return self.findings[0] if self.findings else None


def stamp_status(facts: StampFacts, *, today: date) -> Status:
    """Decide a known, correctly signed stamp's verdict (the caller handles 'not genuine')."""
    warnings: tuple[Finding, ...] = ()
    if facts.key_state is KeyState.COMPROMISED:
        warnings = (Finding(Cause.KEY_COMPROMISED, facts.key_compromised_on),)

    revoked: list[Finding] = []
    if facts.voided is not None:
        revoked.append(Finding(Cause.STAMP_VOIDED, facts.voided.decided_on, facts.voided))
    if facts.lot_recalled is not None:
        revoked.append(Finding(Cause.LOT_RECALLED, facts.lot_recalled.decided_on, facts.lot_recalled))
    cert = facts.certificate
    if cert is None:
        revoked.append(Finding(Cause.NO_CERTIFICATE))
    elif cert.withdrawn is not None:
        revoked.append(Finding(Cause.STARS_WITHDRAWN, cert.withdrawn.decided_on, cert.withdrawn))
    elif cert.stars < MIN_CERTIFIED_STARS:
        revoked.append(Finding(Cause.STARS_BELOW_THREE, cert.stars_changed_on))
    if revoked:
        return Status(Verdict.REVOKED, tuple(revoked), warnings)

    assert cert is not None
    expired: list[Finding] = []
    if today > cert.valid_until:
        expired.append(Finding(Cause.CERTIFICATE_EXPIRED, cert.valid_until))
    if today > facts.expiry_day:
        expired.append(Finding(Cause.STAMP_EXPIRED, facts.expiry_day))
    if expired:
        return Status(Verdict.EXPIRED, tuple(expired), warnings)

    if facts.clone_suspected:
        return Status(Verdict.SUSPICIOUS, (Finding(Cause.MANY_SCANS),), warnings)
    return Status(Verdict.GENUINE, (), warnings)
