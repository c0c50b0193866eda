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
    assert "<code>producer.create</code>" in html
    assert f"Đăng ký chủ thể sản xuất</strong> · chủ thể sản xuất {producer.id}" in html
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


def test_entries_show_translated_labels_with_the_code_in_small_type(client, session):
    """QA review: raw codes ("signin.success · account 6") were the only description. Each action
    and record type has a label in the page's language; the code stays visible (auditors search
    by it); an unknown code shows as itself."""
    from stamp_service.domain.access import SYSTEM
    from stamp_service.services import audit

    account_id = make_person(session, Role.ADMIN, name="central-labels")
    audit.record(session, SYSTEM, action="lot.recall", entity="lot", entity_id=1, reason="Kiểm nghiệm")
    audit.record(session, SYSTEM, action="future.thing", entity="gizmo", entity_id=9)
    session.commit()
    sign_in(client, "central-labels")

    html = client.get("/console/audit/?action=signin").get_data(as_text=True)
    assert f"<strong>Đăng nhập thành công</strong> · tài khoản {account_id}" in html
    assert "<code>signin.success</code> · <code>account</code>" in html
    assert "signin.success · account" not in html

    html = client.get("/console/audit/?action=lot.recall").get_data(as_text=True)
    assert "<strong>Lô hàng bị thu hồi</strong> · lô hàng 1" in html
    assert "<code>lot.recall</code>" in html

    html = client.get("/console/audit/?action=future").get_data(as_text=True)
    assert "<strong>future.thing</strong> · gizmo 9" in html  # no label: the code itself

    html = client.get("/console/audit/?action=lot.recall&lang=en").get_data(as_text=True)
    assert "<strong>Lot recalled</strong> · production lot 1" in html

    # The search hint explains the codes instead of asking for "certificate hoặc producer.create".
    html = client.get("/console/audit/?lang=vi").get_data(as_text=True)
    assert "Mã in nhỏ dưới mỗi mục, ví dụ lot.recall" in html
    assert "certificate hoặc producer.create" not in html
    # The record type is chosen by its name, and the filter still works on the code.
    assert '<option value="account">tài khoản</option>' in html
    html = client.get("/console/audit/?entity=lot").get_data(as_text=True)
    assert '<option value="lot" selected>lô hàng</option>' in html
    assert "Tìm thấy 1 mục" in html


def test_every_audited_action_and_record_type_has_a_label():
    """The labels cover every ``action=`` and ``entity=`` code the services write (grep of
    stamp_service/services, plus the codes built at run time)."""
    import re
    from pathlib import Path

    from stamp_service.web.console_audit import ACTION_LABELS, ENTITY_LABELS

    services = Path(__file__).resolve().parents[2] / "stamp_service" / "services"
    text = "\n".join(p.read_text(encoding="utf-8") for p in services.rglob("*.py"))
    actions = set(re.findall(r'\baction="([a-z_]+\.[a-z_]+)"', text))
    actions |= set(re.findall(r'"(signing_key\.[a-z_]+)"', text))
    actions |= set(re.findall(r'"(finding\.[a-z_]+)"', text))
    actions |= {f"finding.propose_{a}" for a in ("void", "recall", "withdrawal")}
    entities = set(re.findall(r'\bentity="([a-z_]+)"', text))
    assert actions and entities
    assert sorted(actions - ACTION_LABELS.keys()) == []
    assert sorted(entities - ENTITY_LABELS.keys()) == []
