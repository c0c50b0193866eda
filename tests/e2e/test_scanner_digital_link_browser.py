"""The inspector's scanner reads GS1 Digital Link stamps (issue 15), in a real browser.

The stamps are printed by real requests with ``"form": "digital_link"`` (the API, approved and
issued, the link read from the print file's CSV). Offline, the scanner resolves the GTIN and lot
code with the status bundle's LINK_LOTS table, rebuilds the token and verifies it as an opaque
stamp: genuine from the fake camera, not genuine when tampered, revoked when its lot is recalled.
A lot whose first Digital Link request came after the page's bundle is "confirm online" offline,
and online the service (its GS1 resolver) answers for it. Skipped where Chromium or the built
scanner is missing; fails under CI.
"""

from __future__ import annotations

import csv
import io
from typing import Any
from urllib.parse import unquote

import pytest

from stamp_service.domain.access import SYSTEM, Role
from stamp_service.schemas.revocation import RecallIn
from stamp_service.services import revocation
from tests.e2e.axe import serious_violations
from tests.e2e.scanner_harness import (
    LiveService,
    chromium,
    live_service,
    qr_image,
    require_browser,
    write_y4m,
)
from tests.e2e.scanner_harness import open_scanner as _open
from tests.e2e.scanner_harness import shot as _shot
from tests.e2e.scanner_harness import shown_facts as _facts
from tests.factories import make_caller, make_certificate, make_lot, make_producer, make_product
from tests.issuance_helpers import approve, post_request
from tests.stamp_factories import ensure_keyring

VERDICT_TIMEOUT_MS = 30_000
GTIN = "8936012345674"
PRODUCT = "Mật ong hoa nhãn Khoái Châu"


def _setup(session: Any, settings: Any) -> dict[str, Any]:
    ensure_keyring(session, settings.keys_dir)
    producer = make_producer(session)
    product = make_product(session, producer.id, name=PRODUCT, gtin=GTIN)
    make_certificate(session, product.id)
    lots = {
        name: make_lot(session, product.id, lot_code=code, quantity=50).id
        for name, code in (("genuine", "KC-2611/01"), ("recalled", "KC-2611/02"), ("later", "KC-2612/01"))
    }
    return {
        "producer": producer.name,
        "lots": lots,
        "caller": make_caller(session, Role.PRODUCER, producer.id),
        "admin": make_caller(session, Role.ADMIN),
    }


def print_links(live: LiveService, data: dict[str, Any], lot: str, quantity: int = 3) -> list[str]:
    """A real Digital Link request for ``lot``: posted, approved (issued), read from its CSV."""
    client = live.app.test_client()
    body = {"lot_id": data["lots"][lot], "quantity": quantity, "form": "digital_link"}
    resp = post_request(client, data["caller"], body)
    assert resp.status_code == 201, resp.get_json()
    rid = resp.get_json()["id"]
    assert approve(client, data["admin"], rid).get_json()["state"] == "issued"
    text = client.get(f"/api/v1/stamp-requests/{rid}/labels.csv", headers=data["caller"].headers).get_data(
        as_text=True
    )
    return [row["url"] for row in csv.DictReader(io.StringIO(text))]


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Any:
    require_browser()
    tmp = tmp_path_factory.mktemp("scanner-dl")
    with live_service(tmp, _setup) as (live, data):
        data["genuine"] = print_links(live, data, "genuine")
        data["recalled"] = print_links(live, data, "recalled")
        with live.session() as session:
            revocation.recall_lot(
                session, SYSTEM, data["lots"]["recalled"], RecallIn(reason="Dư lượng kháng sinh")
            )
        assert all(
            url.startswith(f"HTTPS://TEM.OCOP.LOCAL/01/0{GTIN}/10/KC-2611%2F0") for url in data["genuine"]
        )
        video = write_y4m(tmp / "digital-link.y4m", qr_image(data["genuine"][0]))
        yield live, data, video


def _check(page: Any, text: str) -> dict[str, Any]:
    return page.evaluate(
        "async t => { const r = await window.ocopScanner.handleText(t, 'test');"
        " return {...r, serial: r.serial === undefined ? null : String(r.serial)} }",
        text,
    )


def _tampered(url: str) -> str:
    head, rest = url.split("8030=")
    return f"{head}8030={'B' if rest[0] == 'A' else 'A'}{rest[1:]}"


