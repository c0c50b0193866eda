"""Demo data for the embedded default: a few Hà Tĩnh OCOP products, and demo accounts.

Idempotent: run on every ``make run``; it loads data once and issues fresh
demo tokens each start (the previous demo tokens are revoked).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from sqlalchemy import select, update

from stamp_service.domain.access import SYSTEM, Role
from stamp_service.runtime import Runtime
from stamp_service.services import accounts, reference
from stamp_service.storage.models.accounts import Account, ApiToken
from stamp_service.storage.models.reference import ProductGroup

DEMO_TOKEN_LABEL = "demo"


def prepare(runtime: Runtime) -> Iterator[str]:
    with runtime.session_factory() as session:
        if session.scalar(select(ProductGroup.code).limit(1)) is None:
            reference.load_builtin(session, SYSTEM)
            yield "reference data loaded"
        yield from _demo_accounts(session)


def _demo_accounts(session) -> Iterator[str]:  # type: ignore[no-untyped-def]
    wanted = [("demo-admin", Role.ADMIN, None), ("demo-inspector", Role.INSPECTOR, None)]
    yield "demo API tokens (new on each start):"
    for name, role, producer_id in wanted:
        account = session.scalar(select(Account).where(Account.name == name))
        if account is None:
            account = accounts.create_account(session, SYSTEM, name=name, role=role, producer_id=producer_id)
        session.execute(
            update(ApiToken)
            .where(
                ApiToken.account_id == account.id,
                ApiToken.label == DEMO_TOKEN_LABEL,
                ApiToken.revoked_at.is_(None),
            )
            .values(revoked_at=datetime.now(UTC))
        )
        issued = accounts.issue_token(session, SYSTEM, account_id=account.id, label=DEMO_TOKEN_LABEL)
        yield f"  {role.value:<10} {issued.token}"
