"""PDF label sheets: every QR on a rasterized page decodes back to its URL."""

from __future__ import annotations

import io
import os
import random
import re
import shutil
import string
import subprocess
from pathlib import Path

import pypdfium2 as pdfium
import pytest
import zxingcpp

from stamp_service.errors import ValidationFailed
from stamp_service.render.labels import LabelData
from stamp_service.render.layout import qr_printed_size
from stamp_service.render.pdf import PRESETS, SheetLayout, label_count_per_page, layout_for, render_pdf

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
        )
        for i in range(n)
    ]


def pdf_bytes(labels: list[LabelData], layout: SheetLayout) -> bytes:
    return b"".join(render_pdf(labels, layout))


def decode_pages(data: bytes, dpi: int = 300) -> list[list[str]]:
    doc = pdfium.PdfDocument(data)
    pages = []
    for page in doc:
        image = page.render(scale=dpi / 72, grayscale=True).to_pil()
        pages.append([r.text for r in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)])
    return pages


@pytest.mark.parametrize(("preset", "pin"), [("avery-l7651-like", False), ("a4-3x8-70x37", True)])
def test_every_qr_on_the_sheet_decodes_to_its_url(preset: str, pin: bool) -> None:
    layout = PRESETS[preset]
    per_page = label_count_per_page(layout)
    labels = make_labels(per_page, host="VERIFY-OCOP.GOV.VN12", pin=pin)  # 20-char host: longest codes
    pages = decode_pages(pdf_bytes(labels, layout))
    assert len(pages) == 1
    assert sorted(pages[0]) == sorted(lab.url for lab in labels)


def test_sheet_streams_page_by_page_and_counts_pages() -> None:
    labels = make_labels(50)
    chunks = list(render_pdf(iter(labels), PRESETS["a4-3x8-70x37"]))  # a generator input works too
    data = b"".join(chunks)
    assert data.startswith(b"%PDF-1.7") and data.rstrip().endswith(b"%%EOF")
    assert len(chunks) > 5
    doc = pdfium.PdfDocument(data)
    assert len(doc) == 3  # 24 + 24 + 2
    width, height = doc[0].get_size()
    assert (round(width), round(height)) == (595, 842)  # A4 in points


def test_text_layer_has_vietnamese_name_serial_and_host() -> None:
    labels = make_labels(3, pin=True)
    doc = pdfium.PdfDocument(pdf_bytes(labels, PRESETS["avery-l7160-like"]))
    text = doc[0].get_textpage().get_text_range()
    compact = re.sub(r"[\s\-\ufffe\u00ad]", "", text)  # serials may wrap at a group separator
    assert "Mật ong bạc hà" in text
    for lab in labels:
        assert lab.serial_display.replace("-", "") in compact
        assert lab.pin is not None and lab.pin in text
    assert "tem.ocop.local" in text
    assert "cào lớp phủ" in text


@pytest.mark.skipif(
    shutil.which("pdftoppm") is None and not os.environ.get("CI"),
    reason="poppler-utils not installed (CI installs it and runs this test)",
)
def test_poppler_renders_the_sheet(tmp_path: Path) -> None:
    labels = make_labels(30)
    path = tmp_path / "sheet.pdf"
    path.write_bytes(pdf_bytes(labels, PRESETS["a4-square-25mm"]))
    result = subprocess.run(
        ["pdftoppm", "-r", "300", "-gray", "-f", "1", "-l", "1", str(path)],
        capture_output=True,
        check=True,
        timeout=60,
    )
    assert b"Error" not in result.stderr
    from PIL import Image

    image = Image.open(io.BytesIO(result.stdout))
    decoded = [r.text for r in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)]
    assert sorted(decoded) == sorted(lab.url for lab in labels)


def test_presets_resolve_and_qr_sizes_are_sensible() -> None:
    expected = {
        "a4-3x8-70x37": 24,
        "avery-l7160-like": 21,
        "a4-4x10-48.5x25.4": 40,
        "avery-l7651-like": 65,
        "a4-square-25mm": 70,
    }
    for name, count in expected.items():
        layout = PRESETS[name]
        assert label_count_per_page(layout) == count, name
        size = qr_printed_size(layout.label_width, layout.label_height, 45)
        assert size >= 15.0, (name, size)
    assert qr_printed_size(70, 37, 45) >= 18.0


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
    with_marks = pdf_bytes(make_labels(1), PRESETS["a4-square-25mm"])
    without = pdf_bytes(make_labels(1), PRESETS["a4-3x8-70x37"])
    assert b"/CM " in with_marks  # the crop-mark form in the shared resources
    assert b"/CM " not in without
