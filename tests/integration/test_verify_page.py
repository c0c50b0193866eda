"""The public verification page: every verdict in Vietnamese and English, weight, headers, forms, caching."""

from __future__ import annotations

import gzip
import re

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from stamp_service import create_app
from stamp_service.domain import serials
from stamp_service.storage.models.scans import ConsumerReport
from stamp_service.storage.models.stamps import Stamp
from tests import verify_support as vs
from tests.stamp_factories import ensure_keyring, make_issued_batch

TITLES = {
    "genuine": ("Tem OCOP chính hãng", "Genuine OCOP stamp"),
    "suspicious": ("Mã thật nhưng có dấu hiệu nghi vấn", "Genuine code, but suspicious"),
    "expired": ("Giấy chứng nhận đã hết hạn", "Certificate expired"),
    "not_genuine": ("Không phải tem thật", "Not a genuine stamp"),
}


@pytest.fixture()
def settings(settings):
    return vs.verify_settings(settings, clone_max_scans=5)


@pytest.fixture()
def keyring(session, settings):
    return ensure_keyring(session, settings.keys_dir)


@pytest.fixture()
def batch(session, keyring):
    b = make_issued_batch(session, keyring, n=3, with_pin=True)
    vs.add_events(session, b, 4)
    return b


def verdict_of(html: str) -> str:
    found = re.search(r'<section class="v (\w+)" role="status"', html)
    assert found, html[:500]
    return found.group(1)


def page(client, path, lang=None, **kw):
    headers = {"Accept-Language": "en-US,en;q=0.9"} if lang == "en" else {}
    r = client.get(path, headers=headers, **kw)
    assert r.status_code == 200, r.get_data(as_text=True)[:500]
    return r.get_data(as_text=True)


def test_genuine_page_shows_every_circular_item_in_vietnamese(client, batch):
    html = page(client, vs.path_of(batch.urls[0]))
    assert verdict_of(html) == "genuine" and TITLES["genuine"][0] in html
    assert '<html lang="vi">' in html and 'aria-live="assertive"' in html
    for item in (
        batch.product.name,
        batch.producer.name,
        "Xã Phúc Trạch",
        "Tỉnh Hà Tĩnh",
        "Hãy đối chiếu sản phẩm trên tay với thông tin bên dưới.",  # the action line
        "Vùng nguyên liệu",
        "Mã số đăng ký kinh doanh",
        batch.producer.registration_number,
        f'href="tel:{batch.producer.phone.replace(" ", "")}"',
        "Chưa có ảnh sản phẩm",  # the placeholder: no photo uploaded
        batch.lot.lot_code,
        "01/10/2025",
        "01/12/2025",
        "TCCS 01:2020/HTXPT",
        batch.certificate.decision_number,
        "UBND tỉnh Hà Tĩnh",
        "15/09/2028",
        "Thu hoạch / nguyên liệu",  # fresh produce (group 1.1.1) is harvested
        "Kiểm nghiệm",
        "00" * 32,  # the document's whole SHA-256, under its name
        "Phản ánh nghi ngờ hàng giả",
        serials.format_serial(serials.from_db(batch.stamps[0].serial)),
        'aria-label="4 sao"',
        "Đã được kiểm tra 1 lần",
        "Mã PIN cào",
    ):
        assert item in html, item
    assert html.count(batch.producer.address_snapshot["text"]) == 1  # the address once
    assert "Thu hái" not in html and "<details open" not in html  # a genuine page asks for no report


def test_english_by_header_and_by_switch_link_that_keeps_the_token(client, batch):
    path = vs.path_of(batch.urls[0])
    html = page(client, path, lang="en")
    assert '<html lang="en">' in html and "Genuine OCOP stamp" in html and "Harvest / raw materials" in html
    link = re.search(r'<a href="([^"]+)" lang="vi"', html).group(1)
    assert link.startswith(path) and link.endswith("lang=vi")
    vi = page(client, path)
    link = re.search(r'<a href="([^"]+)" lang="en"', vi).group(1)
    assert page(client, link).count("Genuine OCOP stamp") >= 1


