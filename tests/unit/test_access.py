"""The pure access rule: producer scope, province scope, central-only, who certifies, and what a
producer's staff member may do beside its administrator."""

from __future__ import annotations

import pytest

from stamp_service.domain.access import (
    Owner,
    Principal,
    ProducerDuty,
    Role,
    can_read,
    may,
    province_scope,
    require_account_manager,
    require_central,
    require_certifying_level,
    require_duty,
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


def test_a_producers_staff_do_the_daily_work_and_its_administrator_also_voids_and_manages_staff():
    staff = who(Role.PRODUCER, producer=1)
    boss = Principal(account_id=2, name="b", role=Role.PRODUCER, producer_id=1, producer_admin=True)
    table = {duty: (may(staff, duty), may(boss, duty)) for duty in ProducerDuty}
    assert table == {
        ProducerDuty.RECORDS: (True, True),
        ProducerDuty.STAMP_REQUESTS: (True, True),
        ProducerDuty.READ: (True, True),
        ProducerDuty.VOID_STAMPS: (False, True),
        ProducerDuty.MANAGE_STAFF: (False, True),
    }
    with pytest.raises(Forbidden) as refused:
        require_duty(staff, ProducerDuty.VOID_STAMPS)
    assert refused.value.extra["rule"] == "producer-administrator-only"
    require_duty(boss, ProducerDuty.VOID_STAMPS)
    for other in (who(Role.ADMIN, "42"), who(Role.INSPECTOR)):  # other roles: their own checks apply
        assert all(may(other, duty) for duty in ProducerDuty)


@pytest.mark.parametrize(
    ("principal", "manages"),
    [
        (who(Role.ADMIN), True),
        (who(Role.ADMIN, "42"), True),
        (Principal(account_id=2, name="b", role=Role.PRODUCER, producer_id=1, producer_admin=True), True),
        (who(Role.PRODUCER, producer=1), False),
        (who(Role.INSPECTOR, "42"), False),
        # the flag means nothing outside the producer role
        (Principal(account_id=3, name="i", role=Role.INSPECTOR, producer_admin=True), False),
    ],
)
def test_who_manages_accounts(principal, manages):
    if manages:
        require_account_manager(principal)
    else:
        with pytest.raises(Forbidden):
            require_account_manager(principal)
