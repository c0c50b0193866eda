"""PDF label sheets: every QR on a rasterized page decodes back to its URL."""

from __future__ import annotations

import io
import math
import os
import random
import re
import shutil
import string
import subprocess
import zlib
from datetime import date
from pathlib import Path

import cv2
import numpy as np
import pypdfium2 as pdfium
import pytest
import zxingcpp
from PIL import Image

from stamp_service.errors import ValidationFailed
from stamp_service.render.labels import LabelData
from stamp_service.render.layout import MIN_CODE_MM, LabelTooSmall, plan_label, qr_printed_size
from stamp_service.render.pdf import (
    PAGE_CLEARANCE,
    PRESET_ALIASES,
    PRESETS,
    SheetLayout,
    label_count_per_page,
    layout_for,
    render_pdf,
)

B32 = string.ascii_uppercase + "234567"
NAME = "Mật ong bạc hà Đồng Văn – loại đặc biệt"


def make_labels(n: int, *, seed: int = 1, host: str = "TEM.OCOP.LOCAL", pin: bool = False) -> list[LabelData]:
    rng = random.Random(seed)
    return [
        LabelData(
            url=f"HTTPS://{host}/V/" + "".join(rng.choice(B32) for _ in range(140)),
            serial_display="-".join(
                "".join(rng.choice("0123456789ABCDEFGHJKMNPQRSTVWXYZ") for _ in range(k))
                for k in (4, 4, 4, 2)
            ),
            stars=3 + i % 3,
            product_name=NAME,
            host=host.lower(),
            pin=f"{rng.randrange(10**8):08d}" if pin else None,
            seq=i + 1,
            lot_code="LO-2026-001",
            expiry=date(2027, 12, 31),
        )
        for i in range(n)
    ]


def pdf_bytes(labels: list[LabelData], layout: SheetLayout) -> bytes:
    return b"".join(render_pdf(labels, layout))


def raster(data: bytes, dpi: int = 300) -> list[Image.Image]:
    doc = pdfium.PdfDocument(data)
    return [page.render(scale=dpi / 72, grayscale=True).to_pil().convert("L") for page in doc]


def decode_pages(data: bytes, dpi: int = 300) -> list[list[str]]:
    return [
        [r.text for r in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)]
        for image in raster(data, dpi)
    ]


def label_cells(layout: SheetLayout, dpi: int) -> list[tuple[int, int, int, int]]:
    """Pixel boxes of the label slots on a page, row by row (the order labels are placed in)."""
    grid = layout.resolve()
    px = dpi / 25.4
    boxes = []
    for r in range(grid.rows):
        for c in range(grid.columns):
            x = grid.left + c * (layout.label_width + layout.h_gap)
            y = grid.top + r * (layout.label_height + layout.v_gap)
            boxes.append(
                (
                    round(x * px),
                    round(y * px),
                    round((x + layout.label_width) * px),
                    round((y + layout.label_height) * px),
                )
            )
    return boxes


def opencv_decode(image: Image.Image) -> str:
    """OpenCV's ArUco-based detector: the classic ``QRCodeDetector`` misses a few percent of version-7
    symbols even alone on white (on the old layout too), whatever surrounds them."""
    detector = cv2.QRCodeDetectorAruco()
    text, _points, _ = detector.detectAndDecode(np.asarray(image))
    return str(text)


def side_mm(result: zxingcpp.Result, dpi: int) -> float:
    p = result.position
    corners = [
        (p.top_left.x, p.top_left.y),
        (p.top_right.x, p.top_right.y),
        (p.bottom_right.x, p.bottom_right.y),
    ]
    top = math.dist(corners[0], corners[1])
    right = math.dist(corners[1], corners[2])
    return min(top, right) / dpi * 25.4


@pytest.mark.parametrize("pin", [False, True])
@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_every_code_of_every_preset_decodes_with_zxing_and_opencv(preset: str, pin: bool) -> None:
    layout = PRESETS[preset]
    per_page = label_count_per_page(layout)
    labels = make_labels(per_page, host="VERIFY-OCOP.GOV.VN12", pin=pin)  # 20-char host: longest codes
    dpi = 300
    (page,) = raster(pdf_bytes(labels, layout), dpi)
    results = zxingcpp.read_barcodes(page, formats=zxingcpp.BarcodeFormat.QRCode)
    assert sorted(r.text for r in results) == sorted(lab.url for lab in labels)
    for r in results:  # measured on the page, not taken from the layout's arithmetic
        assert side_mm(r, dpi) >= MIN_CODE_MM - 0.2, (preset, side_mm(r, dpi))
    for label, box in zip(labels, label_cells(layout, dpi), strict=True):
        assert opencv_decode(page.crop(box)) == label.url, (preset, label.seq)


