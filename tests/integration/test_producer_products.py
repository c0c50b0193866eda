"""My products: stars now, certificate validity with warnings 90 and 30 days ahead, and the
decisions (star changes, withdrawals) with their numbers; only the producer's own products."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from stamp_service.domain.access import SYSTEM, Principal, Role
from stamp_service.schemas.revocation import ReductionIn, WithdrawalIn
from stamp_service.services import producer_view, revocation
from tests.factories import make_certificate, make_product
from tests.producer_support import producer_world, signed_in_client


def test_warnings_90_and_30_days_before_expiry(session):
    world = producer_world(session, "htx-exp")
    me = Principal(account_id=None, role=Role.PRODUCER, name="htx-exp", producer_id=world.producer.id)
    [card] = producer_view.my_products(session, me, today=date(2025, 10, 1))
    end = card.current.certificate.valid_until
    assert card.warning is None
    assert producer_view.my_products(session, me, today=end - timedelta(days=90))[0].warning == "soon"
    assert producer_view.my_products(session, me, today=end - timedelta(days=91))[0].warning is None
    assert producer_view.my_products(session, me, today=end - timedelta(days=30))[0].warning == "urgent"
    assert producer_view.my_products(session, me, today=end + timedelta(days=1))[0].warning == "expired"


def test_page_shows_stars_and_decisions_and_only_own_products(app, session):
    world = producer_world(session, "htx-prod")
    other = producer_world(session, "htx-prod-other")
    cert = make_certificate(
        session, make_product(session, world.producer.id).id, decision_number="77/QĐ-UBND"
    )
    reduced = revocation.reduce_stars(
        session,
        SYSTEM,
        cert.id,
        ReductionIn.model_validate(
            {
                "stars": 3,
                "decision": {
                    "number": "88/QĐ-UBND",
                    "decided_on": date(2026, 1, 5),
                    "authority": "UBND tỉnh Hà Tĩnh",
                },
                "reason": "Điểm đánh giá lại thấp hơn",
            }
        ),
    )
    revocation.withdraw_certificate(
        session,
        SYSTEM,
        reduced.certificate.id,
        WithdrawalIn.model_validate(
            {
                "decision": {
                    "number": "99/QĐ-UBND",
                    "decided_on": date(2026, 2, 1),
                    "authority": "UBND tỉnh Hà Tĩnh",
                },
                "reason": "Vi phạm quy định ghi nhãn",
            }
        ),
    )
    client = signed_in_client(app, "htx-prod")
    page = client.get("/producer/products/").get_data(as_text=True)
    assert world.product.name in page and "4 sao" in page
    assert "77/QĐ-UBND" in page and "88/QĐ-UBND" in page
    assert (
        "Bị thu hồi theo quyết định 99/QĐ-UBND ngày 01/02/2026" in page
        and "Vi phạm quy định ghi nhãn" in page
    )
    from stamp_service.storage.models.registry import Certificate

    theirs = session.scalar(
        select(Certificate.decision_number).where(Certificate.product_id == other.product.id)
    )
    assert theirs and theirs not in page
    assert (
        signed_in_client(app, "htx-prod-other")
        .get("/producer/products/")
        .get_data(as_text=True)
        .count("77/QĐ-UBND")
        == 0
    )
