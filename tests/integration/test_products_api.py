"""Products through the API: registration rules, listings and filters, the small image."""

from __future__ import annotations

import hashlib
import io
import struct
import zlib

import pytest
from PIL import Image

from stamp_service.domain.access import Role
from stamp_service.storage.models.audit import AuditEntry
from stamp_service.storage.models.registry import Certificate, Product, ProductImage
from tests.factories import (
    gtin13,
    make_caller,
    make_certificate,
    make_producer,
    make_product,
    product_payload,
)


def tiny_png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0\xff\0\0"))
        + chunk(b"IEND", b"")
    )


def test_admin_registers_a_product(client, admin, session):
    producer = make_producer(session)
    gtin = gtin13("893458806305")
    payload = product_payload(
        producer.id,
        gtin=gtin,
        brand="Phúc Trạch",
        image_url="https://example.vn/b.jpg",
        self_declaration_ref="01/2024/HTXPT",
        description="Bưởi đặc sản",
    )
    resp = client.post("/api/v1/products", json=payload, headers=admin.headers)
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["gtin"] == gtin and body["standards"] == ["TCCS 01:2020/HTXPT"]
    assert body["current_certificate"] is None and body["uploaded_image"] is None
    entry = session.query(AuditEntry).filter_by(action="product.create", entity_id=str(body["id"])).one()
    assert entry.after["short_name"] == payload["short_name"]
    got = client.get(f"/api/v1/products/{body['id']}", headers=admin.headers).get_json()
    assert got["name"] == payload["name"]


def test_a_category_with_a_deeper_subgroup_is_accepted(client, admin, session):
    producer = make_producer(session)
    resp = client.post(
        "/api/v1/products",
        json=product_payload(producer.id, group_code="1", subgroup_code="1.4.1"),
        headers=admin.headers,
    )
    assert resp.status_code == 201, resp.get_json()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"short_name": "x" * 41}, "short_name"),
        ({"gtin": "8934588063054"}, "gtin"),  # wrong check digit
        ({"gtin": "89345880630"}, "gtin"),  # 11 digits
        ({"group_code": "1.1.1", "subgroup_code": None}, "group_code"),  # a sub-group is not a group
        ({"group_code": "9"}, "group_code"),
        ({"subgroup_code": "1.4.1"}, "subgroup_code"),  # not under 1.1
        ({"raw_material_communes": ["99999"]}, "raw_material_communes.0"),
        ({"raw_material_communes": ["42"]}, "raw_material_communes.0"),  # a province, not a commune
        ({"image_url": "http://example.vn/a.jpg"}, "image_url"),
        ({"standards": "TCCS 01"}, "standards"),
        ({"standards": [""]}, "standards"),
        ({"name": 5}, "name"),
        ({"colour": "green"}, "colour"),
    ],
)
def test_bad_fields_are_listed_and_nothing_is_written(client, admin, session, overrides, field):
    producer = make_producer(session)
    before = session.query(Product).count()
    resp = client.post(
        "/api/v1/products", json=product_payload(producer.id, **overrides), headers=admin.headers
    )
    assert resp.status_code == 422, resp.get_json()
    problem = resp.get_json()
    assert problem["type"] == "/problems/validation-failed"
    assert any(e["field"].startswith(field) for e in problem["errors"]), problem
    assert session.query(Product).count() == before


def test_unknown_producer_is_404_and_duplicate_gtin_409(client, admin, session):
    producer = make_producer(session)
    assert (
        client.post("/api/v1/products", json=product_payload(99999), headers=admin.headers).status_code == 404
    )
    gtin = gtin13("893458806399")
    assert (
        client.post(
            "/api/v1/products", json=product_payload(producer.id, gtin=gtin), headers=admin.headers
        ).status_code
        == 201
    )
    again = client.post(
        "/api/v1/products", json=product_payload(producer.id, gtin=gtin), headers=admin.headers
    )
    assert (again.status_code, again.get_json()["type"]) == (409, "/problems/conflict")
    r = client.post(
        "/api/v1/products", data=b"{", headers={**admin.headers, "Content-Type": "application/json"}
    )
    assert r.status_code == 400


