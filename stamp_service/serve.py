"""Starting the service: embedded-default preparation and gunicorn in-process."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from stamp_service.runtime import Runtime

if TYPE_CHECKING:
    from flask import Flask

# Each feature may add a preparation step ``prepare(runtime) -> Iterator[str]`` (lines to print).
# Every start of ``serve``: the schema and the built-in reference data (both no-ops when current),
# so that a new deployment's office can register its first producer.
START_STEPS = ("stamp_service.storage.migrate", "stamp_service.services.reference")
EMBEDDED_STEPS = (
    *START_STEPS,
    "stamp_service.services.keys",
    "stamp_service.demo",
    "stamp_service.demo_stamps",
    "stamp_service.demo_revocations",
    "stamp_service.demo_people",
)


def prepare_start(runtime: Runtime) -> Iterator[str]:
    """Migrate and load the built-in reference data; say what was done."""
    for name in START_STEPS:
        module = importlib.import_module(name)
        yield from module.prepare(runtime)


def prepare_embedded(runtime: Runtime) -> Iterator[str]:
    """Migrate, create what a newcomer needs (dev key, demo data, tokens) and say what was done."""
    for name in EMBEDDED_STEPS:
        module = importlib.import_module(name)
        yield from module.prepare(runtime)


def start_background_work(app: Flask) -> bool:
    """Serving path only (``wsgi``, after the app is built): start this process's status generation
    sync, and its issuance thread on the embedded default (with Redis, ``stamp-service worker`` does
    that work). True if the issuance thread was started.

    Never called by ``create_app``: building an app (tests, scripts, a fresh database) starts nothing.
    """
    from stamp_service.services import issuance_jobs
    from stamp_service.services.status_events import start_sync_thread

    runtime: Runtime = app.extensions["ocop"]
    # Status changes the shared store missed (made during a Redis outage, or by the CLI on the
    # embedded default) reach it within a second (services.status_events).
    start_sync_thread(runtime.session_factory, runtime.store)
    if runtime.settings.redis_url:
        return False
    issuance_jobs.start_background(runtime)
    return True


def run_gunicorn(*, host: str, port: int, workers: int, threads: int) -> None:
    import os
    import shutil

    from gunicorn.app.base import BaseApplication

    from stamp_service.config import load_settings
    from stamp_service.web.errors import GUNICORN_REQUEST_LINE

    # One /metrics answer for all workers (web.metrics): their files live here, emptied at start.
    metrics_dir = load_settings().var_dir / "prometheus"
    shutil.rmtree(metrics_dir, ignore_errors=True)
    metrics_dir.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)

    def child_exit(_server: Any, worker: Any) -> None:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)

    class _App(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("threads", threads)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("accesslog", None)
            self.cfg.set("timeout", 60)
            # The app answers long targets with a 414 problem (web.errors.MAX_REQUEST_TARGET);
            # gunicorn's own (HTML) 414 is left for lines above its maximum.
            self.cfg.set("limit_request_line", GUNICORN_REQUEST_LINE)
            self.cfg.set("child_exit", child_exit)

        def load(self) -> Any:
            from stamp_service.wsgi import app

            return app

    _App().run()
