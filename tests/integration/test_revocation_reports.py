"""Revocation reports filter and page in SQL, on decision-date columns kept by the revocation services."""

from __future__ import annotations

from datetime import date

import pytest

from stamp_service.domain.certification import local_today
from stamp_service.storage.models.registry import Certificate, Lot
from tests.factories import make_certificate, make_lot, make_producer, make_product
from tests.revocation_support import decision

EXPIRING = "/api/v1/certificates/expiring"


@pytest.fixture()
def products(session):
    producer = make_producer(session)
    out = []
    for _ in range(3):
        product = make_product(session, producer.id)
        cert = make_certificate(session, product.id)
        out.append((product, cert, make_lot(session, product.id)))
    return out


def report(client, caller, name, qs=""):
    path = name if name.startswith("/") else f"/api/v1/reports/{name}"
    resp = client.get(f"{path}?{qs}", headers=caller.headers)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def test_revoked_products_filter_on_the_withdrawal_date_column_and_page_in_sql(
    client, session, admin, products
):
    days = ("2026-11-10", "2026-11-15", "2026-11-20")
    for (_, cert, _), day in zip(products, days, strict=True):
        resp = client.post(
            f"/api/v1/certificates/{cert.id}/withdrawal",
            json={"decision": decision(decided_on=day), "reason": "vi phạm"},
            headers=admin.headers,
        )
        assert resp.status_code == 200, resp.get_json()
    session.expire_all()
    assert [session.get(Certificate, c.id).withdrawn_on for _, c, _ in products] == [
        date.fromisoformat(d) for d in days
    ]
    ids = [p.id for p, _, _ in products]

    everything = report(client, admin, "revoked-products", "per_page=200")
    assert [i["product_id"] for i in everything["items"]] == ids and everything["total"] == 3
    since = report(client, admin, "revoked-products", "since=2026-11-12&per_page=1")
    assert (since["total"], [i["product_id"] for i in since["items"]]) == (2, [ids[1]])
    second = report(client, admin, "revoked-products", "since=2026-11-12&per_page=1&page=2")
    assert [(i["product_id"], i["decided_on"]) for i in second["items"]] == [(ids[2], "2026-11-20")]
    window = report(client, admin, "revoked-products", "since=2026-11-11&until=2026-11-15")
    assert [i["product_id"] for i in window["items"]] == [ids[1]]
    assert report(client, admin, "revoked-products", "until=2026-11-09")["total"] == 0
    beyond = report(client, admin, "revoked-products", "per_page=2&page=5")
    assert (beyond["total"], beyond["items"]) == (3, [])


def test_a_reduction_below_three_dates_from_its_decision(client, session, admin, products):
    product, cert, _ = products[0]
    resp = client.post(
        f"/api/v1/certificates/{cert.id}/reduction",
        json={"stars": 2, "decision": decision("4100/QĐ-UBND", "2026-11-16"), "reason": "bao bì không đạt"},
        headers=admin.headers,
    )
    assert resp.status_code == 200, resp.get_json()
    got = report(client, admin, "revoked-products", "since=2026-11-16&until=2026-11-16")
    assert [(i["product_id"], i["cause"], i["decided_on"]) for i in got["items"]] == [
        (product.id, "stars_below_three", "2026-11-16")
    ]
    assert report(client, admin, "revoked-products", "since=2026-11-17")["total"] == 0


def test_recalled_lots_keep_the_recall_date_column_in_step(client, session, admin, inspector, products):
    lots = [lot for _, _, lot in products]
    for lot, day in zip(lots[:2], ("2026-11-12", "2026-11-19"), strict=True):
        resp = client.post(
            f"/api/v1/lots/{lot.id}/recall",
            json={"reason": "thu hồi", "decision": decision("12/QĐ-CCATTP", day)},
            headers=admin.headers,
        )
        assert resp.status_code == 200, resp.get_json()
    resp = client.post(f"/api/v1/lots/{lots[2].id}/recall", json={"reason": "thu hồi"}, headers=admin.headers)
    assert resp.status_code == 200, resp.get_json()
    session.expire_all()
    assert [session.get(Lot, lot.id).recalled_on for lot in lots] == [
        date(2026, 11, 12),
        date(2026, 11, 19),
        local_today(),  # no decision given: recalled today
    ]

    page = report(client, inspector, "recalled-lots", "per_page=1&page=2")
    assert (page["total"], [i["lot_id"] for i in page["items"]]) == (3, [lots[1].id])
    got = report(client, inspector, "recalled-lots", "since=2026-11-13&until=2026-11-19")
    assert [(i["lot_id"], i["decided_on"]) for i in got["items"]] == [(lots[1].id, "2026-11-19")]

    lift = client.post(
        f"/api/v1/lots/{lots[1].id}/recall/lift", json={"reason": "đạt"}, headers=admin.headers
    )
    assert lift.status_code == 200, lift.get_json()
    session.expire_all()
    lifted = session.get(Lot, lots[1].id)
    assert (lifted.recall, lifted.recalled_on) == (None, None)
    assert report(client, inspector, "recalled-lots", "since=2026-11-13&until=2026-11-19")["total"] == 0
    assert report(client, inspector, "recalled-lots")["total"] == 2


def test_expiring_certificates_are_counted_and_paged_in_sql(client, session, admin):
    producer = make_producer(session)
    today = local_today()
    for months in (0, 1, 2):
        product = make_product(session, producer.id)
        signed = date(today.year - 3, today.month, 1)
        make_certificate(
            session,
            product.id,
            signed_on=signed.isoformat(),
            valid_until=date.fromordinal(today.toordinal() + 5 + 20 * months).isoformat(),
        )
    first = report(client, admin, EXPIRING, "days=60&per_page=2")
    assert (first["total"], len(first["items"])) == (3, 2)
    second = report(client, admin, EXPIRING, "days=60&per_page=2&page=2")
    assert [i["days_left"] for i in first["items"] + second["items"]] == [5, 25, 45]
    assert report(client, admin, EXPIRING, "days=30")["total"] == 2
