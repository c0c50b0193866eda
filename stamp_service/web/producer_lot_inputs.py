"""The raw-material rows of the producer's lot form (Circular 02/2024: what, supplier, area, date).

Works without script: the form carries ``input_rows`` rows (two at first) and "Add another raw
material" re-renders it with one more, everything typed kept. Each row's area is a commune picked
from the reference list of the province chosen in that row (the producer's own at first), never a
typed code; after changing a row's province, "Show the communes" (or "Add another") re-renders its
list, and a commune that is not in the chosen province is refused next to the field. Blank rows
are ignored. Rows become ``LotIn.input_lots`` supplier inputs; the service checks them again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from pydantic import ValidationError
from sqlalchemy.orm import Session

from stamp_service.domain.i18n import N_
from stamp_service.schemas.lots import SupplierInputLot
from stamp_service.services import reference
from stamp_service.web.producer_common import as_day

DEFAULT_ROWS = 2
MAX_ROWS = 10
TEXT_FIELDS = ("description", "supplier", "commune_code", "received_on", "lot_code")
MESSAGES = {
    "description": N_("At most 500 characters."),
    "supplier": N_("Enter who supplied it (2 to 300 characters)."),
    "commune_code": N_("Choose the commune from the list of the province chosen above."),
    "received_on": N_("Enter the day it was bought or harvested (not after the production date)."),
    "lot_code": N_("At most 64 characters."),
}


@dataclass(frozen=True)
class InputRow:
    """One row as the form shows it: its number, what was typed, the communes to pick from."""

    index: int
    values: dict[str, str]
    province_name: str
    communes: list[tuple[str, str]]


def key(index: int, field: str) -> str:
    return f"input-{index}-{field}"


def row_count(form: dict[str, str], *, add: bool = False) -> int:
    raw = (form.get("input_rows") or "").strip()
    count = int(raw) if raw.isdigit() and len(raw) < 3 else DEFAULT_ROWS
    return max(1, min(MAX_ROWS, count + (1 if add else 0)))


def rows(
    session: Session,
    form: dict[str, str],
    count: int,
    default_province: str,
    provinces: list[tuple[str, str]],
) -> list[InputRow]:
    names = dict(provinces)
    out = []
    for i in range(count):
        values = {f: form.get(key(i, f), "") for f in (*TEXT_FIELDS, "province")}
        if values["province"] not in names:
            values["province"] = default_province
        out.append(
            InputRow(
                i,
                values,
                names.get(values["province"], ""),
                reference.current_communes(session, values["province"]),
            )
        )
    return out


Parsed = tuple[list[SupplierInputLot], list[int], dict[str, str]]


def parse(session: Session, form: dict[str, str], count: int, production: date | None) -> Parsed:
    """The filled rows as supplier inputs, the form row of each, and errors keyed by field name.

    The service checks the same rules (commune, date not after ``production``); checking them here
    too lets the page name every wrong field at once."""
    inputs: list[SupplierInputLot] = []
    origin: list[int] = []
    errors: dict[str, str] = {}
    for i in range(count):
        values = {f: form.get(key(i, f), "").strip() for f in TEXT_FIELDS}
        if not any(values.values()):
            continue
        day = as_day(values["received_on"])
        if (values["received_on"] and day is None) or (day and production and day > production):
            errors[key(i, "received_on")] = MESSAGES["received_on"]
        commune = values["commune_code"]
        province = form.get(key(i, "province"), "")
        if commune and commune not in dict(reference.current_communes(session, province)):
            errors[key(i, "commune_code")] = MESSAGES["commune_code"]
        item = {
            "supplier": values["supplier"],
            "description": values["description"] or None,
            "commune_code": commune or None,
            "received_on": day,
            "lot_code": values["lot_code"] or None,
        }
        try:
            checked = SupplierInputLot.model_validate(item)
        except ValidationError as exc:
            for error in exc.errors():
                field = str(error["loc"][0]) if error["loc"] else "supplier"
                errors.setdefault(key(i, field), MESSAGES.get(field, MESSAGES["supplier"]))
            continue
        inputs.append(checked)
        origin.append(i)
    return inputs, origin, errors


def service_errors(errors: dict[str, str], origin: list[int]) -> dict[str, str]:
    """The service's ``input_lots.<k>.<field>`` errors as the form's fields (row ``origin[k]``)."""
    out = {}
    for field, _message in errors.items():
        parts = field.split(".")
        if len(parts) == 3 and parts[1].isdigit() and int(parts[1]) < len(origin):
            name = parts[2] if parts[2] in MESSAGES else "supplier"
            out[key(origin[int(parts[1])], name)] = MESSAGES[name]
    return out