def test_any_case_and_trailing_slash(client, batch):
    path = vs.path_of(batch.urls[0])
    for variant in (path.lower(), path + "/", "/v/" + path[3:], "/V/" + path[3:].lower() + "/"):
        assert verdict_of(page(client, variant)) == "genuine", variant


REVOKED = {  # cause: (kind, Vietnamese title, English title, Vietnamese action, details)
    "withdrawn": (
        "stars_withdrawn",
        "Không còn được công nhận OCOP",
        "No longer OCOP-certified",
        "có thể vẫn là hàng thật",
        ("thu hồi sao OCOP ngày 18/11/2026", "3763/QĐ-UBND"),
    ),
    "recalled": (
        "recalled",
        "Lô hàng bị thu hồi: không sử dụng",
        "Lot recalled: do not use",
        "Không sử dụng sản phẩm này.",
        ("Lô sản xuất này đã bị thu hồi ngày 20/11/2026", "12/QĐ-CCATTP"),
    ),
    "voided": (
        "voided",
        "Tem đã bị hủy",
        "Stamp cancelled",
        "Tem này không có giá trị trên hàng hóa",
        ("Tem này đã bị hủy ngày", "05/BB"),
    ),
    "below_three": (
        "stars_below_three",
        "Hạng sao bị hạ xuống dưới 3 sao",
        "Rating reduced below 3 stars",
        "có thể vẫn là hàng thật",
        ("dưới 3 sao", "88/QĐ-UBND"),
    ),
}


@pytest.mark.parametrize("cause", vs.REVOKE_CAUSES)
def test_revoked_for_each_cause_says_why_and_what_to_do_in_both_languages(client, session, batch, cause):
    path = vs.path_of(batch.urls[0])
    assert verdict_of(page(client, path)) == "genuine"  # cached now: the revocation must still show at once
    vs.revoke(session, batch, cause)
    vi, en = page(client, path), page(client, path, lang="en")
    kind, title_vi, title_en, action_vi, details = REVOKED[cause]
    assert verdict_of(vi) == verdict_of(en) == "revoked"
    assert f'data-k="{kind}"' in vi and title_vi in vi and title_en in en and action_vi in vi
    assert "Đã bị thu hồi<" not in vi  # the old title shared by four causes
    for text in details:
        assert text in vi, text
    assert "<details open>" in vi  # the report form is offered open


def test_recalled_lot_offers_the_recalled_goods_report(client, session, batch):
    vs.recall(session, batch)
    html = page(client, vs.path_of(batch.urls[0]))
    assert '<option value="recalled_sold" selected>Hàng bị thu hồi vẫn bán</option>' in html
    fields = _form(html, "/verify/report")
    r = client.post("/verify/report", data={**fields, "problem": "recalled_sold", "shop_name": "Chợ Hà Tĩnh"})
    assert r.status_code == 200
    report = session.query(ConsumerReport).one()
    assert report.problem == "recalled_sold" and report.verdict == "revoked"


def test_stamp_voided_as_copied_shows_no_product_sheet(client, session, batch):
    vs.void(session, batch, seq=1, reason_code="copied")
    vi = page(client, vs.path_of(batch.urls[0]))
    en = page(client, vs.path_of(batch.urls[0]), lang="en")
    assert verdict_of(vi) == "revoked" and 'data-k="voided_copied"' in vi
    assert "Tem đã bị hủy do bị sao chép" in vi and "Stamp cancelled: it was copied" in en
    assert "đừng mua" in vi and "Không hiển thị thông tin sản phẩm" in vi
    assert batch.product.name not in vi and batch.lot.lot_code not in vi and "<h2>Sản phẩm</h2>" not in vi
    assert '<option value="fake_stamp" selected>' in vi and "<details open>" in vi
    other = page(client, vs.path_of(batch.urls[1]))  # a stamp of the same lot that was not copied
    assert verdict_of(other) == "genuine" and batch.product.name in other


