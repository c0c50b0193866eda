"""The demo stamps step: one issued request on a demo lot, idempotent, a genuine URL and a print sheet."""

from __future__ import annotations

from types import SimpleNamespace

import pypdfium2 as pdfium
import zxingcpp
from sqlalchemy import func, select

from stamp_service import demo, demo_stamps
from stamp_service.domain.stamp_format import verify
from stamp_service.storage.models.stamps import StampRequest
from tests.stamp_factories import ensure_keyring


def test_demo_stamps_are_issued_once_and_their_sheet_scans(session_factory, session, settings):
    ring = ensure_keyring(session, settings.keys_dir)
    runtime = SimpleNamespace(session_factory=session_factory, settings=settings, services={})
    list(demo.prepare(runtime))  # type: ignore[arg-type]
    first = list(demo_stamps.prepare(runtime))  # type: ignore[arg-type]
    assert any(line.startswith("demo stamps issued") for line in first), first
    url = next(line.split(": ", 1)[1] for line in first if line.startswith("a genuine demo stamp"))
    claims = verify(url, public_key_lookup=ring.lookup(session))
    assert claims.lot_index == demo.demo_lot_ids(session)[0]
    sheet = settings.var_dir / demo_stamps.SHEET
    page = pdfium.PdfDocument(sheet.read_bytes())[0].render(scale=300 / 72, grayscale=True).to_pil()
    decoded = {r.text for r in zxingcpp.read_barcodes(page, formats=zxingcpp.BarcodeFormat.QRCode)}
    assert len(decoded) == demo_stamps.DEMO_STAMPS and url in decoded

    runtime.services["listen_url"] = "http://127.0.0.1:8831"  # `serve --port 8831`: the link says so
    second = list(demo_stamps.prepare(runtime))  # type: ignore[arg-type]
    assert not any(line.startswith("demo stamps issued") for line in second)
    assert next(line for line in second if line.startswith("a genuine demo stamp")).endswith(url)
    here = next(line for line in second if "open it here" in line).split(": ", 1)[1].strip()
    assert here.startswith("http://127.0.0.1:8831/V/")
    count = select(func.count()).where(StampRequest.idempotency_key == demo_stamps.DEMO_KEY)
    assert session.scalar(count) == 1
