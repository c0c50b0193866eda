"""Reference data: administrative units and product groups, loaded from CSV (idempotent upserts)."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Mapping
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from stamp_service.domain.access import SYSTEM, Principal, Role, require_role
from stamp_service.errors import ValidationFailed
from stamp_service.services import audit
from stamp_service.storage.models.reference import AdministrativeUnit, ProductGroup

if TYPE_CHECKING:  # pragma: no cover
    from stamp_service.runtime import Runtime

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


def _upsert(session: Session, row: object, values: Mapping[str, object]) -> int:
    """Set ``values`` on ``row`` (new or stored); 1 if anything changed, else 0 (nothing written)."""
    if all(getattr(row, name, None) == value for name, value in values.items()):
        return 0
    for name, value in values.items():
        setattr(row, name, value)
    session.add(row)
    return 1


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
        values = {
            "name": row["name"],
            "level": row["level"],
            "parent_code": row.get("parent_code") or None,
            "province_code": row.get("province_code") or code,
            "valid_from": _date(row.get("valid_from", ""), line, "valid_from"),
            "valid_to": _date(row.get("valid_to", ""), line, "valid_to"),
            "successor_codes": [c for c in row.get("successor_codes", "").split(";") if c],
        }
        count += _upsert(session, unit, values)
    if errors:
        raise ValidationFailed(errors[:50], detail=f"{len(errors)} bad rows in {path.name}; nothing loaded")
    if not count:
        session.rollback()  # nothing new: no write, no audit entry (a repeat load is a no-op)
        return 0
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
        values = {
            "parent_code": row.get("parent_code") or None,
            "level": row["level"],
            "name_vi": row["name_vi"],
            "name_en": row["name_en"],
        }
        count += _upsert(session, group, values)
    if not count:
        session.rollback()
        return 0
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


def load_builtin(session: Session, actor: Principal) -> int:
    """The product groups and the administrative units shipped with the service, on every deployment
    (``stamp-service migrate`` and the start of ``serve``). Idempotent: rows already as shipped are
    left alone and a load that changes nothing writes nothing. Returns the rows added or changed."""
    changed = load_product_groups(session, actor)
    return changed + load_units(session, actor, REFERENCE_DIR / "administrative_units_demo.csv")


def prepare(runtime: Runtime) -> Iterator[str]:
    """Start-up step of ``serve``: the built-in reference data (after the migration step)."""
    with runtime.session_factory() as session:
        changed = load_builtin(session, SYSTEM)
    yield f"reference data ready ({changed} rows added or updated)"


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


def current_communes(session: Session, province_code: str) -> list[tuple[str, str]]:
    """(code, name) of the province's current communes, wards and special zones, by name: the
    list a person picks a commune from (public reference data)."""
    rows = session.execute(
        select(AdministrativeUnit.code, AdministrativeUnit.name)
        .where(
            AdministrativeUnit.province_code == province_code,
            AdministrativeUnit.level.in_(COMMUNE_LEVELS),
            AdministrativeUnit.valid_to.is_(None),
        )
        .order_by(AdministrativeUnit.name)
    )
    return [(code, name) for code, name in rows]


def area_names(session: Session, codes: list[str]) -> dict[str, str]:
    """Each known unit code as "commune, province" (a province alone as its name)."""
    if not codes:
        return {}
    units = {
        u.code: u
        for u in session.scalars(select(AdministrativeUnit).where(AdministrativeUnit.code.in_(set(codes))))
    }
    provinces = {
        u.code: u.name
        for u in session.scalars(
            select(AdministrativeUnit).where(
                AdministrativeUnit.code.in_({u.province_code for u in units.values()})
            )
        )
    }
    out = {}
    for code, unit in units.items():
        province = provinces.get(unit.province_code)
        out[code] = f"{unit.name}, {province}" if province and province != unit.name else unit.name
    return out


def current_provinces(session: Session) -> list[tuple[str, str]]:
    """(code, name) of the provinces in force (not those merged away in 2025), by name."""
    rows = session.execute(
        select(AdministrativeUnit.code, AdministrativeUnit.name)
        .where(AdministrativeUnit.level == "province", AdministrativeUnit.valid_to.is_(None))
        .order_by(AdministrativeUnit.name)
    )
    return [(code, name) for code, name in rows]