def test_stars_changed_since_printing_is_named_in_the_verdict_box(client, session, batch):
    vs.reduce_stars(session, batch, 3)
    vi = page(client, vs.path_of(batch.urls[0]))
    en = page(client, vs.path_of(batch.urls[0]), lang="en")
    box = re.search(r'<section class="v genuine".*?</section>', vi, re.S).group(0)
    assert 'data-k="stars_changed"' in box and "hạng sao đã thay đổi" in box
    assert "Sản phẩm hiện đạt 3 sao; tem được in khi sản phẩm đạt 4 sao." in box
    assert "the stamp was printed with 4 stars" in en


def test_quantity_grouped_the_vietnamese_way(client, session, keyring):
    b = make_issued_batch(session, keyring, n=1, lot_overrides={"quantity": 2000})
    assert "2.000 quả" in page(client, vs.path_of(b.urls[0]))
    assert "2,000 quả" in page(client, vs.path_of(b.urls[0]), lang="en")


def test_sourcing_stage_is_worded_by_product_group(client, session, keyring):
    from stamp_service.web.i18n import translations
    from stamp_service.web.public import sourcing_label

    vi = translations("vi")
    assert sourcing_label(vi, "1.4.1") == "Đánh bắt / nuôi trồng"  # fish sauce
    assert sourcing_label(vi, "1.3.6") == "Khai thác mật"
    assert sourcing_label(vi, "4.1") == "Nguyên liệu"  # crafts are not picked
    b = make_issued_batch(
        session, keyring, n=1, product_overrides={"group_code": "4.1", "subgroup_code": None}
    )
    vs.add_events(session, b, 1)
    html = page(client, vs.path_of(b.urls[0]))
    assert "<strong>Nguyên liệu</strong>" in html and "Thu hoạch" not in html


def test_reduction_shows_stars_at_issue_and_date_of_change(client, session, batch):
    vs.reduce_below_three(session, batch)
    html = page(client, vs.path_of(batch.urls[0]), lang="en")
    assert (
        'aria-label="2 stars"' in html and 'aria-label="4 stars"' in html and "changed on 1 Oct 2026" in html
    )


def test_expired_certificate(client, session, batch):
    vs.expire(session, batch)
    vi = page(client, vs.path_of(batch.urls[0]))
    en = page(client, vs.path_of(batch.urls[0]), lang="en")
    assert verdict_of(vi) == "expired" and "hết hạn ngày 01/01/2026" in vi
    assert "expired on 1 Jan 2026" in en


def test_compromised_key_warns_on_issued_stamps(client, session, keyring, batch):
    vs.compromise(session, keyring, batch)
    html = page(client, vs.path_of(batch.urls[0]), lang="en")
    assert verdict_of(html) == "genuine" and "reported compromised" in html


def test_not_genuine_codes_answer_alike(client, session, keyring, batch):
    bodies = {}
    for name, token in vs.not_genuine_tokens(session, keyring, batch.tokens[0]).items():
        r = client.get(f"/V/{token}")
        html = r.get_data(as_text=True)
        assert r.status_code == 200 and verdict_of(html) == "not_genuine", name
        assert TITLES["not_genuine"][0] in html
        assert "<h2>Sản phẩm</h2>" not in html  # no facts for codes we did not issue
        bodies[name] = re.sub(r'name="form_token" value="[^"]+"', "", html).replace(token.upper(), "T")
    assert len(set(bodies.values())) == 1  # unknown serial, bad signature, malformed: the same page
    assert "Not a genuine stamp" in page(client, "/V/NOTATOKEN42", lang="en")


