"""Demo data of the second province of the programme documents: Thanh Hóa (38).

Three real OCOP product kinds of Thanh Hóa, loaded beside the Hà Tĩnh demo through the same
services (so the province scope of a Thanh Hóa office account has its own records to show):
nem chua of the provincial capital, mắm tép Hà Yên, chè lam Phủ Quảng. Names of the businesses,
registration and decision numbers are illustrative. Idempotent like ``demo``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from stamp_service.domain.certification import local_today
from stamp_service.storage.models.registry import Producer

AUTHORITY = "UBND tỉnh Thanh Hóa"

THANH_HOA_CHAINS: tuple[dict[str, Any], ...] = (
    {
        "producer": {
            "name": "Công ty TNHH Thực phẩm Nem chua Hạc Thành",
            "legal_type": "enterprise",
            "registration_number": "2801-DN-0112",
            "representative": "Lê Thị Thu",
            "commune_code": "14845",
            "street": "Số 45 đường Tống Duy Tân",
            "phone": "0237 3852 112",
        },
        "product": {
            "name": "Nem chua Thanh Hóa",
            "short_name": "Nem chua Hạc Thành",
            "group_code": "1.3",
            "subgroup_code": "1.3.4",
            "brand": "Nem chua Hạc Thành",
            "standards": ["TCCS 01:2023/NCHT"],
            "self_declaration_ref": "03/2023/NCHT",
            "raw_material_communes": ["14845"],
            "description": "Thịt lợn nạc, bì lợn, thính gạo, lá đinh lăng, gói lá chuối; lên men tự nhiên.",
        },
        "certificate": {
            "stars": 4,
            "score": 76,
            "criteria_version": "148/QĐ-TTg",
            "authority_name": AUTHORITY,
            "authority_level": "province",
            "decision_number": "3521/QĐ-UBND",
            "signed_on": "2025-09-10",
        },
        "lot": {
            "lot_code": "NC-DEMO-01",
            "quantity": 10000,
            "unit": "chiếc",
            "place": "Xưởng Hạc Thành",
            "made": 2,
            "shelf_days": 10,
            "inputs": [
                {"supplier": "Lò mổ Đông Hương", "lot_code": "TL-1202", "description": "Thịt lợn nạc"},
            ],
        },
        "events": [
            (3, "sourcing", "Xưởng Hạc Thành", "Thủ kho", "Nhận 600 kg thịt nạc, bì", "phieu-nhap-thit.pdf"),
            (2, "processing", "Xưởng Hạc Thành", "Tổ giã nem", "Giã, trộn thính, gói lá", "so-che-bien.pdf"),
            (2, "packing", "Xưởng Hạc Thành", "Tổ đóng gói", "Túi 10 chiếc", "bien-ban-dong-goi.pdf"),
        ],
    },
    {
        "producer": {
            "name": "Hợp tác xã Chế biến Mắm tép Hà Yên",
            "legal_type": "cooperative",
            "registration_number": "2801-HTX-0215",
            "representative": "Phạm Văn Yên",
            "commune_code": "15112",
            "street": "Thôn Yên Xá",
            "legacy_district": "huyện Hà Trung",
            "phone": "0237 3621 215",
        },
        "product": {
            "name": "Mắm tép Hà Yên",
            "short_name": "Mắm tép Hà Yên",
            "group_code": "1.4",
            "subgroup_code": "1.4.2",
            "brand": "Mắm tép Hà Yên",
            "standards": ["TCCS 02:2022/HTXHY"],
            "raw_material_communes": ["15112"],
            "description": "Tép riu sông Lèn ủ muối, thính gạo và rượu, chưng thịt ba chỉ.",
        },
        # 148/QĐ-TTg era: the province certified 4 stars.
        "certificate": {
            "stars": 4,
            "score": 72,
            "criteria_version": "148/QĐ-TTg",
            "authority_name": AUTHORITY,
            "authority_level": "province",
            "decision_number": "1987/QĐ-UBND",
            "signed_on": "2024-06-18",
        },
        "lot": {
            "lot_code": "MT-DEMO-01",
            "quantity": 4000,
            "unit": "hũ 200 g",
            "place": "Cơ sở chế biến thôn Yên Xá",
            "made": 30,
            "shelf_days": 365,
            "inputs": [],
        },
        "events": [
            (
                120,
                "sourcing",
                "Bến sông Lèn",
                "Tổ khai thác tép",
                "Tép riu tươi 1,2 tấn",
                "phieu-mua-tep.pdf",
            ),
            (
                119,
                "processing",
                "Cơ sở Yên Xá",
                "Tổ ủ mắm",
                "Ủ muối, thính, rượu 90 ngày",
                "nhat-ky-u-mam.pdf",
            ),
            (
                30,
                "packing",
                "Cơ sở Yên Xá",
                "Tổ đóng hũ",
                "Chưng thịt, đóng hũ 200 g",
                "bien-ban-dong-hu.pdf",
            ),
        ],
    },
    {
        "producer": {
            "name": "Hộ kinh doanh Chè lam Phủ Quảng Nguyễn Thị Hoa",
            "legal_type": "household",
            "registration_number": "38A8004521",
            "representative": "Nguyễn Thị Hoa",
            "commune_code": "15169",
            "street": "Làng Phủ Quảng",
            "legacy_district": "huyện Vĩnh Lộc",
            "phone": "0915 204 521",
        },
        "product": {
            "name": "Chè lam Phủ Quảng",
            "short_name": "Chè lam Phủ Quảng",
            "group_code": "1.3",
            "subgroup_code": "1.3.7",
            "brand": "Chè lam Phủ Quảng",
            "standards": ["TCCS 01:2021/CLPQ"],
            "raw_material_communes": ["15169"],
            "description": "Gạo nếp cái hoa vàng rang, mật mía, gừng, lạc; cắt miếng, lăn bột.",
        },
        # 148/QĐ-TTg era: the district certified 3 stars.
        "certificate": {
            "stars": 3,
            "score": 61,
            "criteria_version": "148/QĐ-TTg",
            "authority_name": "UBND huyện Vĩnh Lộc",
            "authority_level": "district",
            "decision_number": "2455/QĐ-UBND",
            "signed_on": "2024-11-05",
        },
        "lot": {
            "lot_code": "CL-DEMO-01",
            "quantity": 2500,
            "unit": "gói 300 g",
            "place": "Làng Phủ Quảng",
            "made": 6,
            "shelf_days": 60,
            "inputs": [
                {"supplier": "HTX Nông nghiệp Vĩnh Yên", "lot_code": "NEP-2025", "description": "Gạo nếp"},
            ],
        },
        "events": [
            (8, "sourcing", "Làng Phủ Quảng", "Nguyễn Thị Hoa", "Nhận nếp, mật mía, gừng", "phieu-nhap.pdf"),
            (
                7,
                "processing",
                "Làng Phủ Quảng",
                "Tổ làm chè lam",
                "Rang nếp, nấu mật, nhào",
                "so-san-xuat.pdf",
            ),
            (6, "packing", "Làng Phủ Quảng", "Tổ đóng gói", "Gói 300 g", "bien-ban-dong-goi.pdf"),
        ],
    },
)


def load_thanh_hoa(session: Session, today: date | None = None) -> int:
    """Create the Thanh Hóa demo chains that do not exist yet; returns how many were created."""
    from stamp_service.demo import _load_chain  # the one demo loader (demo imports this module)

    today = today or local_today()
    created = 0
    for chain in THANH_HOA_CHAINS:
        if session.scalar(select(Producer.id).where(Producer.name == chain["producer"]["name"])) is None:
            _load_chain(session, chain, today)
            created += 1
    return created


def prepare_thanh_hoa(session: Session) -> Iterator[str]:
    """The demo start-up lines for Thanh Hóa (nothing when it was loaded before)."""
    created = load_thanh_hoa(session)
    if created:
        yield f"demo registry loaded: {created} Thanh Hóa producers with products, certificates and lots"
