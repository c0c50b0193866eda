"""Demo data for the embedded default: a few Hà Tĩnh OCOP products, and demo accounts.

Idempotent: run on every ``make run``; it loads data once (a demo producer that
exists by name is left alone) and issues fresh demo tokens each start (the
previous demo tokens are revoked). Everything goes through the services, so
the demo history is in the audit log like any other.

Certificates carry fixed, real-looking decisions whose authority level fits
the rules on their signing date; lot and event dates are relative to the day
the demo is loaded so the lots look current.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from stamp_service.demo_thanh_hoa import prepare_thanh_hoa
from stamp_service.domain.access import SYSTEM, Role
from stamp_service.domain.certification import VN_TZ, local_today
from stamp_service.domain.gs1 import gtin_check_digit
from stamp_service.runtime import Runtime
from stamp_service.schemas.certificates import CertificateIn
from stamp_service.schemas.lots import LotIn, TraceEventIn
from stamp_service.schemas.products import ProductIn
from stamp_service.schemas.registry import ProducerIn
from stamp_service.services import accounts, certificates, lots, products, reference, registry
from stamp_service.storage.models.accounts import Account, ApiToken
from stamp_service.storage.models.reference import ProductGroup
from stamp_service.storage.models.registry import Lot, Producer, Product

DEMO_TOKEN_LABEL = "demo"
DEMO_PRODUCER_ACCOUNT = "demo-producer"

# One chain per producer: producer -> product -> certificate -> lot -> events (day offsets before today).
DEMO_CHAINS: tuple[dict[str, Any], ...] = (
    {
        "producer": {
            "name": "Hợp tác xã Nông nghiệp Bưởi Phúc Trạch",
            "legal_type": "cooperative",
            "registration_number": "3001-HTX-0418",
            "representative": "Phan Văn Hùng",
            "commune_code": "18418",
            "street": "Thôn Phúc Đình",
            "phone": "0239 3875 118",
            "gs1_company_prefix": "8936041",
        },
        "product": {
            "name": "Bưởi Phúc Trạch",
            "short_name": "Bưởi Phúc Trạch",
            "group_code": "1.1",
            "subgroup_code": "1.1.1",
            "gtin": "893604120001",
            "brand": "Bưởi Phúc Trạch",
            "standards": ["TCCS 01:2020/HTXPT", "VietGAP"],
            "self_declaration_ref": "01/2024/HTXPT",
            "raw_material_communes": ["18418"],
            "description": "Bưởi Phúc Trạch trồng theo VietGAP, múi mọng, vị ngọt thanh.",
        },
        "certificate": {
            "stars": 4,
            "score": 78,
            "criteria_version": "148/QĐ-TTg",
            "authority_name": "UBND tỉnh Hà Tĩnh",
            "authority_level": "province",
            "decision_number": "2154/QĐ-UBND",
            "signed_on": "2025-08-20",
        },
        "lot": {
            "lot_code": "PT-DEMO-01",
            "quantity": 2000,
            "unit": "quả",
            "place": "Vườn HTX, thôn Phúc Đình",
            "made": 12,
            "shelf_days": 60,
            "inputs": [],
        },
        "events": [
            (
                16,
                "sourcing",
                "Vườn bưởi thôn Phúc Đình",
                "Tổ thu hái số 1",
                "Thu hái 2.100 quả",
                "nhat-ky-thu-hai.pdf",
            ),
            (
                14,
                "processing",
                "Nhà sơ chế HTX",
                "Tổ sơ chế",
                "Làm sạch, phân loại",
                "bien-ban-phan-loai.pdf",
            ),
            (
                13,
                "testing",
                "Trung tâm Kiểm nghiệm Hà Tĩnh",
                "Trung tâm Kiểm nghiệm",
                "Dư lượng thuốc BVTV đạt",
                "phieu-ket-qua-thu-nghiem.pdf",
            ),
            (
                12,
                "packing",
                "Nhà sơ chế HTX",
                "Tổ đóng gói",
                "Đóng hộp 2 quả, dán nhãn",
                "bien-ban-dong-goi.pdf",
            ),
            (10, "dispatch", "Cửa hàng OCOP Hà Tĩnh", "HTX Phúc Trạch", "Xuất 800 quả", "phieu-xuat-kho.pdf"),
        ],
    },
    {
        "producer": {
            "name": "Công ty TNHH Kẹo cu đơ Thành Sen",
            "legal_type": "enterprise",
            "registration_number": "3001-DN-0073",
            "representative": "Nguyễn Thị Lan",
            "commune_code": "18073",
            "street": "Số 12 đường Hà Huy Tập",
            "phone": "0239 3856 072",
        },
        "product": {
            "name": "Kẹo cu đơ Hà Tĩnh",
            "short_name": "Kẹo cu đơ Thành Sen",
            "group_code": "1.3",
            "subgroup_code": "1.3.7",
            "brand": "Cu đơ Thành Sen",
            "standards": ["TCCS 02:2022/KCĐ"],
            "self_declaration_ref": "05/2023/KCĐTS",
            "raw_material_communes": ["18001", "18073"],
            "description": "Kẹo lạc mật mía gừng kẹp bánh tráng vừng.",
        },
        "certificate": {
            "stars": 4,
            "score": 82,
            "criteria_version": "148/QĐ-TTg",
            "authority_name": "UBND tỉnh Hà Tĩnh",
            "authority_level": "province",
            "decision_number": "2720/QĐ-UBND",
            "signed_on": "2025-10-02",
        },
        "lot": {
            "lot_code": "KCD-DEMO-01",
            "quantity": 5000,
            "unit": "gói",
            "place": "Xưởng Thành Sen",
            "made": 8,
            "shelf_days": 180,
            "inputs": [
                {"supplier": "HTX Lạc Can Lộc", "lot_code": "LAC-2025-09", "description": "Lạc nhân"},
                {"supplier": "Cơ sở mật mía Hương Khê", "lot_code": "MM-11", "description": "Mật mía"},
            ],
        },
        "events": [
            (
                11,
                "sourcing",
                "Xưởng Thành Sen",
                "Thủ kho",
                "Nhận lạc, mật mía, gừng",
                "phieu-nhap-nguyen-lieu.pdf",
            ),
            (
                9,
                "processing",
                "Xưởng Thành Sen",
                "Tổ nấu kẹo",
                "Nấu mật, trộn lạc, cán bánh tráng",
                "so-nau-keo.pdf",
            ),
            (9, "testing", "Phòng kiểm tra chất lượng", "KCS", "Độ ẩm, cảm quan đạt", "phieu-kcs.pdf"),
            (8, "packing", "Xưởng Thành Sen", "Tổ đóng gói", "Gói 250 g", "bien-ban-dong-goi.pdf"),
        ],
    },
    {
        "producer": {
            "name": "Hộ kinh doanh Nước mắm Thiên Cầm Lê Văn Bình",
            "legal_type": "household",
            "registration_number": "28A8012345",
            "representative": "Lê Văn Bình",
            "commune_code": "18610",
            "street": "Thôn Tân Phú",
            "legacy_district": "huyện Cẩm Xuyên",
            "phone": "0912 345 610",
        },
        "product": {
            "name": "Nước mắm cá cơm Thiên Cầm",
            "short_name": "Nước mắm Thiên Cầm",
            "group_code": "1.4",
            "subgroup_code": "1.4.1",
            "brand": "Thiên Cầm",
            "standards": ["TCVN 5107:2018"],
            "raw_material_communes": ["18610"],
            "description": "Nước mắm truyền thống ủ chượp cá cơm 12 tháng.",
        },
        # 148/QĐ-TTg era: the district certified 3 stars.
        "certificate": {
            "stars": 3,
            "score": 63,
            "criteria_version": "148/QĐ-TTg",
            "authority_name": "UBND huyện Cẩm Xuyên",
            "authority_level": "district",
            "decision_number": "1021/QĐ-UBND",
            "signed_on": "2024-03-12",
        },
        "lot": {
            "lot_code": "NM-DEMO-01",
            "quantity": 3000,
            "unit": "chai 500 ml",
            "place": "Cơ sở Tân Phú",
            "made": 20,
            "shelf_days": 730,
            "inputs": [],
        },
        "events": [
            (
                380,
                "sourcing",
                "Cảng cá Cửa Nhượng",
                "Tàu HT-90123-TS",
                "Cá cơm tươi 4 tấn",
                "phieu-mua-ca.pdf",
            ),
            (379, "processing", "Cơ sở Tân Phú", "Lê Văn Bình", "Ủ chượp chum gỗ", "nhat-ky-u-chuop.pdf"),
            (
                25,
                "testing",
                "Trung tâm Kiểm nghiệm Hà Tĩnh",
                "Trung tâm Kiểm nghiệm",
                "Đạm tổng 30 g/l, histamin đạt",
                "phieu-ket-qua-thu-nghiem.pdf",
            ),
            (20, "packing", "Cơ sở Tân Phú", "Tổ đóng chai", "Đóng chai 500 ml", "bien-ban-dong-chai.pdf"),
            (15, "dispatch", "Siêu thị Hà Tĩnh", "Lê Văn Bình", "Xuất 600 chai", "phieu-xuat-kho.pdf"),
        ],
    },
    {
        "producer": {
            "name": "Tổ hợp tác Cam bù Hương Sơn",
            "legal_type": "cooperative_group",
            "representative": "Trần Văn Sơn",
            "commune_code": "18352",
            "street": "Thôn Trung Lưu",
            "phone": "0988 118 352",
        },
        "product": {
            "name": "Cam bù Hương Sơn",
            "short_name": "Cam bù Hương Sơn",
            "group_code": "1.1",
            "subgroup_code": "1.1.1",
            "brand": "Cam bù Hương Sơn",
            "standards": ["VietGAP"],
            "raw_material_communes": ["18352"],
            "description": "Cam bù vỏ sần, ruột vàng, chín vào dịp Tết.",
        },
        "certificate": {
            "stars": 3,
            "score": 58,
            "criteria_version": "148/QĐ-TTg",
            "authority_name": "UBND tỉnh Hà Tĩnh",
            "authority_level": "province",
            "decision_number": "3105/QĐ-UBND",
            "signed_on": "2025-12-05",
        },
        "lot": {
            "lot_code": "CB-DEMO-01",
            "quantity": 1500,
            "unit": "kg",
            "place": "Đồi cam thôn Trung Lưu",
            "made": 5,
            "shelf_days": 45,
            "inputs": [],
        },
        "events": [
            (
                7,
                "sourcing",
                "Đồi cam thôn Trung Lưu",
                "Tổ hợp tác",
                "Thu hái 1.600 kg",
                "nhat-ky-thu-hai.pdf",
            ),
            (
                6,
                "processing",
                "Nhà sơ chế thôn Trung Lưu",
                "Tổ hợp tác",
                "Phân loại, lau sạch",
                "bien-ban-phan-loai.pdf",
            ),
            (5, "packing", "Nhà sơ chế thôn Trung Lưu", "Tổ hợp tác", "Thùng 10 kg", "bien-ban-dong-goi.pdf"),
            (3, "dispatch", "Chợ Hà Tĩnh", "Trần Văn Sơn", "Xuất 400 kg", "phieu-xuat-kho.pdf"),
        ],
    },
)


def prepare(runtime: Runtime) -> Iterator[str]:
    with runtime.session_factory() as session:
        if session.scalar(select(ProductGroup.code).limit(1)) is None:
            reference.load_builtin(session, SYSTEM)
            yield "reference data loaded"
        created = load_demo_registry(session)
        if created:
            yield f"demo registry loaded: {created} Hà Tĩnh producers with products, certificates and lots"
        yield from prepare_thanh_hoa(session)
        yield from _demo_accounts(session)


def load_demo_registry(session: Session, today: date | None = None) -> int:
    """Create the demo chains that do not exist yet; returns how many were created."""
    today = today or local_today()
    created = 0
    for chain in DEMO_CHAINS:
        if session.scalar(select(Producer.id).where(Producer.name == chain["producer"]["name"])) is not None:
            continue
        _load_chain(session, chain, today)
        created += 1
    return created


def demo_lot_ids(session: Session) -> list[int]:
    """The demo lots, in demo order (issuance adds demo stamps to them)."""
    ids = []
    for chain in DEMO_CHAINS:
        lot_id = session.scalar(
            select(Lot.id)
            .join(Product, Product.id == Lot.product_id)
            .join(Producer, Producer.id == Product.producer_id)
            .where(Producer.name == chain["producer"]["name"], Lot.lot_code == chain["lot"]["lot_code"])
        )
        if lot_id is not None:
            ids.append(lot_id)
    return ids


def demo_producer_id(session: Session) -> int | None:
    """The producer the ``demo-producer`` account acts for."""
    return session.scalar(select(Producer.id).where(Producer.name == DEMO_CHAINS[0]["producer"]["name"]))


def _validated(model: Any, data: dict[str, Any]) -> Any:
    return model.model_validate_json(json.dumps(data, ensure_ascii=False))


def _load_chain(session: Session, chain: dict[str, Any], today: date) -> None:
    producer = registry.create_producer(session, SYSTEM, _validated(ProducerIn, chain["producer"]))
    product_data = dict(chain["product"], producer_id=producer.id)
    if "gtin" in product_data:  # written without its check digit above
        product_data["gtin"] += str(gtin_check_digit(product_data["gtin"]))
    product = products.create_product(session, SYSTEM, _validated(ProductIn, product_data))
    certificates.create_certificate(
        session, SYSTEM, _validated(CertificateIn, dict(chain["certificate"], product_id=product.id))
    )
    spec = chain["lot"]
    made = today - timedelta(days=spec["made"])
    lot = lots.create_lot(
        session,
        SYSTEM,
        _validated(
            LotIn,
            {
                "product_id": product.id,
                "lot_code": spec["lot_code"],
                "production_date": made.isoformat(),
                "expiry_date": (made + timedelta(days=spec["shelf_days"])).isoformat(),
                "quantity": spec["quantity"],
                "unit": spec["unit"],
                "place": spec["place"],
                "input_lots": spec["inputs"],
            },
        ),
    )
    for days_ago, kind, place, actor, note, document in chain["events"]:
        when = datetime.combine(today - timedelta(days=days_ago), time(8, 30), tzinfo=VN_TZ)
        fingerprint = hashlib.sha256(f"{spec['lot_code']}/{document}".encode()).hexdigest()
        lots.add_event(
            session,
            SYSTEM,
            lot.id,
            _validated(
                TraceEventIn,
                {
                    "event_type": kind,
                    "occurred_at": when.astimezone(UTC).isoformat(),
                    "place": place,
                    "actor": actor,
                    "note": note,
                    "documents": [{"name": document, "sha256": fingerprint}],
                },
            ),
        )


def _demo_accounts(session: Session) -> Iterator[str]:
    wanted = [
        ("demo-admin", Role.ADMIN, None),
        (DEMO_PRODUCER_ACCOUNT, Role.PRODUCER, demo_producer_id(session)),
        ("demo-inspector", Role.INSPECTOR, None),
    ]
    yield "demo API tokens (new on each start):"
    for name, role, producer_id in wanted:
        if role is Role.PRODUCER and producer_id is None:
            continue
        account = session.scalar(select(Account).where(Account.name == name))
        if account is None:
            account = accounts.create_account(session, SYSTEM, name=name, role=role, producer_id=producer_id)
        session.execute(
            update(ApiToken)
            .where(
                ApiToken.account_id == account.id,
                ApiToken.label == DEMO_TOKEN_LABEL,
                ApiToken.revoked_at.is_(None),
            )
            .values(revoked_at=datetime.now(UTC))
        )
        issued = accounts.issue_token(session, SYSTEM, account_id=account.id, label=DEMO_TOKEN_LABEL)
        suffix = f"  (producer {producer_id})" if producer_id else ""
        yield f"  {role.value:<10} {issued.token}{suffix}"
