"""The producer's stamp-request pages: request with PINs and a label size, follow the office's
decision, download PDF/CSV/ZPL with the session (every code decoded), void a spoiled range, and
another producer's request is a 404 on every page."""

from __future__ import annotations

import csv
import hashlib
import io
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from stamp_service.storage.models.registry import Certificate
from stamp_service.storage.models.stamps import StampRequest, StampVoid
from tests.issuance_helpers import approve
from tests.people_support import csrf_token
from tests.producer_support import producer_world, signed_in_client
from tests.qr_decoding import decode_pdf
from tests.revocation_support import decision
from tests.stamp_factories import ensure_keyring


@pytest.fixture()
def keyring(session, settings):
    return ensure_keyring(session, settings.keys_dir)


def _request(
    client, lot_id: int, quantity: str, *, pin: bool = True, preset: str = "a4-3x7-63.5x38.1-diecut"
):
    token = csrf_token(client, "/producer/requests/new")
    page = client.get(f"/producer/requests/new?lot_id={lot_id}").get_data(as_text=True)
    key = page.split('name="key" value="')[1].split('"')[0]
    data = {"csrf_token": token, "key": key, "lot_id": str(lot_id), "quantity": quantity, "preset": preset}
    if pin:
        data["with_pin"] = "yes"
    return client.post("/producer/requests/new", data=data)


def _latest(session) -> StampRequest:
    session.expire_all()
    found = session.scalars(select(StampRequest).order_by(StampRequest.id.desc())).first()
    assert found is not None
    return found


def test_request_is_waiting_then_ready_and_downloads_with_the_session(app, client, session, admin, keyring):
    world = producer_world(session, "htx-req", lot_quantity=200)
    me = signed_in_client(app, "htx-req")
    form = me.get("/producer/requests/new").get_data(as_text=True)
    assert "/api/v1/print-presets/a4-3x8-70x37-diecut/preview.png" in form  # the preview images
    resp = _request(me, world.lot.id, "2.000")  # more than the lot allows: refused at the field
    assert resp.status_code == 422 and 'id="f-quantity-error"' in resp.get_data(as_text=True)
    resp = _request(me, world.lot.id, "30")
    assert resp.status_code == 302 and "preset=a4-3x7-63.5x38.1-diecut" in resp.headers["Location"]
    req = _latest(session)
    assert (req.quantity_requested, req.with_pin, req.state) == (30, True, "requested")
    waiting = me.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Đang chờ cơ quan quản lý duyệt" in waiting and "labels.pdf" not in waiting
    assert me.get(f"/producer/requests/{req.id}/labels.pdf").status_code == 302  # not ready: back
    assert approve(client, admin, req.id).get_json()["state"] == "issued"
    ready = me.get(f"/producer/requests/{req.id}").get_data(as_text=True)
    assert "Sẵn sàng để in" in ready
    pdf = me.get(f"/producer/requests/{req.id}/labels.pdf?preset=a4-3x7-63.5x38.1-diecut")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    urls = decode_pdf(pdf.get_data())
    assert len(urls) == 30 and len(set(urls)) == 30
    rows = list(
        csv.DictReader(io.StringIO(me.get(f"/producer/requests/{req.id}/labels.csv").get_data(as_text=True)))
    )
    assert [int(r["seq"]) for r in rows] == list(range(1, 31)) and all(r["pin"] for r in rows)
    assert sorted(r["url"] for r in rows) == sorted(urls)
    zpl = me.get(f"/producer/requests/{req.id}/labels.zpl").get_data(as_text=True)
    assert zpl.count("^XA") == 30


def test_rejection_shows_the_offices_reason(app, client, session, admin):
    world = producer_world(session, "htx-rej")
    me = signed_in_client(app, "htx-rej")
    _request(me, world.lot.id, "10", pin=False)
    req = _latest(session)
    r = client.post(
        f"/api/v1/stamp-requests/{req.id}/reject",
        json={"reason": "Thiếu phiếu kiểm nghiệm"},
        headers=admin.headers,
    )
    assert r.status_code == 200
    page = me.get(f"/producer/requests/{req.id}").get_data(as_text=True)
    assert "Cơ quan quản lý đã từ chối" in page and "Thiếu phiếu kiểm nghiệm" in page


