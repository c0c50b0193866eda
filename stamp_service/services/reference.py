"""Reference data: administrative units and product groups, loaded from CSV (idempotent upserts)."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from datetime import date
from pathlib import Path

from sqlalchemy.orm import Session

from stamp_service.domain.access import Principal, Role, require_role
from stamp_service.errors import ValidationFailed
from stamp_service.services import audit
from stamp_service.storage.models.reference import AdministrativeUnit, ProductGroup

REFERENCE_DIR = Path(__file__).resolve().parent.parent / "reference"
UNIT_LEVELS = {"province", "district", "commune", "ward", "special_zone"}
COMMUNE_LEVELS = {"commune", "ward", "special_zone"}


def _date(value: str, line: int, field: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed([{"field": f"line {line}.{field}", "message": "not an ISO date"}]) from None


def _rows(path: Path) -> Iterable[tuple[int, dict[str, str]]]:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        for line, row in enumerate(csv.DictReader(fh), start=2):
            yield line, {k: (v or "").strip() for k, v in row.items() if k}


def load_units(session: Session, actor: Principal, path: Path) -> int:
    """Upsert administrative units from the official-format CSV; all or nothing."""
    require_role(actor, Role.ADMIN)
    count = 0
    errors = []
    for line, row in _rows(path):
        code = row.get("code", "")
        if not code.isdigit() or len(code) > 8:
            errors.append({"field": f"line {line}.code", "message": "must be digits"})
            continue
        if row.get("level") not in UNIT_LEVELS:
            errors.append({"field": f"line {line}.level", "message": f"one of {sorted(UNIT_LEVELS)}"})
            continue
        unit = session.get(AdministrativeUnit, code) or AdministrativeUnit(code=code)
        unit.name = row["name"]
        unit.level = row["level"]
        unit.parent_code = row.get("parent_code") or None
        unit.province_code = row.get("province_code") or code
        unit.valid_from = _date(row.get("valid_from", ""), line, "valid_from")
        unit.valid_to = _date(row.get("valid_to", ""), line, "valid_to")
        unit.successor_codes = [c for c in row.get("successor_codes", "").split(";") if c]
        session.add(unit)
        count += 1
    if errors:
        raise ValidationFailed(errors[:50], detail=f"{len(errors)} bad rows in {path.name}; nothing loaded")
    audit.record(
        session,
        actor,
        action="reference.load_units",
        entity="administrative_units",
        entity_id=path.name,
        after={"rows": count},
    )
    session.commit()
    return count


def load_product_groups(session: Session, actor: Principal, path: Path | None = None) -> int:
    require_role(actor, Role.ADMIN)
    path = path or REFERENCE_DIR / "product_groups.csv"
    count = 0
    for _line, row in _rows(path):
        group = session.get(ProductGroup, row["code"]) or ProductGroup(code=row["code"])
        group.parent_code = row.get("parent_code") or None
        group.level = row["level"]
        group.name_vi = row["name_vi"]
        group.name_en = row["name_en"]
        session.add(group)
        count += 1
    audit.record(
        session,
        actor,
        action="reference.load_product_groups",
        entity="product_groups",
        entity_id=path.name,
        after={"rows": count},
    )
    session.commit()
    return count


def load_builtin(session: Session, actor: Principal) -> None:
    """The product groups and the demo administrative units shipped with the service."""
    load_product_groups(session, actor)
    load_units(session, actor, REFERENCE_DIR / "administrative_units_demo.csv")


def address_snapshot(
    session: Session, commune_code: str, street: str | None, *, legacy_district: str | None = None
) -> dict[str, object]:
    """The address as it reads today, frozen into the record (never recomputed later)."""
    commune = session.get(AdministrativeUnit, commune_code)
    if commune is None or commune.level not in COMMUNE_LEVELS:
        raise ValidationFailed(
            [{"field": "commune_code", "message": "unknown commune, ward or special zone code"}]
        )
    province = session.get(AdministrativeUnit, commune.province_code)
    parts = [p for p in (street, commune.name, legacy_district, province.name if province else None) if p]
    return {
        "street": street,
        "commune_code": commune.code,
        "commune_name": commune.name,
        "legacy_district": legacy_district,
        "province_code": commune.province_code,
        "province_name": province.name if province else None,
        "recorded_on": date.today().isoformat(),
        "text": ", ".join(parts),
    }
