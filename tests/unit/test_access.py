"""The pure access rule: producer scope, province scope, central-only and who certifies."""

from __future__ import annotations

import pytest

from stamp_service.domain.access import (
    Owner,
    Principal,
    Role,
    can_read,
    province_scope,
    require_central,
    require_certifying_level,
    require_read,
    require_write,
)
from stamp_service.errors import Forbidden, NotFound

HA_TINH_RECORD = Owner(producer_id=1, province_code="42")
THANH_HOA_RECORD = Owner(producer_id=2, province_code="38")


def who(role: Role, province: str | None = None, producer: int | None = None) -> Principal:
    return Principal(account_id=1, name="x", role=role, producer_id=producer, province_code=province)


@pytest.mark.parametrize(
    ("principal", "readable"),
    [
        (who(Role.ADMIN), {1, 2}),
        (who(Role.INSPECTOR), {1, 2}),
        (who(Role.ADMIN, "42"), {1}),
        (who(Role.INSPECTOR, "38"), {2}),
        (who(Role.PRODUCER, producer=2), {2}),
        (who(Role.PRODUCER, "42", producer=2), {2}),  # a producer's scope is its producer
    ],
)
def test_who_reads_what(principal, readable):
    owners = (HA_TINH_RECORD, THANH_HOA_RECORD)
    assert {o.producer_id for o in owners if can_read(principal, o)} == readable
    for owner in owners:
        if owner.producer_id not in readable:
            with pytest.raises(NotFound):
                require_read(principal, owner, "lot")
            with pytest.raises(NotFound):  # not Forbidden: the id stays unknown
                require_write(principal, owner, "lot")


def test_inspectors_never_write_and_scopes_for_listings():
    with pytest.raises(Forbidden):
        require_write(who(Role.INSPECTOR, "42"), HA_TINH_RECORD)
    require_write(who(Role.ADMIN, "42"), HA_TINH_RECORD)
    assert province_scope(who(Role.ADMIN, "42")) == "42"
    assert province_scope(who(Role.ADMIN)) is None
    assert province_scope(who(Role.PRODUCER, "42", producer=1)) is None


def test_central_only_and_who_certifies():
    provincial, central = who(Role.ADMIN, "42"), who(Role.ADMIN)
    require_central(central)
    with pytest.raises(Forbidden):
        require_central(provincial)
    for level in ("province", "district"):
        require_certifying_level(provincial, level, stars=4)
    require_certifying_level(central, "central", stars=5)
    with pytest.raises(Forbidden) as refused:
        require_certifying_level(provincial, "central", stars=5)
    assert refused.value.extra["rule"] == "certifying-authority-level"
    assert "5-star" in refused.value.detail