def test_another_producers_request_is_a_404_on_every_page(app, client, session, admin, keyring):
    world = producer_world(session, "htx-a")
    producer_world(session, "htx-b")
    a = signed_in_client(app, "htx-a")
    _request(a, world.lot.id, "5", pin=False)
    req = _latest(session)
    approve(client, admin, req.id)
    b = signed_in_client(app, "htx-b")
    for path in ("", "/labels.pdf", "/labels.csv", "/labels.zpl"):
        assert b.get(f"/producer/requests/{req.id}{path}").status_code == 404, path
    token = csrf_token(b, "/producer/requests/new")
    resp = b.post(
        "/producer/requests/new",
        data={"csrf_token": token, "key": "k-b", "lot_id": str(world.lot.id), "quantity": "5"},
    )
    assert resp.status_code == 422 and _latest(session).id == req.id
    assert (
        str(req.id)
        not in b.get("/producer/requests/").get_data(as_text=True).split("<main")[1].split("Xin tem")[1]
    )
    resp = b.post(
        f"/producer/requests/{req.id}/void",
        data={"csrf_token": token, "seq_from": "1", "seq_to": "2", "confirm": "yes"},
    )
    assert resp.status_code == 404
    assert session.scalars(select(StampVoid)).first() is None


def test_void_a_spoiled_range_with_a_confirmation_naming_the_count(app, client, session, admin, keyring):
    from tests.integration.test_verify_page import verdict_of

    world = producer_world(session, "htx-void")
    me = signed_in_client(app, "htx-void")
    _request(me, world.lot.id, "12", pin=False)
    req = _latest(session)
    approve(client, admin, req.id)
    token = csrf_token(me, f"/producer/requests/{req.id}")
    path = f"/producer/requests/{req.id}/void"
    too_far = me.post(path, data={"csrf_token": token, "seq_from": "10", "seq_to": "13"})
    assert too_far.status_code == 422 and "chỉ có tem số 1 đến 12" in too_far.get_data(as_text=True)
    ask = me.post(path, data={"csrf_token": token, "seq_from": "3", "seq_to": "7", "reason_code": "spoiled"})
    assert ask.status_code == 200 and "Bạn sắp huỷ 5 tem (STT 3 đến 7)" in ask.get_data(as_text=True)
    assert session.scalars(select(StampVoid)).first() is None  # not before the confirmation
    done = me.post(
        path,
        data={
            "csrf_token": token,
            "seq_from": "3",
            "seq_to": "7",
            "reason_code": "spoiled",
            "confirm": "yes",
        },
    )
    assert done.status_code == 302
    shown = me.get(done.headers["Location"]).get_data(as_text=True)
    assert "Đã huỷ 5 tem" in shown, shown.split("<main")[1][:1500]
    session.expire_all()
    void = session.scalars(select(StampVoid)).one()
    assert (void.seq_from, void.seq_to, void.reason_code) == (3, 7, "spoiled")
    rows = list(
        csv.DictReader(io.StringIO(me.get(f"/producer/requests/{req.id}/labels.csv").get_data(as_text=True)))
    )
    public = app.test_client()
    for row in rows:
        page = public.get(urlsplit(row["url"]).path).get_data(as_text=True)
        expected = "revoked" if 3 <= int(row["seq"]) <= 7 else "genuine"
        assert verdict_of(page) == expected, row["seq"]


def _issued(app, client, session, admin, name: str, quantity: str = "10"):
    world = producer_world(session, name)
    me = signed_in_client(app, name)
    _request(me, world.lot.id, quantity, pin=False)
    req = _latest(session)
    assert approve(client, admin, req.id).get_json()["state"] == "issued"
    return world, me, req


def _flash_after(me, path: str) -> str:
    resp = me.get(path)
    assert resp.status_code == 302
    return me.get(resp.headers["Location"]).get_data(as_text=True).split('class="flash error"')[1][:400]