def test_suspicious_after_many_scans_from_many_clients(client, batch):
    path = vs.path_of(batch.urls[1])
    for i in range(4):
        assert verdict_of(page(client, path, environ_base={"REMOTE_ADDR": f"10.0.0.{i}"})) == "genuine"
    html = page(client, path, lang="en", environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert verdict_of(html) == "suspicious" and "verified 5 times" in html and "scratch PIN" in html
    vi = page(client, path, environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert TITLES["suspicious"][0] in vi


def test_repeat_scans_by_one_client_count_once(client, batch):
    path = vs.path_of(batch.urls[2])
    for _ in range(8):
        html = page(client, path)
    assert verdict_of(html) == "genuine" and "Đã được kiểm tra 1 lần" in html


def test_security_headers_and_csp_hash_matches_the_inline_style(client, batch):
    import base64
    import hashlib

    r = client.get(vs.path_of(batch.urls[0]))
    csp = r.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp and "script-src" not in csp
    assert "unsafe-inline" not in csp
    style = re.search(r"<style>(.*?)</style>", r.get_data(as_text=True), re.S).group(1)
    assert base64.b64encode(hashlib.sha256(style.encode()).digest()).decode() in csp
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Referrer-Policy"] == "no-referrer"
    assert r.headers["Cache-Control"] == "no-store"
    assert "<script" not in r.get_data(as_text=True)


def test_weight_under_30_kb_gzip_and_no_external_urls(client, session, batch):
    vs.add_events(session, batch, 14)  # a long origin timeline
    r = client.get(vs.path_of(batch.urls[0]), headers={"Accept-Encoding": "gzip"})
    assert r.headers["Content-Encoding"] == "gzip"
    assert len(r.data) < 30 * 1024
    html = gzip.decompress(r.data).decode()
    assert len(html.encode()) < 30 * 1024  # even uncompressed
    for attr, value in re.findall(r'\b(src|href|action)="([^"]*)"', html):
        assert value.startswith(("/", "?", "tel:")) and not value.startswith("//"), (attr, value)
    assert "@import" not in html and "url(" not in html


def test_typed_serial_form_and_typo_message(client, batch):
    html = page(client, "/verify")
    assert 'name="serial"' in html and 'role="status"' not in html
    good = serials.format_serial(serials.from_db(batch.stamps[0].serial))
    assert verdict_of(page(client, f"/verify?serial={good.lower()}")) == "genuine"
    r = client.post("/verify", data={"serial": good.replace("-", " ")})
    assert verdict_of(r.get_data(as_text=True)) == "genuine"
    typo = good[:-1] + ("0" if good[-1] != "0" else "1")
    html = page(client, f"/verify?serial={typo}")
    assert "có một ký tự bị sai" in html and 'role="status"' not in html
    unknown = serials.format_serial(serials.generate())
    html = page(client, f"/verify?serial={unknown}")
    assert verdict_of(html) == "not_genuine"
    assert "Hãy so từng ký tự với tem" in html  # a typo that passes the check asks to compare first
    assert "Hãy so từng ký tự với tem" not in page(client, f"/verify?serial={good}")


def test_the_typed_serial_says_what_is_wrong_with_it(client, batch):
    """A short serial was told "one character is wrong" and an empty form got no word at all."""
    good = serials.format_serial(serials.from_db(batch.stamps[0].serial))
    short = good[:9]  # "XXXX-XXXX": 8 of 14 characters
    html = page(client, f"/verify?serial={short}")
    assert "Số sê-ri có 14 chữ và số; bạn đã nhập 8." in html and 'role="status"' not in html
    html = page(client, f"/verify?serial={good}-7", "en")
    assert "A serial has 14 letters and digits; you typed 15." in html
    html = page(client, "/verify?serial=" + good[:-1] + "U")  # U is never printed (read as V?)
    assert "có một ký tự không bao giờ được in trên tem" in html
    r = client.post("/verify", data={"serial": "  "})
    assert r.status_code == 200 and "Hãy nhập số sê-ri in dưới mã QR." in r.get_data(as_text=True)
    assert "Hãy nhập số sê-ri" not in page(client, "/verify")  # the plain form is not an error


def test_landing_page_in_vietnamese_with_the_serial_form_and_an_english_switch(client, batch):
    r = client.get("/")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and '<html lang="vi">' in html
    assert "Tem OCOP là gì?" in html and "Cách kiểm tra tem" in html
    assert 'action="/verify"' in html and 'name="serial"' in html
    assert re.search(r'<a href="/\?lang=en" lang="en"', html)
    assert "default-src 'none'" in r.headers["Content-Security-Policy"]
    en = page(client, "/?lang=en")
    assert '<html lang="en">' in en and "What is an OCOP stamp?" in en
    good = serials.format_serial(serials.from_db(batch.stamps[0].serial))
    assert verdict_of(page(client, f"/verify?serial={good}")) == "genuine"  # what the landing form sends


def test_not_found_is_a_vietnamese_page_for_people_and_a_problem_for_the_api(client, keyring):
    r = client.get("/khong-co-trang-nay")
    html = r.get_data(as_text=True)
    assert r.status_code == 404 and r.mimetype == "text/html" and '<html lang="vi">' in html
    assert "Không tìm thấy trang" in html and 'href="/?lang=vi"' in html and 'href="/verify?lang=vi"' in html
    assert "default-src 'none'" in r.headers["Content-Security-Policy"]
    en = client.get("/nope?lang=en").get_data(as_text=True)
    assert "Page not found" in en
    api = client.get("/api/v1/nothing-here")
    assert api.status_code == 404 and api.mimetype == "application/problem+json"
    assert api.get_json()["type"] == "/problems/not-found"


def test_favicon_is_a_small_local_svg(client, keyring):
    for path in ("/favicon.svg", "/favicon.ico"):
        r = client.get(path)
        assert r.status_code == 200 and r.mimetype == "image/svg+xml" and len(r.data) < 1024
        assert r.data.startswith(b"<svg") and "max-age" in r.headers["Cache-Control"]
    assert 'rel="icon" href="/favicon.svg"' in page(client, "/")


def test_verify_page_heading_says_where_the_serial_is_printed(client, keyring):
    html = page(client, "/verify")
    assert "<h1>Kiểm tra tem OCOP</h1>" in html
    assert "in cạnh mã QR" in html and "bên phải mã" in html and "ngay dưới mã" in html


def _form(html: str, action: str) -> dict[str, str]:
    form = re.search(rf'<form method="post" action="{action}">(.*?)</form>', html, re.S).group(1)
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form))


