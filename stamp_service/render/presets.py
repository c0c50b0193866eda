"""What each label-stock preset is, and one label of it as it will print (the preview image).

The producer's request form shows this list with the preview, so that a cooperative picks its
stock by sight instead of guessing names from an error message. Figures come from the layout
itself (code size, text fits), never typed twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from stamp_service.errors import NotFound
from stamp_service.render.image import render_png
from stamp_service.render.layout import LabelTooSmall, plan_label, sample_label
from stamp_service.render.pdf import DEFAULT_PRESET, PRESETS, SheetLayout

#: Why each preset exists (English for the API; docs/print-files.md has the same table).
PURPOSES: dict[str, str] = {
    "a4-3x8-70x37-diecut": "Die-cut A4 sheets of 70 x 37 mm labels, edge to edge (the default); "
    "text and code kept 5 mm from the sheet edge so office printers do not clip them",
    "a4-3x7-63.5x38.1-diecut": "Die-cut A4 sheets of 63.5 x 38.1 mm labels (Avery L7160 layout); "
    "most room: shows the lot and expiry date even with a PIN",
    "a4-4x10-48.5x25.4-diecut": "Die-cut A4 sheets of 48.5 x 25.4 mm labels, 40 per sheet; "
    "small products; no room for the product name, lot or expiry",
    "a4-square-42mm": "Plain A4 paper cut by hand along the crop marks; 42 mm squares for lids and jars",
}
#: Module count of the codes stamps carry (version 7: hosts up to 20 characters).
STAMP_MODULES = 45


@dataclass(frozen=True)
class PresetInfo:
    name: str
    label_width: float
    label_height: float
    columns: int
    rows: int
    per_sheet: int
    die_cut: bool
    crop_marks: bool
    page_clearance: float  # mm from ink to the nearest page edge
    code_mm: float | None  # printed QR symbol side without a PIN; None: the host is too long for it
    code_mm_with_pin: float | None  # None: this stock cannot hold a PIN at 6 pt
    default: bool
    purpose: str


def _code_mm(layout: SheetLayout, host: str, pin: bool) -> float | None:
    try:
        plan = plan_label(
            sample_label(host, pin=pin),
            layout.label_width,
            layout.label_height,
            STAMP_MODULES,
            padding=layout.padding,
        )
    except LabelTooSmall:
        return None
    return round(plan.module * STAMP_MODULES, 1)


def preset_info(name: str, host: str) -> PresetInfo:
    """One preset described for people; raises NotFound for an unknown name."""
    layout = PRESETS.get(name)
    if layout is None:
        raise NotFound("no such print preset")
    grid = layout.resolve()
    code = _code_mm(layout, host, False)
    return PresetInfo(
        name=name,
        label_width=layout.label_width,
        label_height=layout.label_height,
        columns=grid.columns,
        rows=grid.rows,
        per_sheet=grid.per_page,
        die_cut=not layout.crop_marks,
        crop_marks=layout.crop_marks,
        page_clearance=round(layout.clearance(), 2),
        code_mm=code,
        code_mm_with_pin=_code_mm(layout, host, True),
        default=name == DEFAULT_PRESET,
        purpose=PURPOSES.get(name, ""),
    )


def all_presets(host: str) -> list[PresetInfo]:
    return [preset_info(name, host) for name in PRESETS]


@lru_cache(maxsize=32)
def preview_png(name: str, host: str, *, pin: bool, dpi: int = 300) -> bytes:
    """One sample label of preset `name` as it will print (same layout code as the PDF), as PNG.

    Raises NotFound for an unknown preset and LabelTooSmall when the stock cannot hold a PIN.
    """
    layout = PRESETS.get(name)
    if layout is None:
        raise NotFound("no such print preset")
    return render_png(
        sample_label(host, pin=pin),
        width_mm=layout.label_width,
        height_mm=layout.label_height,
        dpi=dpi,
        padding=layout.padding,
    )