def test_sheet_streams_page_by_page_and_counts_pages() -> None:
    labels = make_labels(50)
    chunks = list(render_pdf(iter(labels), PRESETS["a4-3x8-70x37-diecut"]))  # a generator input works too
    data = b"".join(chunks)
    assert data.startswith(b"%PDF-1.7") and data.rstrip().endswith(b"%%EOF")
    assert len(chunks) > 5
    doc = pdfium.PdfDocument(data)
    assert len(doc) == 3  # 24 + 24 + 2
    width, height = doc[0].get_size()
    assert (round(width), round(height)) == (595, 842)  # A4 in points


def test_text_layer_has_wordmark_tagline_name_serial_seq_lot_expiry_and_host() -> None:
    labels = make_labels(3, pin=True)
    doc = pdfium.PdfDocument(pdf_bytes(labels, PRESETS["a4-3x7-63.5x38.1-diecut"]))
    text = doc[0].get_textpage().get_text_range()
    compact = re.sub(r"[\s\-\ufffe\u00ad]", "", text)  # serials may wrap at a group separator
    for expected in (
        "OCOP",
        "Tem truy xuất nguồn gốc",
        "Quét mã để kiểm tra",
        "Mật ong bạc hà",
        "cào lớp phủ",
    ):
        assert expected in text
    assert "Lô LO-2026-001" in text and "HSD 31/12/2027" in text  # dd/mm/yyyy
    for lab in labels:
        assert lab.serial_display.replace("-", "") in compact
        assert lab.pin is not None and lab.pin in text
        assert f"STT {lab.seq}" in text
    assert "tem.ocop.local" in text


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_every_label_shows_its_sequence_number_and_the_fixed_texts(preset: str) -> None:
    layout = PRESETS[preset]
    labels = make_labels(label_count_per_page(layout), pin=True)
    text = pdfium.PdfDocument(pdf_bytes(labels, layout))[0].get_textpage().get_text_range()
    assert text.count("OCOP") == len(labels)
    assert re.sub(r"\s+", " ", text).count("Tem truy xuất nguồn gốc") == len(labels)  # may wrap in two lines
    assert text.count("Quét mã để kiểm tra") == len(labels)
    assert sorted(int(n) for n in re.findall(r"STT (\d+)", text)) == [lab.seq for lab in labels]


def content_streams(data: bytes) -> list[bytes]:
    return [
        zlib.decompress(m.group(1))
        for m in re.finditer(rb"/FlateDecode >>\nstream\n(.*?)\nendstream", data, flags=re.S)
    ]


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_every_printed_text_is_at_least_6_pt(preset: str) -> None:
    data = pdf_bytes(make_labels(4, pin=True), PRESETS[preset])
    sizes = [float(s) for stream in content_streams(data) for s in re.findall(rb"/F1 ([\d.]+) Tf", stream)]
    assert len(sizes) >= 4 * 8
    assert min(sizes) >= 6.0


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_ink_keeps_5_mm_clear_of_every_page_edge(preset: str) -> None:
    """Measured on the rasterised page: office printers leave about 4 mm unprinted."""
    layout = PRESETS[preset]
    labels = make_labels(label_count_per_page(layout), pin=True)
    dpi = 150
    (page,) = raster(pdf_bytes(labels, layout), dpi)
    ink = np.asarray(page) < 200
    rows, cols = np.nonzero(ink)
    px = dpi / 25.4
    height, width = ink.shape
    clear = {
        "left": cols.min() / px,
        "top": rows.min() / px,
        "right": (width - 1 - cols.max()) / px,
        "bottom": (height - 1 - rows.max()) / px,
    }
    assert min(clear.values()) >= PAGE_CLEARANCE, (preset, clear)
    assert layout.clearance() >= PAGE_CLEARANCE


