"""The console's registry pages: producers, products and certificates, lots (through the pages).

Each page is checked for what a clerk does with it, for CSRF, for the province scope (two
provinces: the other one's records are the 404 page) and for hostile names shown as text.
"""

from __future__ import annotations

import io
import json
import re

import pytest
from PIL import Image

from stamp_service.domain.access import SYSTEM, Role
from stamp_service.schemas.lots import TraceEventIn
from stamp_service.services import lot_directory, lots
from stamp_service.storage.models.audit import AuditEntry
from stamp_service.storage.models.registry import Certificate, Producer, Product, ProductImage
from tests.factories import event_payload, make_certificate, make_lot, make_producer, make_product
from tests.people_support import make_person, post_form, sign_in

HA_TINH_COMMUNE, THANH_HOA_COMMUNE = "18418", "15112"
XSS = "<script>alert(1)</script>"


@pytest.fixture()
def two_provinces(session):
    """A producer with a certified product and a lot with an origin record in each province."""
    world = {}
    for province, commune in (("42", HA_TINH_COMMUNE), ("38", THANH_HOA_COMMUNE)):
        producer = make_producer(session, commune_code=commune)
        product = make_product(session, producer.id, raw_material_communes=[commune])
        cert = make_certificate(session, product.id)
        lot = make_lot(session, product.id, quantity=1200)
        event = TraceEventIn.model_validate_json(json.dumps(event_payload(note="Hái sáng")))
        lots.add_event(session, SYSTEM, lot.id, event)
        world[province] = {"producer": producer.id, "product": product.id, "cert": cert.id, "lot": lot.id}
    return world


@pytest.fixture()
def clerk(client, session):
    """The Hà Tĩnh office, signed in."""
    make_person(session, Role.ADMIN, name="clerk-ht", province_code="42")
    assert sign_in(client, "clerk-ht").status_code == 302
    return client


def _text(resp) -> str:
    return resp.get_data(as_text=True)


def test_producer_list_is_scoped_filtered_and_paged(clerk, session, two_provinces):
    for n in range(30):
        make_producer(
            session, name=f"Cơ sở chè Hương Sơn {n:02d}", commune_code="18352", legal_type="household"
        )
    page = clerk.get("/console/producers/")
    html = _text(page)
    assert page.status_code == 200
    assert "31 nhà sản xuất" in html  # 30 + the world's Hà Tĩnh producer; Thanh Hóa's is not counted
    assert html.count('class="row"') == 25 and 'rel="next"' in html
    second = _text(clerk.get("/console/producers/?page=2"))
    assert second.count('class="row"') == 6 and 'rel="prev"' in second
    by_commune = _text(clerk.get("/console/producers/?commune=18418"))
    assert "1 nhà sản xuất" in by_commune
    by_type = _text(clerk.get("/console/producers/?legal_type=cooperative"))
    assert "1 nhà sản xuất" in by_type
    by_name = _text(clerk.get("/console/producers/?q=chè+Hương+Sơn+07"))
    assert "1 nhà sản xuất" in by_name and "Cơ sở chè Hương Sơn 07" in by_name
    four_stars = _text(clerk.get("/console/producers/?stars=4"))
    assert "1 nhà sản xuất" in four_stars
    assert "0 nhà sản xuất" in _text(clerk.get("/console/producers/?stars=5"))
    # The commune choices are the clerk's province only.
    assert "Xã Phúc Trạch" in html and "Xã Hà Trung" not in html


def test_register_a_producer_with_the_commune_from_the_list(clerk, session):
    form = clerk.get("/console/producers/new")
    html = _text(form)
    assert (
        '<optgroup label="Tỉnh Hà Tĩnh">' in html and '<option value="18418">Xã Phúc Trạch</option>' in html
    )
    resp = post_form(
        clerk,
        "/console/producers/new",
        {
            "name": XSS,
            "legal_type": "cooperative",
            "registration_number": "3001999888",
            "commune_code": HA_TINH_COMMUNE,
            "street": "Thôn 5",
            "phone": "0239 3871 000",
        },
    )
    assert resp.status_code == 302
    producer = session.query(Producer).filter_by(registration_number="3001999888").one()
    assert producer.province_code == "42" and producer.address_snapshot["commune_name"] == "Xã Phúc Trạch"
    detail = _text(clerk.get(resp.headers["Location"]))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in detail and XSS not in detail
    listing = _text(clerk.get("/console/producers/"))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in listing and XSS not in listing
    entry = session.query(AuditEntry).filter_by(action="producer.create", entity_id=str(producer.id)).one()
    assert entry.actor == "admin:clerk-ht"


