"""GS1 Digital Link stamps end to end: request, print files, scanners' reading, the resolver.

Independent checks: every code is decoded from the rendered PDF with zxing-cpp, its URL parsed
by ``biip`` (a GS1 parser used only here) against the registry, and its signature verified by
the opaque-token verifier against the served JWKS.
"""

from __future__ import annotations

import csv
import io
from urllib.parse import urlsplit

import cv2
import numpy as np
import pypdfium2 as pdfium
import pytest
import zxingcpp
from biip.gs1_digital_link_uris import GS1DigitalLinkURI
from sqlalchemy import select

from stamp_service.domain import digital_link, serials
from stamp_service.domain.access import Role
from stamp_service.domain.stamp_format import verify
from stamp_service.storage.models.stamps import Stamp, StampRequest
from tests.factories import make_caller, make_certificate, make_lot, make_producer, make_product
from tests.issuance_helpers import Certified, approve, jwks_lookup, post_request
from tests.qr_decoding import decode_pdf
from tests.stamp_factories import ensure_keyring

QR = zxingcpp.BarcodeFormat.QRCode
GTIN = "8936012345674"
LINKSET = "application/linkset+json"


@pytest.fixture()
def keyring(session, settings):
    return ensure_keyring(session, settings.keys_dir)


@pytest.fixture()
def issued(client, session, admin, keyring):
    """A request of 12 Digital Link stamps for a GTIN product, approved and issued."""
    producer = make_producer(session)
    product = make_product(session, producer.id, gtin=GTIN)
    certificate = make_certificate(session, product.id)
    lot = make_lot(session, product.id, lot_code="PT-2026/07", quantity=100)
    caller = make_caller(session, Role.PRODUCER, producer.id)
    setup = Certified(producer, product, certificate, lot, caller)
    resp = post_request(
        client, setup.caller, {"lot_id": setup.lot.id, "quantity": 12, "form": "digital_link"}
    )
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["form"] == "digital_link"
    rid = resp.get_json()["id"]
    assert approve(client, admin, rid).get_json()["state"] == "issued"
    stamps = session.scalars(select(Stamp).where(Stamp.request_id == rid).order_by(Stamp.seq)).all()
    return setup, rid, stamps


def test_every_digital_link_code_reads_as_gs1_and_verifies(client, session, issued):
    setup, rid, stamps = issued
    resp = client.get(f"/api/v1/stamp-requests/{rid}/labels.pdf", headers=setup.caller.headers)
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    urls = decode_pdf(resp.get_data())
    assert len(urls) == 12 and len(set(urls)) == 12
    lookup = jwks_lookup(client.get("/.well-known/jwks.json").get_json())
    by_serial = {serials.compact(serials.from_db(s.serial)): s for s in stamps}
    for url in urls:
        dl = GS1DigitalLinkURI.parse(url)  # the independent GS1 reading
        values = {e.ai.ai: e.value for e in dl.element_strings}
        assert values["01"] == "0" + GTIN
        assert values["10"] == "PT-2026/07"
        stamp = by_serial[values["21"]]
        parsed = digital_link.parse_url(url)
        token = parsed.token(product_index=setup.product.id, lot_index=setup.lot.id)
        claims = verify(token, public_key_lookup=lookup)
        assert claims.serial == serials.from_db(stamp.serial)
        assert claims.kid.hex() == stamp.kid


def test_opencv_reads_the_digital_link_codes_too(client, issued):
    """A second, unrelated decoder: OpenCV (its ArUco-based QR detector) reads each code, cropped
    where zxing-cpp found it with a white border (OpenCV's multi-code search on a whole sheet
    misses a varying few, as its classic detector does on some byte-mode codes)."""
    setup, rid, _ = issued
    pdf = client.get(f"/api/v1/stamp-requests/{rid}/labels.pdf", headers=setup.caller.headers).get_data()
    page = pdfium.PdfDocument(pdf)[0].render(scale=300 / 72, grayscale=True).to_pil().convert("L")
    image = np.array(page)
    results = zxingcpp.read_barcodes(page, formats=QR)
    assert len(results) == 12
    detector = cv2.QRCodeDetectorAruco()
    for result in results:
        corners = [result.position.top_left, result.position.top_right]
        corners += [result.position.bottom_left, result.position.bottom_right]
        xs, ys = [c.x for c in corners], [c.y for c in corners]
        pad = (max(xs) - min(xs)) // 8
        crop = image[max(0, min(ys) - pad) : max(ys) + pad, max(0, min(xs) - pad) : max(xs) + pad]
        crop = cv2.copyMakeBorder(crop, 40, 40, 40, 40, cv2.BORDER_CONSTANT, value=255)
        text, _, _ = detector.detectAndDecode(crop)
        assert text == result.text
        assert digital_link.parse_url(text).gtin == "0" + GTIN


