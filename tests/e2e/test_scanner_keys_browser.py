"""Keys and offline scanners in a real browser (issue 14): the rotation drill and a stale bundle.

Drill: a key is published (pending) while the scanner is online, so its bundle lists it; the
key is rotated in (pending -> active, after its publish period); stamps are issued with it; the
scanner, offline with the bundle it had, says genuine (before pending keys it said "not
genuine" until its next bundle). Then the refreshed bundle lists the key as active. A bundle
past its own validity makes every verdict "confirm online", and the page says the data is out
of date. Skipped where Chromium or the built scanner is missing; fails under CI.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from stamp_service.crypto.keyring import KeyRing
from stamp_service.domain.access import SYSTEM
from stamp_service.domain.stamp_format import stamp_url
from stamp_service.services import keys
from stamp_service.storage.models.keys import SigningKey
from tests.e2e.scanner_harness import chromium, live_service, require_browser
from tests.e2e.scanner_harness import open_scanner as _open
from tests.e2e.scanner_harness import shot as _shot
from tests.e2e.scanner_harness import shown_facts as _facts
from tests.stamp_factories import BASE_URL, ensure_keyring, make_issued_batch, make_request

PRODUCT = "Nước mắm Cửa Khẩu 35 độ đạm"


def _setup(session: Any, settings: Any) -> dict[str, Any]:
    ring = ensure_keyring(session, settings.keys_dir)
    batch = make_issued_batch(session, ring, n=2, product_overrides={"name": PRODUCT})
    pending = keys.publish(session, SYSTEM, keyring=ring, note="next year's key")
    return {
        "keys_dir": settings.keys_dir,
        "ids": (batch.producer.id, batch.product.id, batch.certificate.id, batch.lot.id),
        "urls": batch.urls,
        "old_kid": batch.stamps[0].kid,
        "pending_kid": pending.kid,
    }


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Any:
    require_browser()
    with live_service(tmp_path_factory.mktemp("scanner-keys"), _setup) as (live, data):
        yield live, data


def _issue_more(session: Any, ring: KeyRing, ids: tuple[int, int, int, int]) -> list[str]:
    """Two more stamps of the first product's lot (signed by whichever key is active now)."""
    from stamp_service.services import minting
    from stamp_service.storage.models.registry import Certificate, Lot, Producer, Product
    from stamp_service.storage.models.stamps import Stamp

    producer, product = session.get(Producer, ids[0]), session.get(Product, ids[1])
    certificate, lot = session.get(Certificate, ids[2]), session.get(Lot, ids[3])
    request = make_request(
        session, producer=producer, product=product, certificate=certificate, lot=lot, quantity=2
    )
    minting.issue_all(session, request_id=request.id, keyring=ring)
    stamps = session.scalars(select(Stamp).where(Stamp.request_id == request.id).order_by(Stamp.seq)).all()
    assert {s.kid for s in stamps} == {keys.active_key(session, lock=False).kid}
    return [stamp_url(BASE_URL, minting.token_for(s)) for s in stamps]


def _key_states(page: Any) -> dict[str, str]:
    return page.evaluate(
        "() => Object.fromEntries([...window.ocopScanner.trust.verifier.bundle.keys]"
        ".map(([kid, k]) => [kid, k.state]))"
    )


def _seq(page: Any) -> int:
    return int(page.get_attribute("#bundle-age", "data-bundle-seq"))


