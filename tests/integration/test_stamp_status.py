"""From token to verdict through the real database rows (every cause of DESIGN §4)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from stamp_service.domain import serials
from stamp_service.domain.stamp_format import parse_token
from stamp_service.domain.status import Cause, Verdict
from stamp_service.services.stamp_status import check_serial, check_token
from stamp_service.storage.models.stamps import StampVoid
from tests.stamp_factories import ensure_keyring, make_issued_batch


@pytest.fixture()
def keyring(session, tmp_path):
    return ensure_keyring(session, tmp_path / "keys")


@pytest.fixture()
def batch(session, keyring):
    return make_issued_batch(session, keyring, n=4)


def test_an_issued_stamp_is_genuine_by_token_and_by_typed_serial(session, keyring, batch):
    check = check_token(session, keyring, batch.urls[0])
    assert check.status.verdict is Verdict.GENUINE
    assert check.stamp.serial == batch.stamps[0].serial and check.stars_at_issue == 4
    by_serial = check_serial(session, keyring, serials.from_db(batch.stamps[1].serial))
    assert by_serial.status.verdict is Verdict.GENUINE


def test_tampered_truncated_and_unknown_codes_are_not_genuine(session, keyring, batch):
    token = batch.tokens[0]
    flipped = token[:50] + ("A" if token[50] != "A" else "B") + token[51:]
    for bad in (flipped, token[:-8], "HTTPS://TEM.OCOP.LOCAL/V/NOTATOKEN"):
        assert check_token(session, keyring, bad).status.verdict is Verdict.NOT_GENUINE
    claims, _sig, _msg = parse_token(token)
    signer = keyring.signer(session)
    forged_serial = signer.sign_claims(replace(claims, serial=serials.generate()))  # signed, never issued
    unknown = check_token(session, keyring, forged_serial)
    assert unknown.status.verdict is Verdict.NOT_GENUINE
    assert unknown.status.primary.cause is Cause.UNKNOWN_SERIAL
    relabelled = signer.sign_claims(replace(claims, lot_index=claims.lot_index + 1))  # claims mismatch row
    assert check_token(session, keyring, relabelled).status.verdict is Verdict.NOT_GENUINE


def test_void_range_revokes_only_its_slots(session, keyring, batch):
    session.add(
        StampVoid(
            request_id=batch.request.id,
            seq_from=2,
            seq_to=3,
            reason_code="lost",
            reason="cuộn tem bị mất",
            decision={"number": "05/BB"},
        )
    )
    session.commit()
    verdicts = [check_token(session, keyring, t).status for t in batch.tokens]
    expected = [Verdict.GENUINE, Verdict.REVOKED, Verdict.REVOKED, Verdict.GENUINE]
    assert [s.verdict for s in verdicts] == expected
    assert verdicts[1].primary.cause is Cause.STAMP_VOIDED
    assert verdicts[1].primary.decision.number == "05/BB"


def test_lot_recall_and_star_withdrawal_revoke_every_stamp_at_once(session, keyring, batch):
    batch.lot.recall = {"number": "12/QĐ-CCATTP", "decided_on": "2026-11-20", "reason": "vi sinh vượt ngưỡng"}
    session.commit()
    status = check_token(session, keyring, batch.tokens[3]).status
    assert status.verdict is Verdict.REVOKED and status.primary.cause is Cause.LOT_RECALLED
    assert status.primary.decision.decided_on == date(2026, 11, 20)
    batch.lot.recall = None
    batch.certificate.state = "withdrawn"
    batch.certificate.state_changed_at = datetime(2026, 11, 18, tzinfo=UTC)
    batch.certificate.withdrawal = {"number": "3763/QĐ-UBND", "decided_on": "2026-11-18"}
    session.commit()
    for token in batch.tokens:
        status = check_token(session, keyring, token).status
        assert status.verdict is Verdict.REVOKED
        assert status.primary.cause is Cause.STARS_WITHDRAWN
        assert status.primary.decision.number == "3763/QĐ-UBND"


def test_expired_certificate_is_not_fake(session, keyring, batch):
    after = date(2099, 1, 1)
    status = check_token(session, keyring, batch.tokens[0], today=after).status
    assert status.verdict is Verdict.EXPIRED
    assert status.primary.cause is Cause.CERTIFICATE_EXPIRED


def test_compromised_key_warns_but_keeps_issued_stamps_confirmed(session, keyring, batch):
    from stamp_service.domain.access import SYSTEM
    from stamp_service.services import keys

    keys.compromise(session, SYSTEM, keyring=keyring, kid=batch.stamps[0].kid, reason="laptop stolen")
    keyring.invalidate()
    check = check_token(session, keyring, batch.tokens[0])
    assert check.status.verdict is Verdict.GENUINE
    assert check.status.warnings[0].cause is Cause.KEY_COMPROMISED


def test_dates_on_the_verdict_are_vietnamese_calendar_days(session, keyring, batch):
    """A void or a key compromise late in the UTC evening happened on the next day in Vietnam (UTC+7)."""
    from stamp_service.domain.access import SYSTEM
    from stamp_service.services import keys
    from stamp_service.storage.models.keys import SigningKey

    # 03:30 on 10 March in Hà Nội; after the stamps were issued (a key compromised before a stamp's
    # issue makes that stamp a forgery, not a warning).
    evening = datetime(2030, 3, 9, 20, 30, tzinfo=UTC)
    session.add(
        StampVoid(
            request_id=batch.request.id,
            seq_from=1,
            seq_to=1,
            reason_code="lost",
            reason="cuộn tem bị mất",
            decision={"number": "05/BB"},
            voided_at=evening,
        )
    )
    session.commit()
    voided = check_token(session, keyring, batch.tokens[0]).status
    assert voided.primary.cause is Cause.STAMP_VOIDED
    assert voided.primary.decision is not None and voided.primary.decision.decided_on == date(2030, 3, 10)

    keys.compromise(session, SYSTEM, keyring=keyring, kid=batch.stamps[1].kid, reason="laptop stolen")
    session.get(SigningKey, batch.stamps[1].kid).compromised_at = evening
    session.commit()
    keyring.invalidate()
    warned = check_token(session, keyring, batch.tokens[1]).status
    assert warned.warnings[0].cause is Cause.KEY_COMPROMISED
    assert warned.warnings[0].since == date(2030, 3, 10)