@pytest.mark.skipif(
    shutil.which("pdftoppm") is None and not os.environ.get("CI"),
    reason="poppler-utils not installed (CI installs it and runs this test)",
)
@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_poppler_renders_the_sheet_and_both_decoders_read_every_code(tmp_path: Path, preset: str) -> None:
    layout = PRESETS[preset]
    labels = make_labels(label_count_per_page(layout), host="VERIFY-OCOP.GOV.VN12", pin=True)
    path = tmp_path / "sheet.pdf"
    path.write_bytes(pdf_bytes(labels, layout))
    result = subprocess.run(
        ["pdftoppm", "-r", "300", "-gray", "-f", "1", "-l", "1", str(path)],
        capture_output=True,
        check=True,
        timeout=60,
    )
    assert b"Error" not in result.stderr
    image = Image.open(io.BytesIO(result.stdout)).convert("L")
    decoded = [r.text for r in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)]
    assert sorted(decoded) == sorted(lab.url for lab in labels)
    cells = label_cells(layout, 300)
    assert [opencv_decode(image.crop(box)) for box in cells] == [lab.url for lab in labels]


def test_presets_resolve_and_codes_are_at_least_18_mm() -> None:
    expected = {
        "a4-3x8-70x37-diecut": 24,
        "a4-3x7-63.5x38.1-diecut": 21,
        "a4-4x10-48.5x25.4-diecut": 40,
        "a4-square-42mm": 24,
    }
    assert {name: label_count_per_page(layout) for name, layout in PRESETS.items()} == expected
    for name, layout in PRESETS.items():
        for pin in (False, True):
            size = qr_printed_size(
                layout.label_width,
                layout.label_height,
                45,
                has_pin=pin,
                padding=layout.padding,
                host="verify-ocop.gov.vn12",
            )
            assert size >= MIN_CODE_MM, (name, pin, size)
        assert ("diecut" in name) == (not layout.crop_marks), name  # die-cut stock says so in its name
    assert qr_printed_size(70, 37, 45, padding=5.2) == pytest.approx(22.5)


def test_old_preset_names_still_work() -> None:
    for old, new in PRESET_ALIASES.items():
        assert layout_for(old) == PRESETS[new]


def test_a_label_too_small_for_6_pt_text_and_an_18_mm_code_is_refused() -> None:
    (label,) = make_labels(1, pin=True)
    with pytest.raises(LabelTooSmall):
        plan_label(label, 38.1, 21.2, 45)  # the retired mini-label stock
    with pytest.raises(LabelTooSmall):
        plan_label(label, 25.0, 25.0, 45)  # the retired 25 mm square


def test_columns_and_rows_are_computed_from_sizes() -> None:
    grid = SheetLayout(50.0, 30.0, h_gap=2.0, v_gap=2.0, min_margin=5.0).resolve()
    assert (grid.columns, grid.rows) == (3, 9)
    assert grid.left == pytest.approx((210 - 154) / 2)


def test_impossible_layouts_are_refused() -> None:
    with pytest.raises(ValidationFailed) as err:
        SheetLayout(80.0, 30.0, columns=3).resolve()
    assert err.value.errors[0]["field"] == "columns"
    with pytest.raises(ValidationFailed):
        SheetLayout(2.0, 30.0).resolve()
    with pytest.raises(ValidationFailed):
        layout_for("no-such-stock")
    with pytest.raises(ValidationFailed):
        list(render_pdf(make_labels(1), SheetLayout(300.0, 30.0)))


def test_crop_marks_only_where_there_is_a_margin() -> None:
    with_marks = pdf_bytes(make_labels(1), PRESETS["a4-square-42mm"])
    without = pdf_bytes(make_labels(1), PRESETS["a4-3x8-70x37-diecut"])
    assert b"/CM " in with_marks  # the crop-mark form in the shared resources
    assert b"/CM " not in without


def test_a_long_host_wraps_after_a_dot_and_one_too_long_is_reported_not_raised() -> None:
    from stamp_service.render.presets import all_presets

    host = "xac-thuc-tem-ocop.tinh-ha-giang.gov.vn"
    (label,) = make_labels(1, host=host.upper())
    layout = PRESETS["a4-4x10-48.5x25.4-diecut"]
    plan = plan_label(label, layout.label_width, layout.label_height, 49, padding=layout.padding)
    texts = [t.text for t in plan.texts]
    assert "xac-thuc-tem-ocop." in texts and "tinh-ha-giang.gov.vn" in texts
    assert min(t.size for t in plan.texts) >= 6 * 25.4 / 72 - 1e-9
    infos = {p.name: p for p in all_presets("x" * 40 + ".vn")}  # cannot be broken to fit 6 pt
    assert infos["a4-4x10-48.5x25.4-diecut"].code_mm is None
    assert infos["a4-3x7-63.5x38.1-diecut"].code_mm is None