def test_wrong_input_is_shown_next_to_each_field_in_both_languages(clerk, session):
    resp = post_form(
        clerk,
        "/console/producers/new",
        {"name": "A", "legal_type": "cooperative", "commune_code": THANH_HOA_COMMUNE, "phone": "abc"},
    )
    html = _text(resp)
    assert resp.status_code == 422
    assert 'id="f-name-error"' in html and "Nhập tên, từ 2 đến 300 ký tự." in html
    assert 'id="f-phone-error"' in html and "Nhập số điện thoại từ 6 đến 20 chữ số." in html
    assert session.query(Producer).count() == 0
    # A well-formed form with another province's commune: refused by the service, next to the field.
    resp = post_form(
        clerk,
        "/console/producers/new",
        {"name": "HTX Hà Trung", "legal_type": "cooperative_group", "commune_code": THANH_HOA_COMMUNE},
    )
    assert resp.status_code == 422 and 'id="f-commune_code-error"' in _text(resp)
    assert session.query(Producer).count() == 0
    clerk.get("/console/producers/new?lang=en")
    english = _text(post_form(clerk, "/console/producers/new", {"name": "A", "legal_type": "x"}))
    assert "Enter the name, 2 to 300 characters." in english and "Choose the legal type." in english


def test_edit_a_producer(clerk, session, two_provinces):
    pid = two_provinces["42"]["producer"]
    resp = post_form(
        clerk, f"/console/producers/{pid}/edit", {"representative": "Trần Thị Bình", "phone": "", "email": ""}
    )
    assert resp.status_code == 302
    session.expire_all()
    producer = session.get(Producer, pid)
    assert producer.representative == "Trần Thị Bình" and producer.phone is None
    bad = post_form(clerk, f"/console/producers/{pid}/edit", {"email": "not-an-email"})
    assert bad.status_code == 422 and 'id="f-email-error"' in _text(bad)


def test_another_provinces_records_are_404_on_every_page(clerk, session, two_provinces):
    other = two_provinces["38"]
    mine = two_provinces["42"]
    for path in (
        f"/console/producers/{other['producer']}",
        f"/console/producers/{other['producer']}/edit",
        f"/console/products/new/{other['producer']}",
        f"/console/products/{other['product']}",
        f"/console/lots/{other['lot']}",
    ):
        assert clerk.get(path).status_code == 404, path
    token_page = f"/console/products/{mine['product']}"
    for path, data in (
        (f"/console/producers/{other['producer']}/edit", {"representative": "X"}),
        (f"/console/products/{other['product']}/certificates", {"stars": "4"}),
        (f"/console/products/new/{other['producer']}", {"name": "X"}),
    ):
        assert post_form(clerk, path, data, form_page=token_page).status_code == 404, path
    lots_page = _text(clerk.get("/console/lots/"))
    assert "Tìm thấy 1 lô" in lots_page


def test_forms_without_a_csrf_token_are_refused(clerk, session, two_provinces):
    mine = two_provinces["42"]
    for path, data in (
        (
            "/console/producers/new",
            {"name": "HTX X", "legal_type": "cooperative_group", "commune_code": "18418"},
        ),
        (f"/console/producers/{mine['producer']}/edit", {"representative": "X"}),
        (
            f"/console/products/new/{mine['producer']}",
            {"name": "Bưởi", "short_name": "Bưởi", "group_code": "1.1"},
        ),
        (f"/console/products/{mine['product']}/certificates", {"stars": "4"}),
    ):
        resp = clerk.post(path, data=data)
        assert resp.status_code == 400, path
    assert session.query(Producer).count() == 2


def test_register_a_product_and_record_a_council_decision(clerk, session, two_provinces):
    pid = two_provinces["42"]["producer"]
    resp = post_form(
        clerk,
        f"/console/products/new/{pid}",
        {"name": XSS, "short_name": "Bưởi PT", "group_code": "1.1"},
    )
    assert resp.status_code == 302
    product_path = resp.headers["Location"]
    product_id = int(product_path.rsplit("/", 1)[1])
    page = _text(clerk.get(product_path))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and XSS not in page
    assert "Chưa có quyết định nào." in page
    decision = {
        "stars": "4",
        "score": "80",
        "criteria_version": "148/QĐ-TTg",
        "decision_number": "1234/QĐ-UBND",
        "signed_on": "2025-09-15",
        "authority_name": "UBND tỉnh Hà Tĩnh",
        "authority_level": "province",
    }
    assert (
        post_form(
            clerk, f"/console/products/{product_id}/certificates", decision, form_page=product_path
        ).status_code
        == 302
    )
    # A later decision supersedes it: the history shows both, newest first.
    later = {
        **decision,
        "stars": "3",
        "score": "60",
        "decision_number": "88/QĐ-UBND",
        "signed_on": "2025-10-01",
    }
    assert (
        post_form(
            clerk, f"/console/products/{product_id}/certificates", later, form_page=product_path
        ).status_code
        == 302
    )
    certs = session.query(Certificate).filter_by(product_id=product_id).order_by(Certificate.id).all()
    assert [(c.stars, c.state) for c in certs] == [(4, "superseded"), (3, "active")]
    history = _text(clerk.get(product_path))
    assert history.index("88/QĐ-UBND") < history.index("1234/QĐ-UBND")
    assert "15/09/2025" in history and "01/10/2025" in history


