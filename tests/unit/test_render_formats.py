"""SVG, PNG, CSV manifest and ZPL outputs, and a phone-photo decode of a 20 mm stamp."""

from __future__ import annotations

import csv
import io
import random
import re
import string
import xml.etree.ElementTree as ET

import pypdfium2 as pdfium
import pytest
import zxingcpp
from PIL import Image, ImageDraw, ImageFilter

from stamp_service.errors import ValidationFailed
from stamp_service.render.image import render_image, render_png
from stamp_service.render.labels import LabelData
from stamp_service.render.layout import qr_printed_size
from stamp_service.render.manifest import render_manifest
from stamp_service.render.pdf import SheetLayout, render_pdf
from stamp_service.render.qr import encode
from stamp_service.render.svg import render_svg
from stamp_service.render.zpl import ZplOptions, ascii_fold, render_zpl

B32 = string.ascii_uppercase + "234567"
SVG_NS = "{http://www.w3.org/2000/svg}"


def make_label(
    seed: int = 1, *, host: str = "VERIFY-OCOP.GOV.VN12", pin: str | None = None, seq: int | None = None
) -> LabelData:
    rng = random.Random(seed)
    return LabelData(
        url=f"HTTPS://{host}/V/" + "".join(rng.choice(B32) for _ in range(140)),
        serial_display=f"7K3M-{seed:04d}-QX9P-2D",
        stars=4,
        product_name="Kẹo cu đơ Hà Tĩnh",
        host=host.lower(),
        pin=pin,
        seq=seq,
    )


def decode(image: Image.Image) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)]


def test_png_decodes_and_records_its_dpi() -> None:
    label = make_label(pin="12345678")
    data = render_png(label, dpi=300)
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG"
    assert round(image.info["dpi"][0]) == 300
    assert image.size == (round(50 / 25.4 * 300), round(30 / 25.4 * 300))
    assert decode(image) == [label.url]


def test_svg_is_valid_xml_and_its_qr_path_decodes() -> None:
    label = make_label(2)
    root = ET.fromstring(render_svg(label))
    assert root.tag == f"{SVG_NS}svg" and root.get("width") == "50mm"
    texts = [t.text for t in root.iter(f"{SVG_NS}text")]
    assert "Kẹo cu đơ Hà Tĩnh" in " ".join(t or "" for t in texts)  # may wrap onto two lines
    assert "verify-ocop.gov.vn12" in texts
    assert "Tem truy xuất nguồn gốc" in " ".join(t or "" for t in texts)
    assert "Quét mã để kiểm tra" in " ".join(t or "" for t in texts)
    wordmark = next(t for t in root.iter(f"{SVG_NS}text") if t.text == "OCOP")
    assert wordmark.get("fill") == "#fff"  # white on the black wordmark box
    assert any(r.get("fill") == "#000" for r in root.iter(f"{SVG_NS}rect"))
    assert len(list(root.iter(f"{SVG_NS}polygon"))) == 5
    path = next(p for p in root.iter(f"{SVG_NS}path") if p.get("id") == "qr")
    # rasterize the path geometry itself (one rectangle per run) and decode it
    scale, quiet = 8, 4
    size = encode(label.url).size
    image = Image.new("L", ((size + 2 * quiet) * scale,) * 2, 255)
    draw = ImageDraw.Draw(image)
    runs = re.findall(r"M(\d+) (\d+)h(\d+)v1h-\3z", path.get("d", ""))
    assert runs
    for c, r, ln in ((int(a), int(b), int(c)) for a, b, c in runs):
        x, y = (c + quiet) * scale, (r + quiet) * scale
        draw.rectangle((x, y, x + ln * scale - 1, y + scale - 1), fill=0)
    assert decode(image) == [label.url]


def test_phone_photo_of_an_18_mm_stamp_decodes() -> None:
    """The smallest code any label prints (18 mm), blurred, turned and JPEG-compressed."""
    label = make_label(3)
    width, height = 48.5, 25.4
    size = qr_printed_size(width, height, encode(label.url).size, has_pin=True, host=label.host)
    assert size == pytest.approx(18.0, abs=0.01)
    label = make_label(3, pin="1234-5678", seq=12)
    pdf = b"".join(
        render_pdf(
            [label],
            SheetLayout(
                width, height, 1, 1, page_width=width, page_height=height, margin_left=0, margin_top=0
            ),
        )
    )
    printed = pdfium.PdfDocument(pdf)[0].render(scale=300 / 72, grayscale=True).to_pil().convert("L")
    photo = printed.filter(ImageFilter.GaussianBlur(radius=1.3))
    photo = photo.rotate(6, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255)
    buf = io.BytesIO()
    photo.save(buf, format="JPEG", quality=40)
    degraded = Image.open(io.BytesIO(buf.getvalue()))
    assert decode(degraded) == [label.url]


