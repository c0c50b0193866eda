"""Print downloads end to end: request -> approve -> files; every QR decoded for real and verified
against the keys served at /.well-known/jwks.json (rebuilt from the JSON, not from the key ring)."""

from __future__ import annotations

import csv
import io
import re

import pypdfium2 as pdfium
import pytest
import zxingcpp
from PIL import Image
from sqlalchemy import select

from stamp_service.crypto import pins
from stamp_service.domain import serials
from stamp_service.domain.access import Role
from stamp_service.domain.stamp_format import verify
from stamp_service.storage.models.stamps import Stamp, StampVoid
from tests.factories import make_caller
from tests.issuance_helpers import approve, audit_count, certified, jwks_lookup, post_request
from tests.qr_decoding import decode_pdf
from tests.stamp_factories import ensure_keyring

QR = zxingcpp.BarcodeFormat.QRCode


@pytest.fixture()
def keyring(session, settings):
    return ensure_keyring(session, settings.keys_dir)


@pytest.fixture()
def issued(client, session, admin, keyring):
    """A producer's request of 30 stamps with PINs, approved and issued through the API."""
    setup = certified(session)
    rid = post_request(client, setup.caller, {"lot_id": setup.lot.id, "quantity": 30, "with_pin": True})
    rid = rid.get_json()["id"]
    assert approve(client, admin, rid).get_json()["state"] == "issued"
    stamps = session.scalars(select(Stamp).where(Stamp.request_id == rid).order_by(Stamp.seq)).all()
    return setup, rid, stamps


def test_every_qr_in_the_pdf_decodes_and_verifies_against_the_served_jwks(client, session, issued):
    setup, rid, stamps = issued
    r = client.get(f"/api/v1/stamp-requests/{rid}/labels.pdf", headers=setup.caller.headers)
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    assert r.headers["Content-Disposition"] == f'attachment; filename="ocop-stamps-{rid}.pdf"'
    assert r.is_streamed
    urls = decode_pdf(r.get_data())
    assert len(urls) == 30 and len(set(urls)) == 30
    jwks = client.get("/.well-known/jwks.json").get_json()
    lookup = jwks_lookup(jwks)
    decoded = set()
    for url in urls:
        assert url.startswith("HTTPS://TEM.OCOP.LOCAL/V/")
        claims = verify(url, public_key_lookup=lookup)
        assert (claims.product_index, claims.lot_index) == (setup.product.id, setup.lot.id)
        decoded.add(serials.to_db(claims.serial))
    assert decoded == {s.serial for s in stamps}
    assert audit_count(session, "stamps.download") == 1


def test_each_label_on_the_sheet_shows_its_sequence_number_lot_and_expiry(client, issued):
    setup, rid, stamps = issued
    r = client.get(
        f"/api/v1/stamp-requests/{rid}/labels.pdf?preset=a4-3x7-63.5x38.1-diecut",
        headers=setup.caller.headers,
    )
    assert r.status_code == 200
    doc = pdfium.PdfDocument(r.get_data())
    text = "\n".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
    assert sorted(int(n) for n in re.findall(r"STT (\d+)", text)) == [s.seq for s in stamps]
    assert text.count("OCOP") == 30 and text.count("Quét mã để kiểm tra") == 30
    assert text.count(f"Lô {setup.lot.lot_code}") == 30
    if setup.lot.expiry_date is not None:
        assert text.count(f"HSD {setup.lot.expiry_date:%d/%m/%Y}") == 30


def test_csv_manifest_carries_serial_url_and_pin(client, session, issued, keyring):
    setup, rid, stamps = issued
    r = client.get(f"/api/v1/stamp-requests/{rid}/labels.csv", headers=setup.caller.headers)
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert r.headers["Content-Type"] == "text/csv; charset=utf-8"  # the charset once
    rows = list(csv.DictReader(io.StringIO(r.get_data(as_text=True))))
    assert len(rows) == 30 and list(rows[0]) == ["seq", "serial", "url", "pin"]
    by_serial = {s.serial: s for s in stamps}
    for row in rows:
        serial = serials.parse_serial(row["serial"])
        stamp = by_serial[serials.to_db(serial)]
        assert int(row["seq"]) == stamp.seq  # the number printed on the label ("STT 12")
        assert pins.pin_matches(keyring, serial, row["pin"], stamp.pin_hash)
        assert verify(row["url"], public_key_lookup=keyring.lookup(session)).serial == serial


def test_request_without_pins_has_no_pin_column(client, session, admin, keyring):
    setup = certified(session)
    rid = post_request(client, setup.caller, {"lot_id": setup.lot.id, "quantity": 3}).get_json()["id"]
    approve(client, admin, rid)
    text = client.get(f"/api/v1/stamp-requests/{rid}/labels.csv", headers=admin.headers).get_data(
        as_text=True
    )
    assert text.splitlines()[0] == "seq,serial,url" and len(text.splitlines()) == 4


def test_zpl_has_one_format_per_stamp(client, issued):
    setup, rid, _stamps = issued
    r = client.get(f"/api/v1/stamp-requests/{rid}/labels.zpl?dpi=300", headers=setup.caller.headers)
    assert r.status_code == 200 and r.headers["Content-Disposition"].endswith('.zpl"')
    assert r.headers["Content-Type"] == "text/plain; charset=utf-8"  # the charset once
    text = r.get_data(as_text=True)
    assert text.count("^XA") == 30 and text.count("^XZ") == 30 and "^FDMM,AHTTPS://TEM.OCOP.LOCAL/V/" in text
    assert sorted(int(n) for n in re.findall(r"\^FDSTT (\d+)\^FS", text)) == list(range(1, 31))
    assert text.count("^FR^FDOCOP^FS") == 30