def test_the_csv_and_zpl_carry_the_digital_link(client, issued):
    setup, rid, _ = issued
    text = client.get(f"/api/v1/stamp-requests/{rid}/labels.csv", headers=setup.caller.headers).get_data(
        as_text=True
    )
    rows = list(csv.DictReader(io.StringIO(text)))
    assert all(urlsplit(r["url"]).path.startswith(f"/01/0{GTIN}/10/PT-2026%2F07/21/") for r in rows)
    zpl = client.get(f"/api/v1/stamp-requests/{rid}/labels.zpl", headers=setup.caller.headers).get_data(
        as_text=True
    )
    assert zpl.count("^FH_^FDMM,B0") == 12  # manual byte mode with its byte count


def test_labels_too_small_for_the_larger_code_are_refused(client, issued):
    setup, rid, _ = issued
    resp = client.get(
        f"/api/v1/stamp-requests/{rid}/labels.pdf",
        query_string={"preset": "a4-square-25mm"},
        headers=setup.caller.headers,
    )
    assert resp.status_code == 422
    assert "25 mm" in resp.get_json()["errors"][0]["message"]


def _stamp_path(client, setup, rid) -> str:
    text = client.get(f"/api/v1/stamp-requests/{rid}/labels.csv", headers=setup.caller.headers).get_data(
        as_text=True
    )
    url = next(csv.DictReader(io.StringIO(text)))["url"]
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def test_the_resolver_serves_the_page_the_json_verdict_and_a_linkset(client, issued):
    setup, rid, _ = issued
    path = _stamp_path(client, setup, rid)
    page = client.get(path)
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert page.headers["Content-Security-Policy"]
    assert 'class="v genuine"' in page.get_data(as_text=True)

    api = client.get(path, headers={"Accept": "application/json"})
    assert api.status_code == 307 and api.headers["Location"].startswith("/api/v1/verify/")
    assert client.get(api.headers["Location"]).get_json()["verdict"] == "genuine"

    linkset = client.get(path, headers={"Accept": "application/linkset+json"})
    assert linkset.mimetype == "application/linkset+json"
    (entry,) = linkset.get_json()["linkset"]
    assert entry["anchor"].startswith(f"https://tem.ocop.local/01/0{GTIN}/10/PT-2026%2F07/21/")
    for link_type in ("pip", "defaultLink", "traceability", "certificationInfo", "recallStatus"):
        assert entry[f"https://gs1.org/voc/{link_type}"][0]["href"].startswith("https://tem.ocop.local/")
    assert client.get(path.replace("?", "?linkType=linkset&")).mimetype == "application/linkset+json"


def test_a_tampered_digital_link_is_not_genuine(client, issued):
    setup, rid, _ = issued
    path = _stamp_path(client, setup, rid)
    head, sig_and_tail = path.split("8030=")
    sig, tail = sig_and_tail.split("&")
    forged = head + "8030=" + ("A" if sig[0] != "A" else "B") + sig[1:] + "&" + tail
    page = client.get(forged)
    assert page.status_code == 200
    assert 'class="v not_genuine"' in page.get_data(as_text=True)


def test_unknown_gtins_and_lots_answer_a_clear_404(client, session, issued):
    assert issued  # the GTIN product exists
    assert client.get("/01/08936012345681", headers={"Accept": LINKSET}).status_code == 404
    resp = client.get("/01/08936012345681", headers={"Accept": "application/json"})
    assert resp.status_code == 404 and "not a product of this OCOP registry" in resp.get_json()["detail"]
    assert client.get("/01/12345", headers={"Accept": LINKSET}).status_code == 404
    assert client.get(f"/01/0{GTIN}/10/NO-SUCH-LOT", headers={"Accept": LINKSET}).status_code == 404
    product = client.get(f"/01/0{GTIN}", headers={"Accept": LINKSET})
    assert product.status_code == 200 and product.get_json()["linkset"][0]["anchor"].endswith(f"/01/0{GTIN}")
    assert client.get(f"/01/0{GTIN}").status_code == 303  # a person is sent to the serial form


