"""The preset list, the label preview images and the printer calibration page, fetched through the
API and checked on the rendered pixels (codes decoded with zxing-cpp and OpenCV, sizes measured)."""

from __future__ import annotations

import io
import math

import cv2
import numpy as np
import pypdfium2 as pdfium
import zxingcpp
from PIL import Image

from stamp_service.render.calibration import calibration_url
from stamp_service.render.layout import MIN_CODE_MM
from stamp_service.render.pdf import DEFAULT_PRESET, PRESETS

QR = zxingcpp.BarcodeFormat.QRCode


def side_mm(result: zxingcpp.Result, dpi: float) -> float:
    p = result.position
    top = math.dist((p.top_left.x, p.top_left.y), (p.top_right.x, p.top_right.y))
    right = math.dist((p.top_right.x, p.top_right.y), (p.bottom_right.x, p.bottom_right.y))
    return min(top, right) / dpi * 25.4


def test_presets_list_sizes_code_size_purpose_and_previews(client):
    r = client.get("/api/v1/print-presets")
    assert r.status_code == 200
    presets = r.get_json()
    assert [p["name"] for p in presets] == list(PRESETS)
    assert [p["name"] for p in presets if p["default"]] == [DEFAULT_PRESET]
    for p in presets:
        assert p["code_mm"] >= MIN_CODE_MM and p["page_clearance"] >= 5.0 and p["purpose"]
        assert p["die_cut"] == ("diecut" in p["name"])
        assert p["per_sheet"] == p["columns"] * p["rows"]
        for url, pin in ((p["preview_url"], False), (p["preview_with_pin_url"], True)):
            assert url is not None  # every preset holds a PIN today
            image_response = client.get(url)
            assert image_response.status_code == 200 and image_response.mimetype == "image/png"
            assert "public" in image_response.headers["Cache-Control"]
            image = Image.open(io.BytesIO(image_response.get_data())).convert("L")
            px = 300 / 25.4
            assert image.size == (round(p["label_width"] * px), round(p["label_height"] * px))
            (found,) = zxingcpp.read_barcodes(image, formats=QR)
            assert found.text.startswith("HTTPS://TEM.OCOP.LOCAL/V/")
            assert side_mm(found, 300) >= MIN_CODE_MM - 0.2
            expected = p["code_mm_with_pin"] if pin else p["code_mm"]
            assert abs(side_mm(found, 300) - expected) < 0.3, (p["name"], pin)
            text, _points, _ = cv2.QRCodeDetectorAruco().detectAndDecode(np.asarray(image))
            assert text == found.text


def test_unknown_preset_preview_is_a_404_problem(client):
    r = client.get("/api/v1/print-presets/no-such-stock/preview.png")
    assert r.status_code == 404 and r.mimetype == "application/problem+json"
    assert client.get(f"/api/v1/print-presets/{DEFAULT_PRESET}/preview.png?pin=maybe").status_code == 422


def test_calibration_page_has_a_true_100_mm_bar_and_one_code_per_preset_size(client):
    r = client.get("/api/v1/print-presets/calibration.pdf")
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    assert r.headers["Content-Disposition"].startswith("attachment;")
    doc = pdfium.PdfDocument(r.get_data())
    assert len(doc) == 1 and [round(v) for v in doc[0].get_size()] == [595, 842]
    dpi = 300
    page = doc[0].render(scale=dpi / 72, grayscale=True).to_pil().convert("L")
    results = zxingcpp.read_barcodes(page, formats=QR)
    presets = client.get("/api/v1/print-presets").get_json()
    expected = sorted(
        [p["code_mm"] for p in presets] + [p["code_mm_with_pin"] for p in presets if p["code_mm_with_pin"]]
    )
    assert len(results) == len(expected)
    assert {res.text for res in results} == {calibration_url("tem.ocop.local")}
    measured = sorted(side_mm(res, dpi) for res in results)
    assert all(abs(m - e) < 0.3 for m, e in zip(measured, expected, strict=True)), (measured, expected)
    # the 100 mm bar ends in two ticks (x = 25 and 125 mm, y 46-50 mm): measure between their centres
    px = dpi / 25.4
    row = np.asarray(page)[round(46.5 * px)] < 128
    ink = np.nonzero(row[round(20 * px) : round(130 * px)])[0]
    left, right = ink[ink < 50 * px], ink[ink > 50 * px]
    assert abs((right.mean() - left.mean()) / px - 100.0) < 0.1
    text = doc[0].get_textpage().get_text_range()
    assert "100 mm" in text and "Actual size" in text
