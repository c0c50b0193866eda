"""The one circuit breaker (Redis store, read replica): open after a failure, then one probe."""

from __future__ import annotations

import time

from stamp_service.adapters.breaker import Breaker


def test_a_failure_opens_it_then_one_caller_probes_until_one_succeeds():
    breaker = Breaker(0.05)
    assert breaker.allow() and breaker.allow()  # closed: everyone goes through
    assert breaker.failed() is True  # the first failure of an outage (log it)
    assert breaker.failed() is False
    assert not breaker.allow()  # open: nobody
    time.sleep(0.06)
    assert breaker.allow()  # half open: this caller probes...
    assert not breaker.allow()  # ...and the others wait for it
    assert breaker.succeeded() is True  # back (say so once)
    assert breaker.allow() and breaker.allow()
    assert breaker.succeeded() is False
