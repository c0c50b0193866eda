"""The audit log page: central office only, searchable, with the hash chain's status on request."""

from __future__ import annotations

from sqlalchemy import update

from stamp_service.domain.access import Role
from stamp_service.storage.models.audit import AuditEntry
from tests.factories import make_producer
from tests.people_support import make_person, sign_in


def test_central_office_searches_the_log_and_checks_the_chain(client, session):
    producer = make_producer(session, name="HTX <script>alert(1)</script>")
    make_person(session, Role.ADMIN, name="central-audit")
    sign_in(client, "central-audit")
    html = client.get("/console/audit/?action=producer").get_data(as_text=True)
    assert "producer.create" in html and f"producer {producer.id}" in html
    assert "account.create" not in html
    assert "Tìm thấy 1 mục" in html
    ok = client.get("/console/audit/?verify=1").get_data(as_text=True)
    assert "Chuỗi mã băm nguyên vẹn" in ok
    entry_id = session.query(AuditEntry.id).filter_by(action="producer.create").scalar()
    session.execute(update(AuditEntry).where(AuditEntry.id == entry_id).values(reason="sửa lén"))
    session.commit()
    broken = client.get("/console/audit/?verify=1&lang=en").get_data(as_text=True)
    assert f"The hash chain is broken at entry {entry_id}" in broken


def test_a_provincial_office_may_not_read_the_log(client, session):
    make_person(session, Role.ADMIN, name="ht-audit", province_code="42")
    sign_in(client, "ht-audit")
    assert client.get("/console/audit/").status_code == 403
    assert "/console/audit/" not in client.get("/console/producers/").get_data(as_text=True)