def test_offline_a_digital_link_stamp_is_genuine_tampered_or_revoked(service: Any) -> None:
    live, data, video = service
    with chromium(video) as browser:
        context, page = _open(browser, live)
        assert page.get_attribute("#bundle-age", "data-bundle-seq")
        context.set_offline(True)
        seen = len(live.requests)
        page.click("#camera")
        page.wait_for_selector("#verdict[data-verdict]:not([data-verdict=''])", timeout=VERDICT_TIMEOUT_MS)
        first = page.evaluate(
            "() => { const r = window.ocopScanner.last; return [r.verdict, r.cause, r.code] }"
        )
        assert first[0] == "genuine", first
        result = page.evaluate(
            "() => ({...window.ocopScanner.last, serial: String(window.ocopScanner.last.serial)})"
        )
        assert result["source"] == "camera" and result["gtin"] == "0" + GTIN
        assert result["linkPath"].startswith(f"/01/0{GTIN}/10/KC-2611%2F01/21/")
        facts = _facts(page)
        assert facts["Sản phẩm"] == PRODUCT and facts["Cơ sở sản xuất"] == data["producer"], facts
        assert facts["Lô"] == "KC-2611/01" and facts["Mã GTIN"] == "0" + GTIN, facts
        assert facts["Sê-ri"].replace("-", "") == result["linkPath"].split("/21/")[1].split("?")[0]
        assert page.inner_text("#verdict") == "Tem thật"
        assert "ngoại tuyến" in page.inner_text("#cause")  # checked offline against the list of <date>
        page.evaluate("() => window.ocopScanner.stopCamera()")
        page.screenshot(path=str(_shot("offline-digital-link-vi")), full_page=True)
        scroll, client = page.evaluate(
            "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        assert scroll <= client == 390, (scroll, client)
        assert serious_violations(page) == []

        tampered = _check(page, _tampered(data["genuine"][1]))
        assert (tampered["verdict"], tampered["cause"]) == ("not_genuine", "bad_signature")
        assert page.inner_text("#verdict") == "Không phải tem thật"
        # The lot code of another lot of the product: it resolves, and the signature refuses it.
        moved = _check(page, data["genuine"][1].replace("/10/KC-2611%2F01/", "/10/KC-2611%2F02/"))
        assert (moved["verdict"], moved["cause"]) == ("not_genuine", "bad_signature")
        revoked = _check(page, data["recalled"][0])
        assert (revoked["verdict"], revoked["cause"]) == ("revoked", "lot_recalled")
        assert page.inner_text("#cause") == "Lô hàng đã bị thu hồi" and _facts(page)["Lô"] == "KC-2611/02"
        lower = _check(page, data["genuine"][2].replace("HTTPS://TEM.OCOP.LOCAL", "https://tem.ocop.local"))
        assert lower["verdict"] == "genuine"
        assert live.requests[seen:] == [], live.requests[seen:]  # nothing reached the service offline
        context.close()


def test_a_lot_newer_than_the_bundle_is_confirm_online_and_the_service_answers_online(service: Any) -> None:
    live, data, _video = service
    with chromium() as browser:
        context, page = _open(browser, live)
        later = print_links(live, data, "later", quantity=2)  # printed after the page got its bundle

        known = _check(page, data["genuine"][0])
        assert known["verdict"] == "genuine"
        page.wait_for_selector("#online-check[data-online='genuine']")  # the same stamp online
        assert page.inner_text("#online-check") and "differs" not in (
            page.get_attribute("#online-check", "class") or ""
        )

        unknown = _check(page, later[0])
        assert (unknown["verdict"], unknown["cause"], unknown["token"]) == (
            "confirm_online",
            "link_unknown",
            None,
        )
        # Online, the scanner asks the service about the link itself (its GS1 resolver answers).
        page.wait_for_selector("#online-check[data-online='genuine']")
        page.wait_for_selector("#verdict[data-verdict='genuine']")
        assert _facts(page)["Sản phẩm"] == PRODUCT and _facts(page)["Lô"] == "KC-2612/01"
        asked = unquote(later[0].split("TEM.OCOP.LOCAL")[1].split("?")[0])  # PATH_INFO is decoded
        assert ("GET", asked) in live.requests

        context.set_offline(True)
        offline = _check(page, later[1])
        assert (offline["verdict"], offline["cause"]) == ("confirm_online", "link_unknown")
        assert page.inner_text("#verdict") == "Cần xác nhận trực tuyến"
        assert "chưa có trong dữ liệu trên máy" in page.inner_text("#cause")
        assert "Sản phẩm" not in _facts(page)  # nothing unverified is named
        page.screenshot(path=str(_shot("offline-digital-link-unknown-lot-vi")), full_page=True)
        context.close()
