"""Every revoking action, made through the API on one worker, changes the verdict on another at once.

On PostgreSQL + Redis the two app instances share Redis, as gunicorn workers and hosts do. On the
embedded default each instance has its own in-process store, as separate processes do (a CLI action
beside the server): there the background sync copies the durable generation from the database
(``status_events.sync_from_database``, run twice a second by the serving path), and this test runs
that one step explicitly where the thread would.
"""

from __future__ import annotations

import pytest

from stamp_service import create_app
from stamp_service.adapters.redis import Store
from stamp_service.domain import serials
from stamp_service.services import status_events
from tests.revocation_support import decision
from tests.stamp_factories import ensure_keyring, make_issued_batch


@pytest.fixture()
def keyring(session, settings):
    return ensure_keyring(session, settings.keys_dir)


@pytest.fixture()
def batch(session, keyring):
    return make_issued_batch(session, keyring, n=3)


@pytest.fixture()
def other(app, settings):
    """A second worker on the same database (and the same Redis, when there is one)."""
    second = create_app(settings)
    rt = second.extensions["ocop"]
    rt.session_factory = app.extensions["ocop"].session_factory
    yield second
    rt.close()


def verdict_on(worker, session, token: str) -> str:
    rt = worker.extensions["ocop"]
    if rt.store.redis is None:  # what the sync thread does within half a second
        status_events.sync_from_database(session, rt.store)
    return worker.test_client().get(f"/api/v1/verify/{token}").get_json()["verdict"]


def _withdraw(client, admin, batch):
    return client.post(
        f"/api/v1/certificates/{batch.certificate.id}/withdrawal",
        json={"decision": decision(), "reason": "vi phạm an toàn thực phẩm"},
        headers=admin.headers,
    )


def _recall(client, admin, batch):
    return client.post(
        f"/api/v1/lots/{batch.lot.id}/recall",
        json={"reason": "vi sinh vượt ngưỡng", "decision": decision("12/QĐ-CCATTP")},
        headers=admin.headers,
    )


def _void(client, admin, batch):
    serial = serials.format_serial(serials.from_db(batch.stamps[0].serial))
    return client.post(
        "/api/v1/voids",
        json={"serial": serial, "reason_code": "copied", "reason": "tem sao chép bị thu giữ"},
        headers=admin.headers,
    )


def _compromise(client, admin, batch):
    return client.post(
        f"/api/v1/signing-keys/{batch.stamps[0].kid}/compromise",
        json={"reason": "máy ký bị đánh cắp"},
        headers=admin.headers,
    )


@pytest.mark.parametrize(
    ("action", "expected"),
    [(_withdraw, "revoked"), (_recall, "revoked"), (_void, "revoked"), (_compromise, "genuine")],
)
def test_an_action_on_one_worker_changes_the_next_scan_on_another(
    client, admin, session, batch, other, action, expected
):
    token = batch.tokens[0]
    assert verdict_on(other, session, token) == "genuine"  # now cached on the other worker
    assert action(client, admin, batch).status_code == 200
    body = other.test_client().get(f"/api/v1/verify/{token}").get_json()
    if other.extensions["ocop"].store.redis is None:
        status_events.sync_from_database(session, other.extensions["ocop"].store)
        body = other.test_client().get(f"/api/v1/verify/{token}").get_json()
    assert body["verdict"] == expected
    if action is _compromise:  # stays confirmed online, with a warning
        assert [w["cause"] for w in body["warnings"]] == ["key_compromised"]


def test_a_change_made_by_another_process_is_not_lost(app, session, session_factory, batch):
    """A CLI action on the embedded default uses its own in-process store: the database carries it."""
    token = batch.tokens[0]
    client = app.test_client()
    assert client.get(f"/api/v1/verify/{token}").get_json()["verdict"] == "genuine"
    from stamp_service.domain.access import SYSTEM
    from stamp_service.schemas.revocation import WithdrawalIn
    from stamp_service.services import revocation

    cli_store = Store(None)  # the CLI process's own store: nobody else reads it
    with session_factory(info={"store": cli_store}) as cli_session:
        body = WithdrawalIn.model_validate_json(
            '{"decision": {"number": "3763/QĐ-UBND", "decided_on": "2026-11-18",'
            ' "authority": "UBND tỉnh Hà Tĩnh"}, "reason": "vi phạm"}'
        )
        revocation.withdraw_certificate(cli_session, SYSTEM, batch.certificate.id, body)
    assert status_events.sync_from_database(session, app.extensions["ocop"].store) or (
        app.extensions["ocop"].store.redis is not None
    )
    assert client.get(f"/api/v1/verify/{token}").get_json()["verdict"] == "revoked"


def test_a_change_whose_publish_was_lost_reaches_redis_through_the_sync(app, session):
    """A revocation made while Redis was unreachable bumped only the database: the per-process sync
    (every half second on the serving path) moves the shared generation, once per change."""
    store = app.extensions["ocop"].store
    if store.redis is None:
        pytest.skip("needs the real Redis (PostgreSQL + Redis pass)")
    status_events.sync_from_database(session, store)
    before = status_events.current_generation(store)
    status_events._bump_database(session)  # the change committed; its publish to Redis failed
    assert status_events.current_generation(store) == before
    assert status_events.sync_from_database(session, store)
    assert status_events.current_generation(store) == before + 1
    assert not status_events.sync_from_database(session, store)  # once per change, not per tick
    assert status_events.current_generation(store) == before + 1
