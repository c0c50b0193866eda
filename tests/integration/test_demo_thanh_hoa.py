"""The Thanh Hóa demo data: loaded once through the services, in province 38, scoped to its office."""

from __future__ import annotations

from stamp_service import demo, demo_thanh_hoa
from stamp_service.domain.access import Principal, Role
from stamp_service.domain.certification import CertificateStatus
from stamp_service.schemas.registry import ProducerQuery
from stamp_service.services import registry
from stamp_service.services.certificates import current_certificate, status_of
from stamp_service.storage.models.registry import Lot, Producer, Product, TraceEvent


def test_thanh_hoa_demo_loads_once_in_its_province(session):
    lines = list(demo_thanh_hoa.prepare_thanh_hoa(session))
    assert lines == ["demo registry loaded: 3 Thanh Hóa producers with products, certificates and lots"]
    assert list(demo_thanh_hoa.prepare_thanh_hoa(session)) == []  # idempotent
    names = [c["producer"]["name"] for c in demo_thanh_hoa.THANH_HOA_CHAINS]
    producers = session.query(Producer).filter(Producer.name.in_(names)).all()
    assert len(producers) == 3 and {p.province_code for p in producers} == {"38"}
    for producer in producers:
        product = session.query(Product).filter_by(producer_id=producer.id).one()
        cert = current_certificate(session, product.id)
        assert cert is not None and status_of(cert) is CertificateStatus.VALID
        lot = session.query(Lot).filter_by(product_id=product.id).one()
        assert session.query(TraceEvent).filter_by(lot_id=lot.id).count() == 3
    products = {p.name for p in session.query(Product).join(Producer).filter(Producer.province_code == "38")}
    assert {"Nem chua Thanh Hóa", "Mắm tép Hà Yên", "Chè lam Phủ Quảng"} <= products


def test_each_provinces_office_sees_its_own_demo(session):
    demo.load_demo_registry(session)
    demo_thanh_hoa.load_thanh_hoa(session)

    def names(province: str) -> set[str]:
        office = Principal(account_id=None, name="office", role=Role.ADMIN, province_code=province)
        page = registry.list_producers(session, office, ProducerQuery(per_page=100))
        return {p.name for p in page.items}

    assert "Hợp tác xã Chế biến Mắm tép Hà Yên" in names("38")
    assert "Hợp tác xã Chế biến Mắm tép Hà Yên" not in names("42")
    assert "Hợp tác xã Nông nghiệp Bưởi Phúc Trạch" in names("42")
    assert "Hợp tác xã Nông nghiệp Bưởi Phúc Trạch" not in names("38")
