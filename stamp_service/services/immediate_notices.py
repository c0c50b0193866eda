"""Telling the office about a new stamp request at once, off the request path.

``stamp_requests.create_request`` calls ``request_created(id)`` after its commit; this only puts
the id on an in-process queue (it never waits for SMTP). One daemon thread per process (started
on first use, again after a fork) sends through ``notifications.send_new_request``, with its own
database session. A slow or failing SMTP server only delays that thread: the request is already
stored and answered, and a notice that could not be sent is left to the ``stamp-service notify``
sweep (the claim/confirm rows of ``notifications`` keep it to one message per channel). A queue
lost with its process (a restart) is also covered by the sweep.

With ``settings.testing`` no thread is started: the ids wait until the test calls ``drain()``
in its own thread (the test database is one connection), as the issuance worker does.
"""

from __future__ import annotations

import logging
import os
import queue
import threading

from stamp_service.notifier import Channel, channels_from
from stamp_service.runtime import Runtime
from stamp_service.services.notifications import SendReport, send_new_request

log = logging.getLogger(__name__)


class ImmediateNotices:
    def __init__(
        self, runtime: Runtime, *, channels: list[Channel] | None = None, background: bool | None = None
    ):
        self.runtime = runtime
        self.channels = channels if channels is not None else channels_from(runtime.settings)
        self.background = not runtime.settings.testing if background is None else background
        self._queue: queue.Queue[int] = queue.Queue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()

    def request_created(self, request_id: int) -> None:
        """Queue the notice of a new request (nothing at all when notifications are off)."""
        if not self.channels:
            return
        self._queue.put(request_id)
        if self.background:
            self._ensure_thread()

    def _ensure_thread(self) -> None:
        with self._lock:
            if self._thread is not None and self._thread.is_alive() and self._pid == os.getpid():
                return
            self._pid = os.getpid()
            self._thread = threading.Thread(target=self._run, name="ocop-notices", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            request_id = self._queue.get()
            try:
                self.send(request_id)
            finally:
                self._queue.task_done()

    def send(self, request_id: int) -> SendReport | None:
        """Send one request's notice now; never raises (the sweep retries what failed)."""
        settings = self.runtime.settings
        try:
            with self.runtime.session_factory() as session:
                report = send_new_request(
                    session,
                    request_id,
                    self.channels,
                    settings.notify_recipients,
                    base_url=settings.public_base_url.lower(),
                )
        except Exception:  # a database error must not kill the thread; the sweep has it
            log.exception("new request notice failed", extra={"request_id": request_id})
            return None
        if report.failed:
            log.warning(
                "new request notice not sent; the notify sweep retries it", extra={"request_id": request_id}
            )
        return report

    def drain(self) -> int:
        """Send every queued notice in the calling thread (tests); returns how many were queued."""
        done = 0
        while True:
            try:
                request_id = self._queue.get_nowait()
            except queue.Empty:
                return done
            try:
                self.send(request_id)
            finally:
                self._queue.task_done()
            done += 1

    def wait(self, timeout: float) -> bool:
        """Until the background thread has sent everything queued (True) or ``timeout`` seconds passed."""
        with self._queue.all_tasks_done:
            return self._queue.all_tasks_done.wait_for(lambda: self._queue.unfinished_tasks == 0, timeout)

    @property
    def queued(self) -> int:
        return self._queue.unfinished_tasks


def for_app_runtime(runtime: Runtime) -> ImmediateNotices:
    notices = runtime.services.get("immediate_notices")
    if notices is None:
        notices = runtime.services.setdefault("immediate_notices", ImmediateNotices(runtime))
    return notices  # type: ignore[no-any-return]
