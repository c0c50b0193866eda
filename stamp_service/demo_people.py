"""Demo sign-ins for the pages (``make run``): office administrators of Hà Tĩnh (42), Thanh Hóa (38)
and the central level, a Hà Tĩnh inspector, the demo producer's administrator and one staff
member it invited (docs/producers.md: staff record lots and request stamps, cannot void them).

Passwords are new on each start and printed once, like the demo API tokens, so a demo database
copied elsewhere does not carry a known password.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from stamp_service.demo import DEMO_PRODUCER_ACCOUNT
from stamp_service.domain.access import SYSTEM, Role
from stamp_service.runtime import Runtime
from stamp_service.services import accounts
from stamp_service.storage.models.accounts import Account

# (user name, role, province code) of the office and inspector demo accounts.
DEMO_PEOPLE = (
    ("hatinh-admin", Role.ADMIN, "42", "Hà Tĩnh office administrator"),
    ("thanhhoa-admin", Role.ADMIN, "38", "Thanh Hóa office administrator"),
    ("central-admin", Role.ADMIN, None, "central office administrator"),
    ("hatinh-inspector", Role.INSPECTOR, "42", "Hà Tĩnh inspector"),
)
DEMO_PRODUCER_STAFF = "demo-producer-staff"


def demo_password() -> str:
    return "demo-" + secrets.token_hex(5)


def prepare(runtime: Runtime) -> Iterator[str]:
    with runtime.session_factory() as session:
        lines = list(_demo_sign_ins(session))
    yield "demo sign-ins for the pages (/signin; passwords new on each start):"
    yield from lines


def _demo_sign_ins(session: Session) -> Iterator[str]:
    for name, role, province, what in DEMO_PEOPLE:
        account = session.scalar(select(Account).where(Account.name == name))
        if account is None:
            account = accounts.create_account(session, SYSTEM, name=name, role=role, province_code=province)
        yield _with_new_password(session, account, what)
    producer = session.scalar(select(Account).where(Account.name == DEMO_PRODUCER_ACCOUNT))
    if producer is not None:
        yield _with_new_password(session, producer, "producer administrator (HTX, Hà Tĩnh)")
        staff = session.scalar(select(Account).where(Account.name == DEMO_PRODUCER_STAFF))
        if staff is None:  # invited by the producer's administrator, as on its staff page
            staff, _code = accounts.create_account_with_code(
                session,
                accounts.principal_of(producer),
                name=DEMO_PRODUCER_STAFF,
                role=Role.PRODUCER,
                producer_id=producer.producer_id,
                display_name="Nguyễn Thị Lan",
            )
        yield _with_new_password(session, staff, "producer staff member (same HTX)")


def _with_new_password(session: Session, account: Account, what: str) -> str:
    password = demo_password()
    accounts.set_password(session, SYSTEM, account.id, password)
    return f"  {account.name:<19} {password:<16} {what}"
