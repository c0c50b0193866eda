"""A producer's staff in headless Chromium at 390 x 844, in Vietnamese (issue 11).

The producer's administrator invites a staff member (a one-time code shown once); the staff
member signs in with it, chooses a password, records a lot and requests stamps, but has no staff
page and no void form (a forged void answers 404); the administrator deactivates them and their
open session stops at the next click. axe-core on every new page, nothing wider than the phone,
screenshots (OCOP_SCREENSHOT_DIR=docs/img/producers keeps them for docs/producers.md).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from functools import partial

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from stamp_service.demo import DEMO_PRODUCER_ACCOUNT, demo_producer_id, load_demo_registry
from stamp_service.domain.access import Principal, Role
from stamp_service.schemas.stamp_requests import ApproveIn
from stamp_service.services import issuance_jobs, stamp_requests
from stamp_service.storage.models.accounts import Account
from stamp_service.storage.models.stamps import StampRequest
from tests.e2e.pages import PHONE, check
from tests.e2e.pages import sign_in as _sign_in
from tests.people_support import PASSWORD, make_person
from tests.stamp_factories import ensure_keyring

_check = partial(check, prefix="producer-", width_in_name=False)  # the names docs/ use
PORTS = range(9300, 9400)  # this suite's own port range on shared machines
STAFF_PASSWORD = "Lan chọn mật khẩu 2026"


@pytest.fixture()
def staff_url(app) -> Iterator[str]:
    """The app on a free port of PORTS (a thread, like tests/e2e's live_url)."""
    server = None
    for port in PORTS:
        try:
            server = make_server("127.0.0.1", port, app, threaded=False)
            break
        except OSError:
            continue
    assert server is not None, "no free port in 9300-9399"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)


def test_administrator_invites_staff_who_works_until_deactivated(
    browser,
    staff_url,
    app,
    session,
    settings,
    shots,
):
    load_demo_registry(session)
    make_person(session, Role.PRODUCER, name=DEMO_PRODUCER_ACCOUNT, producer_id=demo_producer_id(session))
    office = make_person(session, Role.ADMIN, name="office-staff-e2e")
    ensure_keyring(session, settings.keys_dir)

    # The administrator invites Lan (a mistake first: the messages are next to the fields)
    boss_context = browser.new_context(viewport=PHONE, locale="vi-VN")
    boss = boss_context.new_page()
    _sign_in(boss, staff_url, DEMO_PRODUCER_ACCOUNT, PASSWORD)
    boss.click("nav >> text=Nhân viên")
    assert boss.url.endswith("/producer/staff/")
    _check(boss, shots, "staff")
    boss.click("text=Mời nhân viên")
    boss.fill("#f-name", "lan nguyen")
    boss.click("main button[type=submit]")
    assert "Nhập họ và tên" in boss.inner_text("#f-display_name-error")
    assert boss.inner_text("#f-name-error")
    _check(boss, shots, "staff-new-error")
    boss.fill("#f-display_name", "Nguyễn Thị Lan")
    boss.fill("#f-name", "lan.nguyen")
    boss.click("main button[type=submit]")
    code = boss.inner_text("p.secret").strip()
    assert len(code) == 19 and "lan.nguyen" in boss.inner_text("main")
    _check(boss, shots, "staff-code")
    boss.click("text=Xong")
    assert "Nhân viên" in boss.inner_text("dl.facts")

    # Lan signs in with the one-time code and must choose her password first
    staff_context = browser.new_context(viewport=PHONE, locale="vi-VN")
    staff = staff_context.new_page()
    _sign_in(staff, staff_url, "lan.nguyen", code)
    assert staff.url.endswith("/account/password")
    staff.fill("#f-current_password", code)
    staff.fill("#f-new_password", STAFF_PASSWORD)
    staff.fill("#f-confirm_password", STAFF_PASSWORD)
    staff.click("main button[type=submit]")
    staff.goto(staff_url + "/producer/")
    assert staff.url.endswith("/producer/") and "Nhân viên" not in staff.inner_text("nav")

    # She records a lot and requests stamps for it
    staff.click("main >> text=lô hàng")
    staff.click("text=Ghi lô hàng mới")
    staff.select_option("#f-product_id", index=1)
    staff.fill("#f-lot_code", "NV-LAN-01")
    staff.fill("#f-production_date", "2026-11-25")
    staff.fill("#f-quantity", "300")
    staff.fill("#f-unit", "hộp")
    staff.click("main button[type=submit]")
    assert "Đã ghi lô hàng" in staff.inner_text("main")
    staff.click("text=Xin tem cho lô này")
    staff.fill("#f-quantity", "20")
    staff.click("text=Gửi yêu cầu")
    assert "Đang chờ cơ quan quản lý duyệt" in staff.inner_text("main")
    session.expire_all()
    request_id = session.scalars(select(StampRequest.id).order_by(StampRequest.id.desc())).first()
    done = stamp_requests.approve(
        session,
        Principal(account_id=office, name="office-staff-e2e", role=Role.ADMIN),
        request_id,
        ApproveIn.model_validate({}),
        spare_percent=settings.stamp_spare_percent,
        issuance=issuance_jobs.for_app_runtime(app.extensions["ocop"]),
    )
    assert done.state == "issued"

    # She downloads the print files but is refused the void page
    staff.reload()
    assert "Sẵn sàng để in" in staff.inner_text("main")
    assert staff.locator("#f-seq_from").count() == 0
    assert "Chỉ quản trị viên của cơ sở được huỷ tem" in staff.inner_text("main")
    _check(staff, shots, "staff-request-no-void")
    top = staff.locator("#void").bounding_box()
    height = staff.evaluate("document.documentElement.scrollHeight") - top["y"] + 8
    clip = {"x": 0, "y": top["y"] - 8, "width": PHONE["width"], "height": height}
    staff.screenshot(path=str(shots / "producer-staff-void-part.png"), full_page=True, clip=clip)
    token = staff.get_attribute("form.out input[name=csrf_token]", "value")
    forged = staff_context.request.post(
        f"{staff_url}/producer/requests/{request_id}/void",
        form={"csrf_token": token, "seq_from": "1", "seq_to": "3", "confirm": "yes"},
        max_redirects=0,
    )
    assert forged.status == 404
    staff.goto(staff_url + "/producer/staff/")
    assert "Không tìm thấy trang" in staff.inner_text("h1")
    _check(staff, shots, "staff-refused")

    # The administrator deactivates her; her open session stops at her next click
    boss.goto(staff_url + "/producer/staff/")
    assert "Nguyễn Thị Lan" in boss.inner_text("main") and "chưa bao giờ" not in boss.inner_text("main")
    boss.click("text=Nguyễn Thị Lan")
    _check(boss, shots, "staff-member")
    boss.check("input[name=confirm]")
    boss.click("button:has-text('Vô hiệu hóa tài khoản')")
    assert "Tài khoản đã bị vô hiệu hóa" in boss.inner_text("main")
    assert "đã vô hiệu hóa" in boss.inner_text("dl.facts")
    staff.goto(staff_url + "/producer/lots/")
    assert "/signin" in staff.url
    boss.goto(staff_url + "/producer/staff/")
    assert "đã vô hiệu hóa" in boss.inner_text("main")
    _check(boss, shots, "staff-list")
    session.expire_all()
    lan = session.scalars(select(Account).where(Account.name == "lan.nguyen")).one()
    assert not lan.active and not lan.producer_admin and lan.display_name == "Nguyễn Thị Lan"
    boss_context.close()
    staff_context.close()
