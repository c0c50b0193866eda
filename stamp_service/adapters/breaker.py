"""A half-open circuit breaker: after a failure, no call for a while, then one probe at a time.

One implementation for every dependency the public page can do without for a moment: Redis (the
store falls back to process memory) and the read replica (the primary answers). A dependency that
hangs would otherwise cost every request its full timeout.
"""

from __future__ import annotations

import threading
import time


class Breaker:
    """Closed: every call goes through. After ``failed()``: open for ``seconds`` (no call), then half
    open: one caller at a time probes (``allow()`` is True for it alone) until one ``succeeded()``."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._open_until = 0.0  # no call before this monotonic time
        self._tripped = False  # a call failed and none has succeeded since
        self._lock = threading.Lock()

    def allow(self) -> bool:
        now = time.monotonic()
        if now < self._open_until:
            return False
        if not self._tripped:
            return True
        with self._lock:
            if now < self._open_until:
                return False
            self._open_until = now + self.seconds  # this call probes; the others wait for it
        return True

    def failed(self) -> bool:
        """Open the breaker; True when it was closed (the first failure of an outage)."""
        first = not self._tripped
        self._tripped = True
        self._open_until = time.monotonic() + self.seconds
        return first

    def succeeded(self) -> bool:
        """Close the breaker; True when it was tripped (the dependency is back)."""
        if not self._tripped:
            return False
        self._tripped = False
        self._open_until = 0.0
        return True