def test_manifest_csv_parses_with_and_without_pins() -> None:
    labels = [make_label(i, pin=f"{i:08d}" if i % 2 else None, seq=i + 7) for i in range(5)]
    rows = list(csv.reader(io.StringIO(b"".join(render_manifest(labels)).decode("utf-8"))))
    assert rows[0] == ["seq", "serial", "url"]
    assert rows[1:] == [[str(lab.seq), lab.serial_display, lab.url] for lab in labels]
    text = b"".join(render_manifest(labels, include_pin=True, excel_bom=True)).decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0] == ["seq", "serial", "url", "pin"]
    assert [r[0] for r in rows[1:]] == ["7", "8", "9", "10", "11"]  # the number printed as "STT 7"
    assert [r[3] for r in rows[1:]] == ["", "00000001", "", "00000003", ""]


def test_manifest_streams_in_chunks() -> None:
    label = make_label()
    chunks = list(render_manifest(label for _ in range(4500)))
    assert len(chunks) == 3
    assert b"".join(chunks).count(b"\r\n") == 4501


@pytest.mark.parametrize(("dpi", "dots"), [(203, 8), (300, 12)])
def test_zpl_structure_and_qr_data(dpi: int, dots: int) -> None:
    labels = [make_label(i, pin="12345678" if i == 0 else None, seq=i + 1) for i in range(3)]
    text = b"".join(render_zpl(labels, ZplOptions(dpi=dpi, width_mm=60, height_mm=40))).decode("utf-8")
    formats = re.findall(r"\^XA(.*?)\^XZ", text, flags=re.S)
    assert len(formats) == 3
    for label, body in zip(labels, formats, strict=True):
        assert f"^PW{60 * dots}" in body and f"^LL{40 * dots}" in body
        bq = re.search(r"\^FO(\d+),(\d+)\^BQN,2,(\d+)\^FDMM,A([^\^]*)\^FS", body)
        assert bq is not None
        assert bq.group(4) == label.url
        magnification = int(bq.group(3))
        assert (45 + 8) * magnification <= 40 * dots  # symbol and quiet zone fit the label
        assert int(bq.group(1)) >= 4 * magnification  # quiet zone on the left
        assert 45 * magnification >= 18 * dots  # the code is at least 18 mm
        assert f"^FD{label.serial_display}^FS" in body
        assert "^FR^FDOCOP^FS" in body  # the wordmark, white on a black box
        assert "^FD**** (4/5)^FS" in body
        assert "^FDTem truy xuat nguon goc^FS" in body and "^FDQuet ma de kiem tra^FS" in body
        assert f"^FDSTT {label.seq}^FS" in body
        assert ("^FD12345678^FS" in body) == (label.pin is not None)
        if label.pin is None:
            assert "^FDKeo cu do Ha Tinh^FS" in body  # the name where there is room


def test_zpl_refuses_a_label_too_small_for_the_pin_at_6_pt() -> None:
    text = b"".join(render_zpl([make_label(seq=1)], ZplOptions(width_mm=50, height_mm=30))).decode()
    assert "^FDSTT 1^FS" in text
    with pytest.raises(ValidationFailed):
        list(render_zpl([make_label(pin="12345678", seq=1)], ZplOptions(width_mm=50, height_mm=30)))


def test_zpl_escapes_control_characters_and_validates_options() -> None:
    label = LabelData(
        url=make_label().url, serial_display="A", stars=3, product_name="Mứt ^XZ~ gừng_1", host="h"
    )
    text = b"".join(render_zpl([label])).decode()
    assert text.count("^XZ") == 1
    assert "Mut _5EXZ_7E gung_5F1" in text
    assert ascii_fold("Đặc sản Ưu tú") == "Dac san Uu tu"
    with pytest.raises(ValidationFailed):
        list(render_zpl([label], ZplOptions(dpi=150)))


def test_image_renderer_refuses_absurd_dpi() -> None:
    with pytest.raises(ValueError):
        render_image(make_label(), dpi=5)