def test_one_stamp_as_png_decodes_and_as_svg(client, session, issued):
    setup, _rid, stamps = issued
    display = serials.format_serial(serials.from_db(stamps[4].serial))
    r = client.get(f"/api/v1/stamps/{display}/stamp.png?dpi=300", headers=setup.caller.headers)
    assert r.status_code == 200 and r.mimetype == "image/png"
    image = Image.open(io.BytesIO(r.get_data()))
    (found,) = zxingcpp.read_barcodes(image, formats=QR)
    assert (
        serials.to_db(
            verify(
                found.text, public_key_lookup=jwks_lookup(client.get("/.well-known/jwks.json").get_json())
            ).serial
        )
        == stamps[4].serial
    )
    svg = client.get(f"/api/v1/stamps/{display.lower()}/stamp.svg", headers=setup.caller.headers)
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
    assert svg.get_data().startswith(b"<?xml")
    assert audit_count(session, "stamps.download") == 2


def test_who_may_download(client, session, issued, inspector, admin):
    _setup, rid, stamps = issued
    other = make_caller(session, Role.PRODUCER, certified(session).producer.id)
    display = serials.format_serial(serials.from_db(stamps[0].serial))
    for path in (
        f"/api/v1/stamp-requests/{rid}/labels.pdf",
        f"/api/v1/stamp-requests/{rid}/labels.csv",
        f"/api/v1/stamp-requests/{rid}/labels.zpl",
        f"/api/v1/stamps/{display}/stamp.svg",
        f"/api/v1/stamps/{display}/stamp.png",
    ):
        assert client.get(path, headers=other.headers).status_code == 404, path
        assert client.get(path, headers=inspector.headers).status_code == 403, path
        assert client.get(path).status_code == 401, path
    assert audit_count(session, "stamps.download") == 0
    assert client.get(f"/api/v1/stamp-requests/{rid}/labels.csv", headers=admin.headers).status_code == 200


def test_bad_parameters_are_refused_before_anything_is_audited(client, session, issued):
    setup, rid, stamps = issued
    h = setup.caller.headers
    for path in (
        f"/api/v1/stamp-requests/{rid}/labels.pdf?preset=nope",
        f"/api/v1/stamp-requests/{rid}/labels.pdf?label_width=200&columns=3",
        f"/api/v1/stamp-requests/{rid}/labels.pdf?colour=red",
        f"/api/v1/stamp-requests/{rid}/labels.zpl?dpi=999",
        f"/api/v1/stamp-requests/{rid}/labels.zpl?width_mm=5",
        f"/api/v1/stamps/{serials.format_serial(serials.from_db(stamps[0].serial))}/stamp.png?dpi=5",
        # labels too small for 6 pt text and an 18 mm code with a PIN: refused, not shrunk
        f"/api/v1/stamp-requests/{rid}/labels.pdf?label_width=38.1&label_height=21.2",
        f"/api/v1/stamp-requests/{rid}/labels.zpl?width_mm=50&height_mm=30",
        f"/api/v1/stamps/{serials.format_serial(serials.from_db(stamps[0].serial))}/stamp.svg?width_mm=30&height_mm=20",
    ):
        r = client.get(path, headers=h)
        assert r.status_code == 422 and r.mimetype == "application/problem+json", path
    r = client.get("/api/v1/stamps/0000-0000-0000-00/stamp.svg", headers=h)
    assert r.status_code == 422 and r.get_json()["type"] == "/problems/serial-typo"
    assert audit_count(session, "stamps.download") == 0


def test_custom_geometry_is_honoured(client, issued):
    setup, rid, _ = issued
    r = client.get(
        f"/api/v1/stamp-requests/{rid}/labels.pdf?preset=a4-4x10-48.5x25.4&crop_marks=false",
        headers=setup.caller.headers,
    )
    assert r.status_code == 200
    assert len(pdfium.PdfDocument(r.get_data())) == 1  # 30 labels, 40 per sheet


def test_only_issued_and_still_valid_requests_print_and_voided_slots_are_left_out(
    client, session, admin, issued
):
    setup, rid, stamps = issued
    pending = post_request(client, setup.caller, {"lot_id": setup.lot.id, "quantity": 5}).get_json()["id"]
    r = client.get(f"/api/v1/stamp-requests/{pending}/labels.pdf", headers=setup.caller.headers)
    assert r.status_code == 409 and r.get_json()["state"] == "requested"
    session.add(StampVoid(request_id=rid, seq_from=3, seq_to=7, reason_code="spoiled", reason="jammed"))
    session.commit()
    rows = client.get(f"/api/v1/stamp-requests/{rid}/labels.csv", headers=admin.headers).get_data(
        as_text=True
    )
    assert len(rows.splitlines()) == 1 + 25
    assert [int(line.split(",")[0]) for line in rows.splitlines()[1:]] == [*range(1, 3), *range(8, 31)]
    voided = serials.format_serial(serials.from_db(stamps[4].serial))
    assert voided not in rows
    assert client.get(f"/api/v1/stamps/{voided}/stamp.svg", headers=admin.headers).status_code == 409
    setup.certificate.state = "withdrawn"
    session.commit()
    r = client.get(f"/api/v1/stamp-requests/{rid}/labels.pdf", headers=setup.caller.headers)
    assert r.status_code == 422 and r.get_json()["rule"] == "certificate-withdrawn"
