"""Fixtures shared by the registry API tests."""

from __future__ import annotations

import pytest

from stamp_service.domain.access import Role
from tests.factories import Caller, make_caller


@pytest.fixture()
def admin(session) -> Caller:
    return make_caller(session, Role.ADMIN)


@pytest.fixture()
def inspector(session) -> Caller:
    return make_caller(session, Role.INSPECTOR)