def test_scratch_pin_first_then_already_used_then_wrong(client, session, keyring, batch):
    from stamp_service.crypto.pins import derive_pin

    html = page(client, vs.path_of(batch.urls[0]), lang="en")
    fields = _form(html, "/verify/pin")
    serial = serials.from_db(batch.stamps[0].serial)
    pin = derive_pin(keyring, serial)
    first = client.post("/verify/pin", data={**fields, "pin": pin}).get_data(as_text=True)
    assert "First verification of this PIN" in first
    session.expire_all()
    assert session.get(Stamp, batch.stamps[0].serial).pin_first_used_at is not None
    assert verdict_of(first) == "genuine"
    again = client.post("/verify/pin", data={**fields, "pin": pin[:4] + " " + pin[4:]}).get_data(as_text=True)
    # The verdict itself turns suspicious and says why (no green box above a pink note).
    assert verdict_of(again) == "suspicious" and 'data-k="suspicious_pin"' in again
    box = re.search(r'<section class="v suspicious".*?</section>', again, re.S).group(0)
    assert "PIN already used: possible copy" in box and "This PIN was already used on" in box
    assert 'class="msg' not in again and "<details open>" in again
    vi = client.post("/verify/pin", data={**fields, "lang": "vi", "pin": pin}).get_data(as_text=True)
    assert "Mã PIN đã được dùng: có thể là hàng sao chép" in vi
    wrong = client.post("/verify/pin", data={**fields, "pin": "00000000" if pin != "00000000" else "1" * 8})
    assert "Wrong PIN" in wrong.get_data(as_text=True)


def test_pin_attempts_are_rate_limited_per_stamp(client, batch):
    fields = _form(page(client, vs.path_of(batch.urls[0])), "/verify/pin")
    codes = [
        client.post(
            "/verify/pin", data={**fields, "pin": "12345678"}, environ_base={"REMOTE_ADDR": f"10.1.0.{i}"}
        ).status_code
        for i in range(12)
    ]
    assert codes[:10] == [200] * 10 and codes[10:] == [429, 429]
    r = client.post("/verify/pin", data={**fields, "pin": "12345678"})
    assert int(r.headers["Retry-After"]) > 0 and "Quá nhiều yêu cầu" in r.get_data(as_text=True)


