"""The certification rules of DOMAIN.md §1 as pure functions."""

from __future__ import annotations

from datetime import date

import pytest

from stamp_service.domain.certification import (
    CRITERIA_VERSIONS,
    CertificateStatus,
    certificate_status,
    check_authority_level,
    check_criteria_in_force,
    check_score,
    default_valid_until,
    required_authority_level,
    stars_for_score,
)
from stamp_service.errors import RuleViolation
from stamp_service.schemas.certificates import CriteriaVersion


@pytest.mark.parametrize(
    ("signed_on", "stars", "level"),
    [
        (date(2021, 11, 18), 3, "province"),
        (date(2023, 2, 23), 4, "province"),
        (date(2022, 5, 1), 5, "central"),
        (date(2023, 2, 24), 3, "district"),  # 148/QĐ-TTg in force from its signing day
        (date(2025, 7, 5), 3, "district"),
        (date(2024, 6, 1), 4, "province"),
        (date(2024, 6, 1), 5, "central"),
        (date(2025, 7, 6), 3, "province"),  # two-tier government: no districts
        (date(2026, 1, 10), 4, "province"),
        (date(2026, 1, 10), 5, "central"),
    ],
)
def test_the_right_level_passes_and_any_other_fails(signed_on, stars, level):
    check_authority_level(signed_on, stars, level)
    assert required_authority_level(signed_on, stars).value == level
    for other in {"central", "province", "district"} - {level}:
        with pytest.raises(RuleViolation) as info:
            check_authority_level(signed_on, stars, other)
        assert info.value.rule == "certifying-authority-level"
        assert info.value.extra["required_level"] == level


@pytest.mark.parametrize(
    ("score", "stars"),
    [(100, 5), (90, 5), (89, 4), (70, 4), (69, 3), (50, 3), (49, 2), (30, 2), (29, 1), (0, 1)],
)
def test_score_bands(score, stars):
    for version in CRITERIA_VERSIONS:
        assert stars_for_score(version, score) == stars
        check_score(version, stars, score)
    with pytest.raises(RuleViolation) as info:
        check_score("148/QĐ-TTg", 5 if stars != 5 else 4, score)
    assert info.value.rule == "score-star-band"


def test_criteria_version_must_be_in_force_and_the_api_enum_matches_the_data():
    check_criteria_in_force("148/QĐ-TTg", date(2023, 2, 24))
    with pytest.raises(RuleViolation):
        check_criteria_in_force("148/QĐ-TTg", date(2023, 2, 23))
    assert {v.value for v in CriteriaVersion} == set(CRITERIA_VERSIONS)


def test_replaced_criteria_are_refused_for_new_decisions():
    """148/QĐ-TTg replaced 1048/QĐ-TTg on 24/2/2023: a decision signed since cannot apply 1048
    (a console user recorded one signed on 20/11/2026); older 1048 decisions are still recorded."""
    check_criteria_in_force("1048/QĐ-TTg", date(2021, 6, 1))
    check_criteria_in_force("1048/QĐ-TTg", date(2023, 2, 23))
    for signed_on in (date(2023, 2, 24), date(2026, 11, 20)):
        with pytest.raises(RuleViolation):
            check_criteria_in_force("1048/QĐ-TTg", signed_on)


@pytest.mark.parametrize(
    ("signed_on", "until"),
    [
        (date(2025, 9, 15), date(2028, 9, 15)),
        (date(2024, 2, 29), date(2027, 2, 28)),
        (date(2023, 12, 31), date(2026, 12, 31)),
    ],
)
def test_validity_is_36_months(signed_on, until):
    assert default_valid_until(signed_on) == until


def test_status_at_a_date():
    until = date(2028, 9, 15)

    def status(state: str, at: date, stars: int = 4) -> CertificateStatus:
        return certificate_status(state=state, stars=stars, valid_until=until, at=at)

    assert status("active", until) is CertificateStatus.VALID
    assert status("active", date(2028, 9, 16)) is CertificateStatus.EXPIRED
    assert status("withdrawn", date(2026, 1, 1)) is CertificateStatus.WITHDRAWN
    assert status("superseded", date(2029, 1, 1)) is CertificateStatus.SUPERSEDED


def test_a_rating_below_three_stars_is_never_valid():
    """A reduction to 1-2 stars revokes the product's stamps (Cause.STARS_BELOW_THREE)."""
    until = date(2028, 9, 15)
    for stars in (1, 2):
        for at in (date(2026, 1, 1), date(2029, 1, 1)):  # in and after the validity
            got = certificate_status(state="active", stars=stars, valid_until=until, at=at)
            assert got is CertificateStatus.BELOW_THREE
    assert (
        certificate_status(state="withdrawn", stars=2, valid_until=until, at=date(2026, 1, 1))
        is CertificateStatus.WITHDRAWN
    )
    assert (
        certificate_status(state="active", stars=3, valid_until=until, at=date(2026, 1, 1))
        is CertificateStatus.VALID
    )
