"""The derived status model: every cause, and the order in which causes win."""

from __future__ import annotations

from datetime import date

import pytest

from stamp_service.domain.status import (
    Cause,
    CertificateFacts,
    Decision,
    KeyState,
    StampFacts,
    Verdict,
    stamp_status,
)

TODAY = date(2026, 11, 23)
CERT = CertificateFacts(stars=4, valid_until=date(2028, 8, 1))


def facts(**kw) -> StampFacts:
    base = dict(expiry_day=date(2028, 8, 1), key_state=KeyState.ACTIVE, certificate=CERT)
    base.update(kw)
    return StampFacts(**base)


def test_genuine_when_nothing_applies():
    status = stamp_status(facts(), today=TODAY)
    assert status.verdict is Verdict.GENUINE and status.findings == () and status.warnings == ()


@pytest.mark.parametrize(
    ("kw", "cause"),
    [
        ({"voided": Decision(reason="lost roll", decided_on=TODAY)}, Cause.STAMP_VOIDED),
        ({"lot_recalled": Decision(number="12/QĐ-ATTP", decided_on=TODAY)}, Cause.LOT_RECALLED),
        (
            {"certificate": CertificateFacts(4, date(2028, 8, 1), withdrawn=Decision(number="3763/QĐ-UBND"))},
            Cause.STARS_WITHDRAWN,
        ),
        (
            {"certificate": CertificateFacts(2, date(2028, 8, 1), stars_changed_on=TODAY)},
            Cause.STARS_BELOW_THREE,
        ),
        ({"certificate": None}, Cause.NO_CERTIFICATE),
    ],
)
def test_each_revocation_cause(kw, cause):
    status = stamp_status(facts(**kw), today=TODAY)
    assert status.verdict is Verdict.REVOKED
    assert status.primary.cause is cause


def test_revocation_beats_expiry_and_expiry_beats_suspicion():
    expired_cert = CertificateFacts(4, date(2025, 1, 1))
    both = facts(certificate=expired_cert, voided=Decision(reason="copy"), clone_suspected=True)
    assert stamp_status(both, today=TODAY).verdict is Verdict.REVOKED
    expired = facts(certificate=expired_cert, clone_suspected=True)
    status = stamp_status(expired, today=TODAY)
    assert status.verdict is Verdict.EXPIRED and status.primary.cause is Cause.CERTIFICATE_EXPIRED
    assert stamp_status(facts(clone_suspected=True), today=TODAY).verdict is Verdict.SUSPICIOUS


def test_expiry_is_computed_on_the_day_after_the_last_valid_day():
    cert = CertificateFacts(3, TODAY)
    assert stamp_status(facts(certificate=cert, expiry_day=TODAY), today=TODAY).verdict is Verdict.GENUINE
    later = date(2026, 11, 24)
    assert stamp_status(facts(certificate=cert, expiry_day=TODAY), today=later).verdict is Verdict.EXPIRED


def test_signed_stamp_expiry_applies_even_after_recertification():
    renewed = CertificateFacts(4, date(2030, 1, 1))
    status = stamp_status(facts(certificate=renewed, expiry_day=date(2026, 1, 1)), today=TODAY)
    assert status.verdict is Verdict.EXPIRED and status.primary.cause is Cause.STAMP_EXPIRED


def test_reduction_that_stays_certified_keeps_stamps_genuine():
    reduced = CertificateFacts(3, date(2028, 8, 1), stars_changed_on=date(2026, 10, 1))
    assert stamp_status(facts(certificate=reduced), today=TODAY).verdict is Verdict.GENUINE


def test_compromised_key_adds_a_warning_without_hiding_other_causes():
    status = stamp_status(facts(key_state=KeyState.COMPROMISED, key_compromised_on=TODAY), today=TODAY)
    assert status.verdict is Verdict.GENUINE
    assert status.warnings[0].cause is Cause.KEY_COMPROMISED
    recalled = facts(key_state=KeyState.COMPROMISED, lot_recalled=Decision(reason="unsafe"))
    assert stamp_status(recalled, today=TODAY).verdict is Verdict.REVOKED