def test_the_form_needs_a_gtin_and_a_gs1_lot_code(client, session, issued):
    setup, _, _ = issued
    no_gtin = make_product(session, setup.producer.id)
    make_certificate(session, no_gtin.id)
    lot = make_lot(session, no_gtin.id)
    resp = post_request(client, setup.caller, {"lot_id": lot.id, "quantity": 5, "form": "digital_link"})
    assert resp.status_code == 422 and "GTIN" in resp.get_json()["errors"][0]["message"]
    # Lot codes the registry accepts are all valid AI 10 values; the form still checks.
    assert digital_link.lot_code_fits("PT-2026/07.B") and not digital_link.lot_code_fits("LÔ-01")
    assert not digital_link.lot_code_fits("A" * 21)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda p: p.replace("/01/0", "/01/1"),  # GTIN check digit
        lambda p: p.replace("8030=", "8030=x"),  # signature length
        lambda p: p + "&v=00",  # a repeated parameter
        lambda p: p.replace("&v=01", "&v=02"),  # format version 2 has no Digital Link form yet
        lambda p: p.split("?")[0],  # no signature
    ],
)
def test_malformed_digital_links_are_not_stamps(client, issued, mutate):
    setup, rid, _ = issued
    path = mutate(_stamp_path(client, setup, rid))
    assert client.get(path).status_code == 404


def test_the_status_bundle_resolves_every_printed_link_offline(client, session, issued):
    """Issue 15: LINK_LOTS carries the request's lot, so each printed link verifies offline as
    genuine; a lot of the same product with only opaque stamps is not carried."""
    from datetime import date

    from stamp_service.domain import bundle as fmt
    from stamp_service.services import bundle as svc
    from tests.revocation_support import served_bundle

    setup, rid, _ = issued
    opaque_lot = make_lot(session, setup.product.id, lot_code="PT-2026/08", quantity=10)
    resp = post_request(client, setup.caller, {"lot_id": opaque_lot.id, "quantity": 2})
    assert resp.status_code == 201
    bundle = served_bundle(client, session)
    assert bundle.link_indexes("0" + GTIN, "PT-2026/07") == (setup.product.id, setup.lot.id)
    assert bundle.link_indexes(GTIN, "PT-2026/07") == (setup.product.id, setup.lot.id)  # 13 digits
    assert bundle.link_indexes("0" + GTIN, "PT-2026/08") is None
    text = client.get(f"/api/v1/stamp-requests/{rid}/labels.csv", headers=setup.caller.headers).get_data(
        as_text=True
    )
    for row in csv.DictReader(io.StringIO(text)):
        result = fmt.link_verdict(bundle, digital_link.parse_url(row["url"]), today=date.today())
        assert (result.verdict, result.cause) == (fmt.OfflineVerdict.GENUINE, None)
    links = svc.link_lots(session)
    assert [(lot.lot_code, lot.lot_index) for lot in links] == [("PT-2026/07", setup.lot.id)]
    assert svc.lot_code_budget(links, 1000) == 1000 - len("PT-2026/07") - 1 - svc.LINK_LOT_CHARGE
    assert svc.lot_code_budget(links * 100, 1000) == 0


def test_a_gtin_registered_twice_with_and_without_its_zero_is_left_out_not_a_failed_bundle(
    client, session, issued
):
    """Two products whose GTINs differ only by a leading zero: no link can say which one it
    names, so their lots are left out of LINK_LOTS (confirm online) and the bundle still builds."""
    from stamp_service.domain import bundle as fmt
    from stamp_service.services import bundle as svc
    from tests.revocation_support import served_bundle

    setup, _rid, _ = issued
    twin = make_product(session, setup.producer.id, gtin="0" + GTIN)
    make_certificate(session, twin.id)
    lot = make_lot(session, twin.id, lot_code="PT-2026/09", quantity=10)
    session.execute(
        StampRequest.__table__.insert().values(
            producer_id=setup.producer.id,
            product_id=twin.id,
            lot_id=lot.id,
            certificate_id=setup.certificate.id,
            stars_at_request=4,
            quantity_requested=5,
            form="digital_link",
            state="requested",
        )
    )
    session.commit()
    assert svc.link_lots(session) == []
    bundle = served_bundle(client, session)
    assert bundle.link_indexes("0" + GTIN, "PT-2026/07") is None
    assert isinstance(bundle, fmt.StatusBundle)
