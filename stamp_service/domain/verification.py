"""Pure rules of the public verification page: clone signals and the coarse browser family.

A copied stamp shows up as one serial scanned far too often, from many people
in many provinces, or over a span no real product sits on a shelf. The
thresholds are configuration (docs/verification.md); this module only decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from stamp_service.domain.status import Cause, Finding, Status, Verdict


@dataclass(frozen=True)
class CloneThresholds:
    """Any one rule that holds makes a genuine code "suspicious"."""

    max_scans: int = 20  # counted scans (repeats by the same client within the dedupe window count once)
    min_clients: int = 3  # distinct client hashes ...
    min_provinces: int = 3  # ... together with this many distinct shared provinces
    max_span_days: int = 180  # first to latest scan

    def __post_init__(self) -> None:
        if min(self.max_scans, self.min_clients, self.min_provinces, self.max_span_days) < 1:
            raise ValueError("clone thresholds must be positive")


@dataclass(frozen=True)
class ScanStats:
    """Live counters of one serial (this scan included)."""

    scans: int = 0
    first_at: datetime | None = None
    last_at: datetime | None = None
    clients: int = 0
    provinces: int = 0


def clone_reasons(stats: ScanStats, limits: CloneThresholds) -> tuple[str, ...]:
    """Which rules fire ("scans", "places", "span"); empty when nothing looks copied."""
    reasons = []
    if stats.scans >= limits.max_scans:
        reasons.append("scans")
    if stats.clients >= limits.min_clients and stats.provinces >= limits.min_provinces:
        reasons.append("places")
    if (
        stats.first_at
        and stats.last_at
        and stats.last_at - stats.first_at > timedelta(days=limits.max_span_days)
    ):
        reasons.append("span")
    return tuple(reasons)


def with_clone_signal(status: Status, suspected: bool) -> Status:
    """Rule 4 of ``domain.status``: suspicion only replaces a *genuine* verdict, never a worse one.

    Lets the per-stamp verdict be cached without the scan counters, which change on every scan.
    """
    if not suspected or status.verdict is not Verdict.GENUINE:
        return status
    return Status(Verdict.SUSPICIOUS, (Finding(Cause.MANY_SCANS),), status.warnings)


def with_pin_reused(status: Status) -> Status:
    """A scratch PIN entered again after its first use: a genuine verdict becomes suspicious.

    Like the clone signal it never hides a worse verdict (a revoked or expired stamp stays so).
    """
    if status.verdict is not Verdict.GENUINE:
        return status
    return Status(Verdict.SUSPICIOUS, (Finding(Cause.PIN_REUSED),), status.warnings)


_BROWSERS = (  # order matters: in-app and vendor browsers also say "Chrome" and "Safari"
    ("zalo", "zalo"),
    ("samsungbrowser", "samsung"),
    ("firefox", "firefox"),
    ("fxios", "firefox"),
    ("crios", "chrome"),
    ("edg", "other"),
    ("opr/", "other"),
    ("chrome", "chrome"),
    ("chromium", "chrome"),
    ("safari", "safari"),
)


def browser_family(user_agent: str | None) -> str:
    """A coarse family (chrome/safari/firefox/samsung/zalo/other): statistics, not a fingerprint."""
    ua = (user_agent or "").lower()[:512]
    for needle, family in _BROWSERS:
        if needle in ua:
            return family
    return "other"