def test_rotation_drill_publish_rotate_refresh_issue_verify_offline(service: Any) -> None:
    live, data = service
    ring = KeyRing(data["keys_dir"])
    with chromium() as browser:
        context, page = _open(browser, live)
        states = _key_states(page)
        assert states[data["pending_kid"]] == "pending" and states[data["old_kid"]] == "active", states
        first_seq = _seq(page)

        with live.session() as session:  # the publish period has passed: rotate (pending -> active)
            row = session.get(SigningKey, data["pending_kid"])
            row.created_at = datetime.now(UTC) - keys.DEFAULT_PUBLISH_PERIOD - timedelta(minutes=1)
            session.commit()
            assert keys.rotate(session, SYSTEM, keyring=ring).kid == data["pending_kid"]
            new_urls = _issue_more(session, ring, data["ids"])
            newer = make_issued_batch(session, ring, n=1, product_overrides={"name": "Mắm tôm Hậu Lộc"})

        # Offline with the bundle it held before the rotation: the new key's stamp is genuine.
        context.set_offline(True)
        early = page.evaluate("url => window.ocopScanner.handleText(url, 'test')", new_urls[0])
        assert (early["verdict"], early["kid"], early["product"]) == ("genuine", data["pending_kid"], PRODUCT)
        # A product newer than the bundle: confirm online, and its name is not in the bundle.
        newest = page.evaluate("url => window.ocopScanner.handleText(url, 'test')", newer.urls[0])
        assert (newest["verdict"], newest["cause"]) == ("confirm_online", "product_unknown")
        assert newest["product"] is None and "Chưa có tên" in _facts(page)["Sản phẩm"]
        old = page.evaluate("url => window.ocopScanner.handleText(url, 'test')", data["urls"][0])
        assert old["verdict"] == "genuine" and old["product"] == PRODUCT

        # Refresh the scanner's bundle online, then verify offline again.
        context.set_offline(False)
        page.evaluate("() => window.ocopScanner.refreshTrust()")
        assert _seq(page) > first_seq
        states = _key_states(page)
        assert states[data["pending_kid"]] == "active" and states[data["old_kid"]] == "retired", states
        context.set_offline(True)
        again = page.evaluate("url => window.ocopScanner.handleText(url, 'test')", new_urls[1])
        assert (again["verdict"], again["product"]) == ("genuine", PRODUCT), again
        assert _facts(page)["Sản phẩm"] == PRODUCT
        newest = page.evaluate("url => window.ocopScanner.handleText(url, 'test')", newer.urls[0])
        assert (newest["verdict"], newest["product"]) == ("genuine", "Mắm tôm Hậu Lộc"), newest
        page.screenshot(path=str(_shot("rotation-drill-offline-vi")), full_page=True)
        context.close()


def test_a_bundle_past_its_validity_says_confirm_online_and_shows_it(service: Any) -> None:
    live, data = service
    with chromium() as browser:
        context, page = _open(browser, live)
        valid_until = int(page.get_attribute("#bundle-age", "data-bundle-valid-until"))
        assert valid_until > 0
        context.set_offline(True)
        page.clock.set_system_time(datetime.fromtimestamp(valid_until + 3600, UTC))
        result = page.evaluate("url => window.ocopScanner.handleText(url, 'test')", data["urls"][1])
        assert (result["verdict"], result["cause"]) == ("confirm_online", "bundle_expired"), result
        assert page.inner_text("#verdict") == "Cần xác nhận trực tuyến"
        assert "quá hạn dùng" in page.inner_text("#cause")
        assert result["product"] == PRODUCT  # the names still help the inspector
        page.click("#lang")
        page.click("#lang")  # re-renders the status line
        status = page.inner_text("#bundle-age")
        assert "hết hạn dùng" in status and page.get_attribute("#bundle-age", "data-expired") == "1", status
        page.screenshot(path=str(_shot("bundle-expired-vi")), full_page=True)
        context.close()


def test_an_online_verdict_that_differs_is_explained(service: Any) -> None:
    """Issue 12: "Khác với kết quả ngoại tuyến!" read like a fault; the page now says what differs."""
    from stamp_service.schemas.revocation import RecallIn
    from stamp_service.services import revocation

    live, data = service
    with chromium() as browser:
        context, page = _open(browser, live)  # its bundle predates the recall below
        with live.session() as session:
            revocation.recall_lot(session, SYSTEM, data["ids"][3], RecallIn(reason="Histamin vượt ngưỡng"))
        result = page.evaluate("url => window.ocopScanner.handleText(url, 'test')", data["urls"][0])
        assert result["verdict"] == "genuine"  # offline, from the older bundle
        page.wait_for_selector("#online-check.differs", timeout=30_000)
        text = page.inner_text("#online-check")
        assert (
            text.startswith("Máy chủ báo «Đã thu hồi»") and "khác kết quả ngoại tuyến «Tem thật»" in text
        ), text
        assert "máy chủ có thông tin mới hơn" in text and "hãy theo kết quả trực tuyến" in text, text
        assert "!" not in text
        # The live check is the reference: the headline follows it, the offline verdict is explained.
        page.wait_for_selector("#verdict[data-verdict='revoked'][data-offline='genuine']")
        assert page.inner_text("#verdict") == "Đã thu hồi"
        assert page.get_attribute("#results li", "data-verdict") == "revoked"
        page.screenshot(path=str(_shot("online-differs-vi")), full_page=True)
        context.close()