def test_a_decision_breaking_a_rule_is_shown_next_to_its_field(clerk, session, two_provinces):
    product_id = make_product(session, two_provinces["42"]["producer"]).id
    path = f"/console/products/{product_id}"
    base = {
        "stars": "4",
        "criteria_version": "148/QĐ-TTg",
        "decision_number": "1/QĐ-UBND",
        "signed_on": "2025-09-15",
        "authority_name": "UBND tỉnh Hà Tĩnh",
        "authority_level": "province",
    }
    band = post_form(clerk, f"{path}/certificates", {**base, "score": "95"}, form_page=path)
    assert band.status_code == 422 and 'id="f-score-error"' in _text(band)
    five = post_form(
        clerk,
        f"{path}/certificates",
        {**base, "stars": "5", "score": "95", "authority_level": "central"},
        form_page=path,
    )
    assert five.status_code == 422 and 'id="f-authority_level-error"' in _text(five)
    bad = post_form(
        clerk, f"{path}/certificates", {**base, "decision_number": "abc", "signed_on": "x"}, form_page=path
    )
    html = _text(bad)
    assert 'id="f-decision_number-error"' in html and 'id="f-signed_on-error"' in html
    assert session.query(Certificate).filter_by(product_id=product_id).count() == 0


def _png(size: int = 32) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (size, size), (20, 120, 40)).save(out, "PNG")
    return out.getvalue()


def test_product_photo_goes_through_the_upload_checks(clerk, session, two_provinces):
    product_id = two_provinces["42"]["product"]
    path = f"/console/products/{product_id}"
    token = re.search(r'name="csrf_token" value="([^"]+)"', _text(clerk.get(path))).group(1)
    fake = clerk.post(
        f"{path}/image",
        data={"csrf_token": token, "image": (io.BytesIO(b"<svg onload=alert(1)>"), "x.png", "image/png")},
        content_type="multipart/form-data",
    )
    assert fake.status_code == 422 and 'id="f-image-error"' in _text(fake)
    assert session.get(ProductImage, product_id) is None
    ok = clerk.post(
        f"{path}/image",
        data={"csrf_token": token, "image": (io.BytesIO(_png()), "buoi.png", "image/png")},
        content_type="multipart/form-data",
    )
    assert ok.status_code == 302
    image = session.get(ProductImage, product_id)
    assert image is not None and image.media_type == "image/png"
    assert f"/media/products/{product_id}?v=" in _text(clerk.get(path))


def test_a_lot_shows_its_origin_records_and_documents(clerk, session, two_provinces):
    lot_id = two_provinces["42"]["lot"]
    html = _text(clerk.get(f"/console/lots/{lot_id}"))
    assert "Vườn bưởi thôn 3, xã Phúc Trạch" in html and "phieu-thu-hai.pdf" in html
    assert "Hái sáng" in html and "1.200" in html
    listing = _text(clerk.get("/console/lots/?q=PT25"))
    assert f"/console/lots/{lot_id}" in listing
    assert f"/console/lots/{two_provinces['38']['lot']}" not in listing


def test_central_office_sees_both_provinces(client, session, two_provinces):
    make_person(session, Role.ADMIN, name="central")
    sign_in(client, "central")
    html = _text(client.get("/console/producers/"))
    assert "2 nhà sản xuất" in html and "Xã Hà Trung" in html
    assert client.get(f"/console/lots/{two_provinces['38']['lot']}").status_code == 200


def test_lots_are_paged_by_key_newest_first(clerk, session, two_provinces):
    product_id = two_provinces["42"]["product"]
    for _ in range(29):
        make_lot(session, product_id, quantity=10)
    first = _text(clerk.get("/console/lots/"))
    assert "Tìm thấy 30 lô" in first and first.count('class="row"') == 25
    assert 'rel="prev"' not in first
    older = re.search(r'rel="next" href="([^"]+)"', first).group(1).replace("&amp;", "&")
    second = _text(clerk.get(older))
    assert second.count('class="row"') == 5 and 'rel="next"' not in second
    assert f"/console/lots/{two_provinces['42']['lot']}" in second  # the oldest lot is last
    newer = re.search(r'rel="prev" href="([^"]+)"', second).group(1).replace("&amp;", "&")
    again = _text(clerk.get(newer))
    assert again.count('class="row"') == 25 and 'rel="prev"' not in again and 'rel="next"' in again