def test_only_admins_register_products(client, session, inspector):
    producer = make_producer(session)
    own = make_caller(session, Role.PRODUCER, producer.id)
    for caller in (own, inspector):
        r = client.post("/api/v1/products", json=product_payload(producer.id), headers=caller.headers)
        assert (r.status_code, r.get_json()["type"]) == (403, "/problems/forbidden")
    assert client.post("/api/v1/products", json=product_payload(producer.id)).status_code == 401
    assert session.query(Product).filter_by(producer_id=producer.id).count() == 0


def test_a_producer_reads_only_its_own_products(client, session, inspector):
    mine, other = make_producer(session), make_producer(session)
    my_product, their_product = make_product(session, mine.id), make_product(session, other.id)
    me = make_caller(session, Role.PRODUCER, mine.id)
    listing = client.get("/api/v1/products", headers=me.headers).get_json()
    assert [p["id"] for p in listing["items"]] == [my_product.id]
    assert client.get(f"/api/v1/products/{their_product.id}", headers=me.headers).status_code == 404
    assert client.get(f"/api/v1/products/{their_product.id}", headers=inspector.headers).status_code == 200
    assert client.get("/api/v1/products/999999", headers=inspector.headers).status_code == 404


def test_listing_filters(client, session, admin):
    ha_tinh = make_producer(session)
    can_loc = make_producer(session, commune_code="18001")
    # 18001 is in Hà Tĩnh too: the filter is by the producer's province code
    valid = make_product(session, ha_tinh.id, group_code="1.4", subgroup_code="1.4.1")
    make_certificate(
        session,
        valid.id,
        stars=5,
        score=92,
        authority_level="central",
        authority_name="Bộ Nông nghiệp và Môi trường",
    )
    expired = make_product(session, ha_tinh.id, group_code="2.2", subgroup_code=None)
    make_certificate(
        session, expired.id, stars=4, score=75, criteria_version="1048/QĐ-TTg", signed_on="2021-05-10"
    )
    withdrawn = make_product(session, can_loc.id)
    cert = make_certificate(session, withdrawn.id, stars=3, score=55)
    session.query(Certificate).filter_by(id=cert.id).update({"state": "withdrawn"})  # issue 5 will do this
    bare = make_product(session, can_loc.id)

    def ids(qs: str) -> set[int]:
        resp = client.get(f"/api/v1/products?per_page=200&{qs}", headers=admin.headers)
        assert resp.status_code == 200, resp.get_json()
        return {p["id"] for p in resp.get_json()["items"]}

    assert ids("certificate_state=valid") == {valid.id}
    assert ids("certificate_state=expired") == {expired.id}
    assert ids("certificate_state=withdrawn") == {withdrawn.id}
    assert ids("certificate_state=none") == {bare.id}
    assert ids("stars=5") == {valid.id}
    assert ids("stars=4&certificate_state=expired") == {expired.id}
    assert ids("group=1") == {valid.id, withdrawn.id, bare.id}  # category 1 covers 1.1 and 1.4
    assert ids("group=1.4.1") == {valid.id}
    assert ids("group=2") == {expired.id}
    assert ids(f"producer_id={can_loc.id}") == {withdrawn.id, bare.id}
    assert ids("province=42") >= {valid.id, bare.id}
    assert ids("province=38") == set()
    item = client.get(f"/api/v1/products/{expired.id}", headers=admin.headers).get_json()
    assert item["current_certificate"]["status"] == "expired"
    page = client.get("/api/v1/products?per_page=2&page=2", headers=admin.headers).get_json()
    assert (page["total"], len(page["items"])) == (4, 2)


def test_bad_listing_queries_are_422(client, admin):
    for qs in ("stars=6", "certificate_state=maybe", "group=abc", "province=HT", "page=0", "bogus=1"):
        resp = client.get(f"/api/v1/products?{qs}", headers=admin.headers)
        assert resp.status_code == 422, qs
        assert resp.content_type == "application/problem+json"


