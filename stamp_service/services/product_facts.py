"""The public product facts a verification page shows: product, producer, lot and certificate.

Every Circular 02/2024 item for one product and lot, as plain JSON-able data (so the page, the
JSON API and any cache hold the same shape). Loaded from the database once per product, lot,
language and status generation per process (services.generation_cache, via
services.verification); nothing here is on the path of a repeat page view.
"""

from __future__ import annotations

import time
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from stamp_service.services import reference, trace_documents
from stamp_service.services.minting import current_certificate
from stamp_service.storage.models.reference import AdministrativeUnit, ProductGroup
from stamp_service.storage.models.registry import (
    Certificate,
    Lot,
    Producer,
    Product,
    ProductImage,
    TraceEvent,
)


def _day(d: date | None) -> str | None:
    return d.isoformat() if d else None


def product_facts(session: Session, product_id: int, lot_id: int, lang: str) -> dict[str, Any]:
    """Every Circular 02/2024 item for one product and lot, as plain JSON-able data."""
    product = session.get(Product, product_id)
    lot = session.get(Lot, lot_id)
    if product is None or lot is None:  # the stamp's foreign keys make this impossible
        raise LookupError("stamp without product or lot")
    producer = session.get(Producer, product.producer_id)
    assert producer is not None
    groups = {
        g.code: (g.name_en if lang == "en" else g.name_vi)
        for g in session.scalars(
            select(ProductGroup).where(
                ProductGroup.code.in_([product.group_code, product.subgroup_code or ""])
            )
        )
    }
    image = session.scalar(select(ProductImage.sha256).where(ProductImage.product_id == product.id))
    snap = producer.address_snapshot or {}
    events = list(
        session.scalars(
            select(TraceEvent)
            .where(TraceEvent.lot_id == lot.id)
            .order_by(TraceEvent.occurred_at, TraceEvent.seq)
        )
    )
    stored = trace_documents.stored_fingerprints(
        session, {str(d.get("sha256")) for e in events for d in e.documents or [] if d.get("sha256")}
    )
    cert = current_certificate(session, product.id)
    areas = reference.area_names(session, [*(product.raw_material_communes or []), *_input_communes(lot)])
    return {
        "product": {
            "id": product.id,
            "name": product.name,
            "group": groups.get(product.subgroup_code or "") or groups.get(product.group_code),
            "brand": product.brand,
            "gtin": product.gtin,
            "standards": list(product.standards or []),
            "self_declaration": product.self_declaration_ref,
            "image": f"/media/products/{product.id}?v={image[:12]}" if image else None,
            "group_code": product.subgroup_code or product.group_code,
            "raw_material_area": _raw_material_area(product, lot, areas),
        },
        "producer": {
            "name": producer.name,
            "legal_type": producer.legal_type,
            "registration_number": producer.registration_number,
            "phone": producer.phone,
            "address": snap.get("text"),
            "commune": snap.get("commune_name"),
            "province": snap.get("province_name"),
        },
        "lot": {
            "code": lot.lot_code,
            "production_date": _day(lot.production_date),
            "expiry_date": _day(lot.expiry_date),
            "quantity": lot.quantity,
            "unit": lot.unit,
            "place": lot.place,
            "inputs": _inputs(session, lot, areas),
            "events": [
                {
                    "seq": e.seq,
                    "type": e.event_type,
                    "at": e.occurred_at.isoformat(),
                    "place": e.place,
                    "actor": e.actor,
                    "note": e.note,
                    "corrects": e.corrects_seq,
                    "documents": [
                        {
                            "name": d.get("name"),
                            "fingerprint": str(d.get("sha256", ""))[:12],
                            "sha256": d.get("sha256"),
                            # The stored file itself, when the producer uploaded it (docs/producers.md).
                            "url": f"/documents/{d.get('sha256')}" if d.get("sha256") in stored else None,
                        }
                        for d in e.documents or []
                    ],
                }
                for e in events
            ],
        },
        "certificate": _certificate(session, cert),
    }


def _input_communes(lot: Lot) -> list[str]:
    return [str(i["commune_code"]) for i in lot.input_lots or [] if i.get("commune_code")]


def _raw_material_area(product: Product, lot: Lot, names: dict[str, str]) -> list[str]:
    """Where the raw materials come from, as "commune, province" (Circular 02/2024): the product's
    registered communes, then those the producer gave for this lot's raw-material inputs.
    ``names``: ``reference.area_names`` of both, looked up once for the whole facts."""
    codes = [*(product.raw_material_communes or []), *_input_communes(lot)]
    return list(dict.fromkeys(names[code] for code in codes if code in names))


def _inputs(session: Session, lot: Lot, areas: dict[str, str]) -> list[dict[str, Any]]:
    out = []
    for item in lot.input_lots or []:
        if "lot_id" in item:
            product = session.get(Product, item.get("product_id") or 0)
            out.append(
                {
                    "lot_code": item.get("lot_code"),
                    "product": product.name if product else None,
                    "supplier": None,
                    "area": None,
                    "date": None,
                }
            )
        else:
            out.append(
                {
                    "lot_code": item.get("lot_code"),
                    "product": item.get("description"),
                    "supplier": item.get("supplier"),
                    "area": areas.get(str(item.get("commune_code"))),
                    "date": item.get("received_on"),
                }
            )
    return out


def _certificate(session: Session, cert: Certificate | None) -> dict[str, Any] | None:
    if cert is None:
        return None
    previous = session.get(Certificate, cert.supersedes_id) if cert.supersedes_id else None
    return {
        "stars": cert.stars,
        "decision_number": cert.decision_number,
        "authority": cert.authority_name,
        "signed_on": _day(cert.signed_on),
        "valid_until": _day(cert.valid_until),
        "state": cert.state,
        "stars_changed_on": _day(cert.signed_on) if previous and previous.stars != cert.stars else None,
        "previous_stars": previous.stars if previous else None,
    }


PROVINCES_TTL = 3600.0


def provinces(session: Session, memo: dict[str, Any]) -> list[tuple[str, str]]:
    """(code, name) of the current provinces, for the optional "share your province" field.

    Kept in process for an hour: provinces change by decree, not between two scans.
    """
    cached = memo.get("provinces")
    if cached is not None and time.monotonic() - cached[0] < PROVINCES_TTL:
        return cached[1]  # type: ignore[no-any-return]
    rows = session.execute(
        select(AdministrativeUnit.code, AdministrativeUnit.name)
        .where(AdministrativeUnit.level == "province", AdministrativeUnit.valid_to.is_(None))
        .order_by(AdministrativeUnit.name)
    ).all()
    out = [(code, name) for code, name in rows]
    memo["provinces"] = (time.monotonic(), out)
    return out
