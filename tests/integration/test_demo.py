"""The demo data: loads through the services, is idempotent, and its lots can be found."""

from __future__ import annotations

from types import SimpleNamespace

from stamp_service import demo
from stamp_service.domain.access import Role
from stamp_service.domain.certification import check_authority_level
from stamp_service.services.audit import verify_chain
from stamp_service.storage.models.accounts import Account
from stamp_service.storage.models.registry import Certificate, Lot, Producer, TraceEvent


def test_prepare_twice_loads_once_and_prints_three_tokens(session_factory, session):
    runtime = SimpleNamespace(session_factory=session_factory)
    first = list(demo.prepare(runtime))  # type: ignore[arg-type]
    assert any("demo registry loaded: 4" in line for line in first)
    tokens = [line.split()[1] for line in first if line.startswith("  ")]
    assert [line.split()[0] for line in first if line.startswith("  ")] == ["admin", "producer", "inspector"]
    second = list(demo.prepare(runtime))  # type: ignore[arg-type]
    assert not any("registry loaded" in line for line in second)
    assert (
        session.query(Producer)
        .filter(Producer.name.in_([c["producer"]["name"] for c in demo.DEMO_CHAINS]))
        .count()
        == 4
    )

    lot_ids = demo.demo_lot_ids(session)
    assert len(lot_ids) == 4
    for lot_id in lot_ids:
        lot = session.get(Lot, lot_id)
        events = session.query(TraceEvent).filter_by(lot_id=lot_id).order_by(TraceEvent.seq).all()
        assert 4 <= len(events) <= 5
        assert all(len(d["sha256"]) == 64 for e in events for d in e.documents)
        cert = session.query(Certificate).filter_by(product_id=lot.product_id, state="active").one()
        check_authority_level(cert.signed_on, cert.stars, cert.authority_level)
    account = session.query(Account).filter_by(name=demo.DEMO_PRODUCER_ACCOUNT).one()
    assert account.role == Role.PRODUCER.value and account.producer_id == demo.demo_producer_id(session)
    assert verify_chain(session).ok
    assert len(set(tokens)) == 3


def test_demo_tokens_work_through_the_api(client, session_factory):
    lines = list(demo.prepare(SimpleNamespace(session_factory=session_factory)))  # type: ignore[arg-type]
    token = {line.split()[0]: line.split()[1] for line in lines if line.startswith("  ")}
    headers = {"Authorization": f"Bearer {token['producer']}"}
    products = client.get("/api/v1/products?certificate_state=valid", headers=headers).get_json()
    assert products["total"] == 1 and products["items"][0]["current_certificate"]["stars"] == 4
    admin = {"Authorization": f"Bearer {token['admin']}"}
    assert (
        client.get("/api/v1/products?certificate_state=valid&province=42", headers=admin).get_json()["total"]
        >= 4
    )