def test_image_upload_and_public_media(client, session, admin, inspector):
    producer, other = make_producer(session), make_producer(session)
    product = make_product(session, producer.id)
    png = tiny_png()
    url = f"/api/v1/products/{product.id}/image"
    resp = client.put(url, data=png, headers={**admin.headers, "Content-Type": "image/png"})
    assert resp.status_code == 200, resp.get_json()
    media = client.get(f"/media/products/{product.id}")  # no token: public
    # What is served is the re-encoding (uploads.check_image), with the same pixels.
    assert resp.get_json()["sha256"] == hashlib.sha256(media.data).hexdigest()
    assert media.status_code == 200 and media.mimetype == "image/png"
    served = Image.open(io.BytesIO(media.data))
    assert (served.format, served.size, served.convert("RGB").getpixel((0, 0))) == (
        "PNG",
        (1, 1),
        (255, 0, 0),
    )
    assert "public" in media.headers["Cache-Control"] and "max-age" in media.headers["Cache-Control"]
    assert media.headers["X-Content-Type-Options"] == "nosniff"
    etag = media.headers["ETag"]
    assert client.get(f"/media/products/{product.id}", headers={"If-None-Match": etag}).status_code == 304
    listed = client.get(f"/api/v1/products/{product.id}", headers=admin.headers).get_json()
    assert listed["uploaded_image"].startswith(f"/media/products/{product.id}?v=")

    own = make_caller(session, Role.PRODUCER, producer.id)
    stranger = make_caller(session, Role.PRODUCER, other.id)
    webp_file = io.BytesIO()
    Image.new("RGB", (8, 8), (0, 128, 0)).save(webp_file, "WEBP")
    webp = webp_file.getvalue()
    assert (
        client.put(url, data=webp, headers={**own.headers, "Content-Type": "image/webp"}).status_code == 200
    )
    assert (
        client.put(url, data=png, headers={**stranger.headers, "Content-Type": "image/png"}).status_code
        == 404
    )
    assert (
        client.put(url, data=png, headers={**inspector.headers, "Content-Type": "image/png"}).status_code
        == 403
    )
    assert client.put(url, data=png, headers={"Content-Type": "image/png"}).status_code == 401


@pytest.mark.parametrize(
    ("data", "content_type", "status", "kind"),
    [
        (b"GIF89a" + b"\0" * 20, "image/gif", 415, "unsupported-media-type"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 20, "image/jpeg", 422, "validation-failed"),  # magic says PNG
        (b"<svg onload=alert(1)>", "image/png", 422, "validation-failed"),
        (b"", "image/png", 422, "validation-failed"),
        (b"\xff\xd8\xff" + b"\0" * (100 * 1024), "image/jpeg", 413, "payload-too-large"),
    ],
)
def test_bad_images_are_refused_and_nothing_changes(client, session, admin, data, content_type, status, kind):
    product = make_product(session, make_producer(session).id)
    resp = client.put(
        f"/api/v1/products/{product.id}/image",
        data=data,
        headers={**admin.headers, "Content-Type": content_type},
    )
    assert resp.status_code == status
    assert resp.get_json()["type"] == f"/problems/{kind}"
    assert session.get(ProductImage, product.id) is None
    assert client.get(f"/media/products/{product.id}").status_code == 404


def test_image_of_a_missing_product_is_404(client, admin):
    png = tiny_png()
    r = client.put(
        "/api/v1/products/999999/image", data=png, headers={**admin.headers, "Content-Type": "image/png"}
    )
    assert r.status_code == 404
    assert client.get("/media/products/999999").status_code == 404


def test_uploaded_images_are_checked_and_stored_re_encoded(client, session, admin):
    """Issue 14: a 48 KB PNG of 20,000 x 20,000 pixels was accepted and served; GPS EXIF was kept."""
    from tests.unit.test_uploads import gps_exif, photo, png_bomb

    product = make_product(session, make_producer(session).id)
    url = f"/api/v1/products/{product.id}/image"
    bomb = client.put(url, data=png_bomb(), headers={**admin.headers, "Content-Type": "image/png"})
    assert bomb.status_code == 422 and bomb.get_json()["type"] == "/problems/validation-failed"
    assert session.get(ProductImage, product.id) is None

    upload = photo("JPEG", exif=gps_exif().tobytes())
    r = client.put(url, data=upload, headers={**admin.headers, "Content-Type": "image/jpeg"})
    assert r.status_code == 200
    served = client.get(f"/media/products/{product.id}").data
    assert served != upload and b"Exif" not in served
    assert not Image.open(io.BytesIO(served)).getexif()
