"""Reading the QR codes of a rendered print file, as a phone or scanner would (zxing-cpp)."""

from __future__ import annotations

import pypdfium2 as pdfium
import zxingcpp

QR = zxingcpp.BarcodeFormat.QRCode


def decode_pdf(data: bytes, dpi: int = 300) -> list[str]:
    """The text of every QR code on every page of ``data``, rendered with pdfium at ``dpi``."""
    doc = pdfium.PdfDocument(data)
    texts: list[str] = []
    for i in range(len(doc)):
        image = doc[i].render(scale=dpi / 72, grayscale=True).to_pil()
        texts.extend(r.text for r in zxingcpp.read_barcodes(image, formats=QR))
    return texts