def test_a_recalled_lots_request_says_so_and_offers_no_download(app, client, session, admin, keyring):
    world, me, req = _issued(app, client, session, admin, "htx-recalled")
    body = {"reason": "Dư lượng thuốc BVTV", "decision": decision("3900/QĐ-UBND")}
    recalled = client.post(f"/api/v1/lots/{world.lot.id}/recall", json=body, headers=admin.headers)
    assert recalled.status_code == 200
    page = me.get(f"/producer/requests/{req.id}").get_data(as_text=True)
    assert "Lô hàng này đã bị thu hồi theo quyết định 3900/QĐ-UBND ngày 18/11/2026." in page
    assert "Dư lượng thuốc BVTV" in page and "Không được in các tem này" in page
    assert "Sẵn sàng để in" not in page and "Không được in" in page
    assert "labels.pdf" not in page and "labels.csv" not in page and "labels.zpl" not in page
    assert "Xin thêm tem cho lô này" not in page
    listed = me.get("/producer/requests/").get_data(as_text=True).split("<main")[1]
    assert "Không được in" in listed and "Sẵn sàng để in" not in listed  # the list says it too
    for fmt in ("pdf", "csv", "zpl"):  # a download by its address: the real reason, not "not ready"
        said = _flash_after(me, f"/producer/requests/{req.id}/labels.{fmt}")
        assert "3900/QĐ-UBND" in said and "Không được in các tem này." in said, said
        assert "chưa sẵn sàng" not in said


def test_withdrawn_stars_stop_printing_with_the_decision(app, client, session, admin, keyring):
    world, me, req = _issued(app, client, session, admin, "htx-withdrawn")
    cert = session.scalars(select(Certificate).where(Certificate.product_id == world.product.id)).one()
    body = {"reason": "Vi phạm chất lượng", "decision": decision("3763/QĐ-UBND")}
    resp = client.post(f"/api/v1/certificates/{cert.id}/withdrawal", json=body, headers=admin.headers)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    page = me.get(f"/producer/requests/{req.id}").get_data(as_text=True)
    assert "Sản phẩm đã bị thu hồi hạng sao OCOP theo quyết định 3763/QĐ-UBND ngày 18/11/2026." in page
    assert "Sẵn sàng để in" not in page and "labels.pdf" not in page and "Xin thêm tem cho lô này" not in page
    said = _flash_after(me, f"/producer/requests/{req.id}/labels.pdf")
    assert "3763/QĐ-UBND" in said and "chưa sẵn sàng" not in said


def test_a_download_before_approval_or_after_rejection_names_why(app, client, session, admin):
    world = producer_world(session, "htx-early")
    me = signed_in_client(app, "htx-early")
    _request(me, world.lot.id, "10", pin=False)
    req = _latest(session)
    assert "cơ quan quản lý chưa duyệt" in _flash_after(me, f"/producer/requests/{req.id}/labels.csv")
    reason = {"reason": "Sai lô"}
    r = client.post(f"/api/v1/stamp-requests/{req.id}/reject", json=reason, headers=admin.headers)
    assert r.status_code == 200
    said = _flash_after(me, f"/producer/requests/{req.id}/labels.csv")
    assert "đã từ chối yêu cầu này" in said


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("99999999999999999999999", "Tối đa 10.000.000"),
        ("1.000.000.000", "Tối đa 10.000.000"),
        ("1.5", "chỉ dùng chữ số"),
        ("mười", "chỉ dùng chữ số"),
        ("0", "Nhập một số nguyên lớn hơn 0."),
    ],
)
def test_a_wrong_quantity_is_told_what_is_accepted(app, session, typed, message):
    world = producer_world(session, "htx-qty-" + hashlib.sha256(typed.encode()).hexdigest()[:8])
    me = signed_in_client(app, world.account)
    resp = _request(me, world.lot.id, typed, pin=False)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422
    error = page.split('id="f-quantity-error"')[1].split("</p>")[0]
    assert message in error, error


def test_an_over_limit_request_names_the_limit_and_what_is_left(app, session):
    world = producer_world(session, "htx-room", lot_quantity=2000)
    me = signed_in_client(app, "htx-room")
    assert _request(me, world.lot.id, "1.500", pin=False).status_code == 302
    resp = _request(me, world.lot.id, "1.000", pin=False)
    error = resp.get_data(as_text=True).split('id="f-quantity-error"')[1].split("</p>")[0]
    # the lot's 2.000 plus the 2% spare: 2.040, of which 1.500 are asked for already
    assert "tối đa 2.040 tem" in error and "còn có thể xin 540 tem" in error, error