def test_pin_form_without_valid_token_changes_nothing(client, session, keyring, batch):
    from stamp_service.crypto.pins import derive_pin

    fields = _form(page(client, vs.path_of(batch.urls[0])), "/verify/pin")
    pin = derive_pin(keyring, serials.from_db(batch.stamps[0].serial))
    for bad in ({**fields, "form_token": "1.abc"}, {k: v for k, v in fields.items() if k != "form_token"}):
        r = client.post("/verify/pin", data={**bad, "pin": pin})
        assert r.status_code == 400 and "hết hạn" in r.get_data(as_text=True)
    r = client.post("/verify/pin", data={**fields, "pin": pin}, headers={"Origin": "https://evil.example"})
    assert r.status_code == 400
    session.expire_all()
    assert session.get(Stamp, batch.stamps[0].serial).pin_first_used_at is None


def test_report_form_stores_a_report(client, session, batch):
    html = page(client, vs.path_of(batch.urls[0]))
    fields = _form(html, "/verify/report")
    r = client.post(
        "/verify/report",
        data={
            **fields,
            "problem": "fake_goods",
            "shop_name": "Tạp hóa Minh",
            "place": "Chợ Hà Tĩnh",
            "details": "Vỏ hộp khác",
        },
    )
    assert r.status_code == 200 and "Phản ánh đã được gửi" in r.get_data(as_text=True)
    report = session.query(ConsumerReport).one()
    assert report.serial == batch.stamps[0].serial and report.shop_name == "Tạp hóa Minh"
    assert report.verdict == "genuine" and len(report.client_hash) == 16


def test_report_bad_input_stores_nothing(client, session, batch):
    fields = _form(page(client, vs.path_of(batch.urls[0])), "/verify/report")
    for bad in (
        {"problem": "nonsense"},
        {"problem": "other", "shop_name": "x" * 201},
        {"problem": "other", "province_code": "99999"},
    ):
        r = client.post("/verify/report", data={**fields, **bad})
        assert r.status_code == 400
    r = client.post("/verify/report", data={"problem": "other"})  # no form token
    assert r.status_code == 400
    assert session.query(ConsumerReport).count() == 0


def test_reports_from_a_not_genuine_page_and_rate_limit(client, session, keyring):
    html = page(client, "/V/NOTATOKEN42")
    fields = _form(html, "/verify/report")
    codes = [
        client.post("/verify/report", data={**fields, "problem": "fake_stamp"}).status_code for _ in range(6)
    ]
    assert codes == [200] * 5 + [429]
    assert session.query(ConsumerReport).filter_by(verdict="not_genuine").count() == 5


def test_page_rate_limit_fits_a_fair_behind_one_carrier_address():
    from stamp_service.services.verify_config import VerifyConfig

    c = VerifyConfig()
    assert c.rate_page_per_minute >= 1000  # hundreds of phones behind one carrier NAT address
    assert c.rate_pin_per_client_hour <= 30 and c.rate_reports_per_client_hour <= 5  # forms stay tight


def test_page_rate_limit_per_client(session_factory, settings, batch):
    app = create_app(vs.verify_settings(settings, rate_page_per_minute=30))
    app.extensions["ocop"].session_factory = session_factory
    session_factory.configure(info={"store": app.extensions["ocop"].store})
    client = app.test_client()
    limit = 30
    path = vs.path_of(batch.urls[0])
    codes = [client.get(path).status_code for _ in range(limit + 1)]
    assert codes[-1] == 429 and codes[:-1] == [200] * limit
    assert client.get(path, environ_base={"REMOTE_ADDR": "10.9.9.9"}).status_code == 200
    app.extensions["ocop"].close()


def test_withdrawal_reaches_another_instance_at_once(app, client, session, session_factory, settings, batch):
    """Two workers: the second has the view cached; a withdrawal must show there on the next scan."""
    import os

    if os.environ.get("TEST_REDIS_URL"):
        other = create_app(settings)
        other.extensions["ocop"].session_factory = session_factory  # same database (the test's transaction)
        other_client = other.test_client()
    else:
        other, other_client = app, client  # the in-process store cannot be shared between two apps
    path = vs.path_of(batch.urls[0])
    assert verdict_of(page(other_client, path)) == "genuine"
    assert verdict_of(page(client, path)) == "genuine"
    vs.withdraw(session, batch)
    assert verdict_of(page(other_client, path)) == "revoked"
    if other is not app:
        other.extensions["ocop"].engine.dispose()


