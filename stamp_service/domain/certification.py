"""OCOP certification rules as data and pure functions (DOMAIN.md §1, §3).

Nothing here touches the database: services pass plain values in and get a
value back or a :class:`RuleViolation` raised. Thresholds, eras and validity
are data, because they change by decree.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from enum import StrEnum

from stamp_service.domain.status import MIN_CERTIFIED_STARS
from stamp_service.errors import RuleViolation

VN_TZ = timezone(timedelta(hours=7), "ICT")
CERTIFIABLE_STARS = (3, 4, 5)
VALIDITY_MONTHS = 36


class AuthorityLevel(StrEnum):
    CENTRAL = "central"
    PROVINCE = "province"
    DISTRICT = "district"


class CertificateStatus(StrEnum):
    VALID = "valid"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"
    SUPERSEDED = "superseded"
    BELOW_THREE = "below_three"  # reduced below MIN_CERTIFIED_STARS: revokes (Cause.STARS_BELOW_THREE)


@dataclass(frozen=True)
class CriteriaVersion:
    code: str
    in_force_from: date
    # (stars, lowest score inclusive), highest band first; below the last band is 1 star.
    bands: tuple[tuple[int, int], ...]
    in_force_until: date | None = None  # the last day before the decision that replaced it


_BANDS_1048 = ((5, 90), (4, 70), (3, 50), (2, 30), (1, 0))
CRITERIA_VERSIONS: dict[str, CriteriaVersion] = {
    # Decision 1048/QĐ-TTg of 21/8/2019.
    # Replaced by 148/QĐ-TTg from the day it was signed: certificates already granted under 1048 stay
    # valid to their end date, but no new decision applies it (docs/console.md).
    "1048/QĐ-TTg": CriteriaVersion("1048/QĐ-TTg", date(2019, 8, 21), _BANDS_1048, date(2023, 2, 23)),
    # Decision 148/QĐ-TTg of 24/2/2023 kept the same 100-point scale and bands
    # (1489/QĐ-TTg of 6/7/2025 amended who evaluates, not the bands).
    "148/QĐ-TTg": CriteriaVersion("148/QĐ-TTg", date(2023, 2, 24), _BANDS_1048),
}


@dataclass(frozen=True)
class CertifyingEra:
    """Which authority level certifies which stars, for decisions signed in [start, end]."""

    name: str
    start: date | None
    end: date | None
    levels: dict[int, AuthorityLevel]


P, C, D = AuthorityLevel.PROVINCE, AuthorityLevel.CENTRAL, AuthorityLevel.DISTRICT
CERTIFYING_ERAS: tuple[CertifyingEra, ...] = (
    CertifyingEra("1048/QĐ-TTg", None, date(2023, 2, 23), {3: P, 4: P, 5: C}),
    CertifyingEra("148/QĐ-TTg", date(2023, 2, 24), date(2025, 7, 5), {3: D, 4: P, 5: C}),
    CertifyingEra("1489/QĐ-TTg (two-tier local government)", date(2025, 7, 6), None, {3: P, 4: P, 5: C}),
)


def era_on(signed_on: date) -> CertifyingEra:
    for era in CERTIFYING_ERAS:
        if (era.start is None or signed_on >= era.start) and (era.end is None or signed_on <= era.end):
            return era
    raise AssertionError("the eras cover every date")  # pragma: no cover


def required_authority_level(signed_on: date, stars: int) -> AuthorityLevel:
    """The level that certifies ``stars`` on ``signed_on``.

    Records below 3 stars (reductions) are decided by the level that certifies 3 stars.
    """
    era = era_on(signed_on)
    return era.levels[max(3, min(stars, 5))]


def check_authority_level(signed_on: date, stars: int, level: str) -> None:
    """Raise RuleViolation(rule="certifying-authority-level") unless ``level`` may certify ``stars``."""
    required = required_authority_level(signed_on, stars)
    if level != required.value:
        era = era_on(signed_on)
        raise RuleViolation(
            f"a {stars}-star decision signed on {signed_on.isoformat()} is made by the {required.value} "
            f"level under {era.name}, not the {level} level",
            rule="certifying-authority-level",
            required_level=required.value,
        )


def stars_for_score(criteria_version: str, score: int) -> int:
    version = CRITERIA_VERSIONS[criteria_version]
    for stars, lowest in version.bands:
        if score >= lowest:
            return stars
    return 1


def check_score(criteria_version: str, stars: int, score: int) -> None:
    """Raise RuleViolation(rule="score-star-band") when the score does not give these stars."""
    expected = stars_for_score(criteria_version, score)
    if expected != stars:
        raise RuleViolation(
            f"a score of {score} gives {expected} stars under {criteria_version}, not {stars}",
            rule="score-star-band",
            expected_stars=expected,
        )


def check_criteria_in_force(criteria_version: str, signed_on: date) -> None:
    """A decision applies the criteria in force on the day it was signed: not criteria published
    later, nor criteria already replaced."""
    version = CRITERIA_VERSIONS[criteria_version]
    replaced = version.in_force_until is not None and signed_on > version.in_force_until
    if signed_on < version.in_force_from or replaced:
        raise RuleViolation(
            f"{criteria_version} was not in force on {signed_on.isoformat()}",
            rule="criteria-version-in-force",
        )


def add_months(day: date, months: int) -> date:
    """Same day ``months`` later, clamped to the month's last day (29/2 + 36 months = 28/2)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def default_valid_until(signed_on: date) -> date:
    return add_months(signed_on, VALIDITY_MONTHS)


def certificate_status(*, state: str, stars: int, valid_until: date, at: date) -> CertificateStatus:
    """The status of a certificate on day ``at``; ``valid_until`` is the last valid day.

    ``state`` is the recorded decision state (active / superseded / withdrawn). Withdrawn
    outranks superseded, which outranks a rating below ``MIN_CERTIFIED_STARS`` (a reduction:
    its stamps are revoked, so it is never "valid"), which outranks expired.
    """
    if state == "withdrawn":
        return CertificateStatus.WITHDRAWN
    if state == "superseded":
        return CertificateStatus.SUPERSEDED
    if stars < MIN_CERTIFIED_STARS:
        return CertificateStatus.BELOW_THREE
    if at > valid_until:
        return CertificateStatus.EXPIRED
    return CertificateStatus.VALID


def local_today(now: datetime | None = None) -> date:
    """Today in Vietnam: certificate validity is counted in local calendar days."""
    return (now or datetime.now(VN_TZ)).astimezone(VN_TZ).date()


def local_day(moment: datetime) -> date:
    """The Vietnamese calendar day of a stored (UTC) moment: what a page may print as "on <day>".

    A void at 20:00 UTC happened on the next day in Vietnam (UTC+7); ``moment.date()`` would print
    the day before.
    """
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)  # stored moments are UTC
    return aware.astimezone(VN_TZ).date()