@pytest.mark.parametrize("narrow_up_to", [1000, 1], ids=["by-trigram-ids", "broad"])
def test_lot_search_by_code_or_product_name_within_the_province(
    clerk, session, two_provinces, monkeypatch, narrow_up_to
):
    """Both ways of searching (ids found by the trigram indexes, or the broad OR) list the same
    lots: code or product name containing the text, any case, never another province's."""
    monkeypatch.setattr(lot_directory, "NARROW", narrow_up_to)
    here, there = two_provinces["42"], two_provinces["38"]
    session.get(Product, here["product"]).name = "Bưởi Phúc Trạch"
    session.get(Product, there["product"]).name = "Bưởi Phúc Trạch xứ Thanh"
    coded = [
        make_lot(session, here["product"], lot_code=code, quantity=5).id for code in ("QX-777-A", "QX-777-B")
    ]
    theirs = make_lot(session, there["product"], lot_code="QX-777-C", quantity=5).id
    session.commit()

    def found(q: str) -> set[int]:
        html = _text(clerk.get("/console/lots/", query_string={"q": q}))
        return {int(n) for n in re.findall(r'href="/console/lots/(\d+)"', html)}

    assert found("qx-777") == set(coded) and theirs not in found("QX")
    assert found("777-b") == {coded[1]}
    assert found("phúc trạch") == {here["lot"], *coded}  # by the product's name
    assert found("Q") == set(coded)  # one letter: no trigram, the broad search
    assert found("không có lô này") == set()


def test_the_lots_list_counts_up_to_its_cap_and_then_says_more_than(
    clerk, session, two_provinces, monkeypatch
):
    """A province's 100,000 lots are not counted on every visit: past the cap the page says "more
    than" the cap, below it the exact number (issue 10's list-page benchmark)."""
    here = two_provinces["42"]
    for code in ("CAP-1", "CAP-2", "CAP-3"):
        make_lot(session, here["product"], lot_code=code, quantity=5)
    session.commit()
    monkeypatch.setattr(lot_directory, "COUNT_CAP", 2)
    assert "Tìm thấy hơn 2 lô" in _text(clerk.get("/console/lots/", query_string={"q": "CAP-"}))
    monkeypatch.setattr(lot_directory, "COUNT_CAP", 3)
    assert "Tìm thấy 3 lô" in _text(clerk.get("/console/lots/", query_string={"q": "CAP-"}))


def test_validity_before_signing_is_told_next_to_valid_until_in_both_languages(clerk, session, two_provinces):
    """A rule across two fields goes next to the field it is about (valid_until), with its own words."""
    product_id = make_product(session, two_provinces["42"]["producer"]).id
    path = f"/console/products/{product_id}"
    decision = {
        "stars": "4",
        "score": "80",
        "criteria_version": "148/QĐ-TTg",
        "decision_number": "2/QĐ-UBND",
        "signed_on": "2025-09-15",
        "valid_until": "2025-09-01",
        "authority_name": "UBND tỉnh Hà Tĩnh",
        "authority_level": "province",
    }
    for lang, words in (("vi", "Ngày hết hiệu lực phải sau ngày ký."), ("en", "The validity must end after")):
        clerk.get(f"{path}?lang={lang}")
        resp = post_form(clerk, f"{path}/certificates", decision, form_page=path)
        html = _text(resp)
        assert resp.status_code == 422
        assert 'id="f-valid_until-error"' in html and 'id="f-signed_on-error"' not in html
        error = re.search(r'id="f-valid_until-error">([^<]*)<', html)
        assert error is not None and words in error.group(1), error
    assert session.query(Certificate).filter_by(product_id=product_id).count() == 0


def test_a_rule_across_fields_is_about_the_field_its_message_names_first():
    from stamp_service.web.console_forms import subject_field

    fields = ("name", "signed_on", "valid_until", "registration_number", "legal_type")
    assert subject_field("Value error, valid_until must be after signed_on", fields) == "valid_until"
    assert subject_field("signed_on must be before valid_until", fields) == "signed_on"
    assert subject_field("registration_number is required except for legal_type THT", fields) == (
        "registration_number"
    )
    assert subject_field("signed_on before valid", ("on", "valid")) == "valid"  # whole words only
    assert subject_field("nothing named", fields) == ""


def test_every_paged_list_takes_any_page_number_without_an_error(clerk, session, two_provinces):
    """One page_number() for the console: ?page=0 answered 500 on two lists that had their own copy."""
    for path in (
        "/console/producers/",
        "/console/requests/",
        "/console/findings/",
        "/console/consumer-reports/",
        "/console/lots/",
    ):
        for page in ("0", "-1", "abc", "999999999", "2"):
            assert clerk.get(f"{path}?page={page}").status_code == 200, (path, page)
