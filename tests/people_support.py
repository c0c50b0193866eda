"""Helpers for tests of the pages for people: accounts with passwords, forms with CSRF tokens."""

from __future__ import annotations

import itertools
import re

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from stamp_service.domain.access import SYSTEM, Role
from stamp_service.services import accounts

PASSWORD = "correct horse battery"
_seq = itertools.count(1)
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def make_person(
    session: Session,
    role: Role = Role.ADMIN,
    *,
    name: str | None = None,
    province_code: str | None = None,
    producer_id: int | None = None,
    password: str = PASSWORD,
) -> int:
    account = accounts.create_account(
        session,
        SYSTEM,
        name=name or f"person-{role.value}-{next(_seq)}",
        role=role,
        province_code=province_code,
        producer_id=producer_id,
        password=password,
    )
    return account.id


def csrf_token(client: FlaskClient, path: str) -> str:
    page = client.get(path)
    found = _CSRF.search(page.get_data(as_text=True))
    assert found, f"no CSRF token on {path} ({page.status_code})"
    return found.group(1)


def post_form(client: FlaskClient, path: str, data: dict[str, str], *, form_page: str | None = None):  # type: ignore[no-untyped-def]
    """POST ``data`` with the CSRF token of ``form_page`` (default: the path itself)."""
    token = csrf_token(client, form_page or path)
    return client.post(path, data={**data, "csrf_token": token})


def sign_in(client: FlaskClient, name: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    return post_form(client, "/signin", {"name": name, "password": password})
