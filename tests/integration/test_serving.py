"""Background issuance starts on the serving path only, never when an app is merely built."""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

from stamp_service import create_app
from stamp_service.config import Settings
from stamp_service.serve import start_background_work


def _settings(tmp_path: Path, database_url: str, redis_url: str | None = None) -> Settings:
    keys = tmp_path / "keys"
    keys.mkdir(exist_ok=True)
    return Settings(
        database_url=database_url,
        redis_url=redis_url,
        keys_dir=keys,
        var_dir=tmp_path / "var",
        public_base_url="https://TEM.OCOP.LOCAL",
        log_json=False,
        testing=False,  # as in production: nothing may start because the app was built
    )


def _issuance_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "ocop-issuance" and t.is_alive()]


def test_building_an_app_on_a_fresh_database_starts_nothing_and_logs_no_error(tmp_path, caplog):
    before = set(_issuance_threads())
    with caplog.at_level(logging.WARNING):
        app = create_app(_settings(tmp_path, f"sqlite:///{tmp_path / 'fresh.sqlite3'}"))  # not migrated
        threading.Event().wait(0.3)  # a thread started by create_app would have failed by now
    rt = app.extensions["ocop"]
    try:
        assert set(_issuance_threads()) == before
        assert "issuance" not in rt.services
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    finally:
        rt.engine.dispose()


def test_the_serving_path_starts_the_thread_only_without_redis(tmp_path, database_url):
    app = create_app(_settings(tmp_path, database_url))
    rt = app.extensions["ocop"]
    try:
        assert start_background_work(app) is True
        worker = rt.services["issuance"].thread
        assert worker._thread is not None and worker._thread.is_alive()
    finally:
        rt.services["issuance"].thread.stop()
        rt.engine.dispose()

    with_redis = create_app(
        _settings(
            tmp_path, database_url, redis_url=os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
        )
    )
    try:
        assert start_background_work(with_redis) is False
        assert "issuance" not in with_redis.extensions["ocop"].services
    finally:
        with_redis.extensions["ocop"].engine.dispose()