@pytest.fixture()
def fuzz_client(settings, session_factory):
    app = create_app(vs.verify_settings(settings, rate_page_per_minute=100_000))
    app.extensions["ocop"].session_factory = session_factory
    session_factory.configure(info={"store": app.extensions["ocop"].store})
    yield app.test_client()
    app.extensions["ocop"].engine.dispose()


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_changes_to_a_valid_token_never_verify_through_the_page(fuzz_client, session, keyring, data):
    token = _token_for_fuzz(session, keyring)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    op = data.draw(st.sampled_from(["replace", "insert", "delete", "truncate", "swap"]))
    i = data.draw(st.integers(0, len(token) - 1))
    c = data.draw(st.sampled_from(alphabet))
    mutated = {
        "replace": token[:i] + c + token[i + 1 :],
        "insert": token[:i] + c + token[i:],
        "delete": token[:i] + token[i + 1 :],
        "truncate": token[:i],
        "swap": token[:i] + token[i + 1 : i + 2] + token[i : i + 1] + token[i + 2 :],
    }[op]
    if mutated.upper() == token.upper() or not mutated:
        return
    html = fuzz_client.get(f"/V/{mutated}").get_data(as_text=True)
    assert verdict_of(html) == "not_genuine", (op, i, c)


_FUZZ: dict[int, str] = {}


def _token_for_fuzz(session, keyring) -> str:
    key = id(session)
    if key not in _FUZZ:
        _FUZZ.clear()
        _FUZZ[key] = make_issued_batch(session, keyring, n=1).tokens[0]
    return _FUZZ[key]


def test_uploaded_product_image_replaces_the_placeholder(client, session, batch):
    from stamp_service.domain.access import SYSTEM
    from stamp_service.services import products
    from tests.integration.test_products_api import tiny_png

    products.set_product_image(session, SYSTEM, batch.product.id, media_type="image/png", data=tiny_png())
    vs.status_changed(session)  # what the registry's own change leaves to the cache: the generation moves
    html = page(client, vs.path_of(batch.urls[0]))
    img = re.search(r'<img class="pimg" src="(/media/products/\d+\?v=\w+)" alt="([^"]+)"', html)
    assert img and img.group(2) == batch.product.name and "Chưa có ảnh sản phẩm" not in html
    assert client.get(img.group(1)).status_code == 200


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_a_withdrawn_certificate_shows_no_current_rating_and_is_not_called_valid(
    client, session, batch, lang
):
    """The verdict said "no longer OCOP", but the product box still showed the stars and the
    certificate box "valid until 2028": a shopper reading on saw a rated, valid product."""
    path = vs.path_of(batch.urls[0])
    before = page(client, path, lang)
    valid_until = "Valid until" if lang == "en" else "Có hiệu lực đến"
    assert (
        valid_until in before
        and "★" in before.split("OCOP rating now" if lang == "en" else "Hạng OCOP hiện tại")[1][:200]
    )
    vs.withdraw(session, batch)
    html = page(client, path, lang)
    assert verdict_of(html) == "revoked"
    rating_now = html.split("OCOP rating now" if lang == "en" else "Hạng OCOP hiện tại")[1].split("</dd>")[0]
    assert "★" not in rating_now
    none_now = "None: the OCOP stars were withdrawn" if lang == "en" else "Không còn: sao OCOP đã bị thu hồi"
    assert none_now in rating_now
    printed = "Rating printed on the stamp" if lang == "en" else "Hạng sao khi cấp tem"
    assert printed in html  # what the label says stays readable beside "none now"
    certificate = html.split("OCOP certificate" if lang == "en" else "Giấy chứng nhận OCOP")[-1]
    no_longer = (
        "No longer valid: withdrawn on 18 Nov 2026"
        if lang == "en"
        else "Không còn hiệu lực: bị thu hồi ngày 18/11/2026"
    )
    assert no_longer in certificate
