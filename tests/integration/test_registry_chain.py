"""Issue 2 "Done when": the whole chain through the API alone, and a producer limited to its own."""

from __future__ import annotations

from stamp_service.services.audit import verify_chain
from tests.factories import event_payload


def test_admin_registers_the_whole_chain_and_a_producer_adds_only_to_its_own(
    client, session, admin, inspector
):
    def post(path, payload, headers=admin.headers):
        resp = client.post(f"/api/v1{path}", json=payload, headers=headers)
        return resp.status_code, resp.get_json()

    # admin: producer -> product -> certificate -> lot -> trace events
    status, producer = post(
        "/producers",
        {
            "name": "HTX Bưởi Phúc Trạch",
            "legal_type": "cooperative",
            "registration_number": "3001999001",
            "commune_code": "18418",
            "street": "Thôn Phúc Đình",
        },
    )
    assert status == 201, producer
    status, product = post(
        "/products",
        {
            "producer_id": producer["id"],
            "name": "Bưởi Phúc Trạch",
            "short_name": "Bưởi Phúc Trạch",
            "group_code": "1.1",
            "subgroup_code": "1.1.1",
            "gtin": "8936041200012",
            "standards": ["TCCS 01:2020/HTXPT"],
            "raw_material_communes": ["18418"],
        },
    )
    assert status == 201, product
    status, cert = post(
        "/certificates",
        {
            "product_id": product["id"],
            "stars": 4,
            "score": 80,
            "criteria_version": "148/QĐ-TTg",
            "authority_name": "UBND tỉnh Hà Tĩnh",
            "authority_level": "province",
            "decision_number": "2154/QĐ-UBND",
            "signed_on": "2025-08-20",
        },
    )
    assert status == 201 and cert["status"] == "valid" and cert["valid_until"] == "2028-08-20", cert
    status, lot = post(
        "/lots",
        {
            "product_id": product["id"],
            "lot_code": "PT-2025-01",
            "production_date": "2025-09-20",
            "expiry_date": "2025-11-20",
            "quantity": 2000,
            "unit": "quả",
        },
    )
    assert status == 201, lot
    for kind in ("sourcing", "processing", "testing", "packing", "dispatch"):
        status, event = post(f"/lots/{lot['id']}/events", event_payload(event_type=kind))
        assert status == 201, event

    # the producer gets an account through the API and works on its own products only
    status, account = post(
        "/accounts", {"name": "htx-phuc-trach", "role": "producer", "producer_id": producer["id"]}
    )
    assert status == 201, account
    mine = {"Authorization": f"Bearer {account['token']['token']}"}
    status, own_lot = post(
        "/lots",
        {
            "product_id": product["id"],
            "lot_code": "PT-2025-02",
            "production_date": "2025-10-05",
            "quantity": 800,
            "input_lots": [{"lot_id": lot["id"]}],
        },
        mine,
    )
    assert status == 201, own_lot
    status, event = post(f"/lots/{own_lot['id']}/events", event_payload(event_type="packing"), mine)
    assert status == 201 and event["seq"] == 1

    # another producer's product and lot, made by the admin, stay out of reach
    _, other = post(
        "/producers",
        {
            "name": "Công ty Kẹo cu đơ",
            "legal_type": "enterprise",
            "registration_number": "3001999002",
            "commune_code": "18073",
        },
    )
    _, other_product = post(
        "/products",
        {"producer_id": other["id"], "name": "Kẹo cu đơ", "short_name": "Kẹo cu đơ", "group_code": "1.3"},
    )
    _, other_lot = post(
        "/lots",
        {
            "product_id": other_product["id"],
            "lot_code": "KCD-1",
            "production_date": "2025-10-01",
            "quantity": 100,
        },
    )
    assert (
        post(
            "/lots",
            {
                "product_id": other_product["id"],
                "lot_code": "X1",
                "production_date": "2025-10-01",
                "quantity": 1,
            },
            mine,
        )[0]
        == 404
    )
    assert post(f"/lots/{other_lot['id']}/events", event_payload(), mine)[0] == 404
    assert client.get(f"/api/v1/lots/{other_lot['id']}", headers=mine).status_code == 404
    fields = (
        "product_id",
        "stars",
        "score",
        "criteria_version",
        "authority_name",
        "authority_level",
        "decision_number",
        "signed_on",
    )
    assert post("/certificates", {k: cert[k] for k in fields}, mine)[0] == 403  # only the office certifies

    # the inspector reads everything and writes nothing
    assert client.get(f"/api/v1/lots/{other_lot['id']}", headers=inspector.headers).status_code == 200
    assert (
        post(
            "/lots",
            {
                "product_id": product["id"],
                "lot_code": "INS-1",
                "production_date": "2025-10-01",
                "quantity": 1,
            },
            inspector.headers,
        )[0]
        == 403
    )
    assert post(f"/lots/{lot['id']}/events", event_payload(), inspector.headers)[0] == 403

    detail = client.get(f"/api/v1/lots/{lot['id']}", headers=mine).get_json()
    assert [e["seq"] for e in detail["events"]] == [1, 2, 3, 4, 5]
    assert verify_chain(session).ok


def test_hostile_ids_and_text_are_4xx_never_500(client, session, admin):
    """Regression: ids beyond 32 bits and NUL characters used to reach PostgreSQL and give 500."""
    from tests.factories import lot_payload, make_producer, make_product, product_payload

    big = 10**20
    for path in (
        f"/api/v1/lots/{big}",
        f"/api/v1/products/{big}",
        f"/api/v1/certificates/{big}",
        f"/api/v1/producers/{big}",
        f"/media/products/{big}",
        f"/api/v1/accounts/{big}/tokens",
    ):
        assert client.get(path, headers=admin.headers).status_code == 404, path
    for path in (
        f"/api/v1/lots?product_id={big}",
        f"/api/v1/products?producer_id={big}",
        "/api/v1/products?q=%00",
    ):
        assert client.get(path, headers=admin.headers).status_code == 422, path
    assert client.delete(f"/api/v1/tokens/{big}", headers=admin.headers).status_code == 404
    assert client.post("/api/v1/lots", json=lot_payload(big), headers=admin.headers).status_code == 404
    r = client.post(f"/api/v1/lots/{big}/events", json=event_payload(), headers=admin.headers)
    assert r.status_code == 404
    product = make_product(session, make_producer(session).id)
    bad_inputs = lot_payload(product.id, input_lots=[{"lot_id": big}])
    assert client.post("/api/v1/lots", json=bad_inputs, headers=admin.headers).status_code == 422
    nul = client.post(
        "/api/v1/products",
        json=product_payload(product.producer_id, name="Bưởi\u0000"),
        headers=admin.headers,
    )
    assert (nul.status_code, nul.get_json()["type"]) == (422, "/problems/validation-failed")
    nested = lot_payload(product.id, input_lots=[{"supplier": "HTX\u0000", "lot_code": "A"}])
    assert client.post("/api/v1/lots", json=nested, headers=admin.headers).status_code == 422
    from tests.factories import producer_payload

    r = client.post("/api/v1/producers", json=producer_payload(name="HTX\u0000"), headers=admin.headers)
    assert r.status_code == 422
