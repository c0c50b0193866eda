"""``/metrics`` in the Prometheus text format, through ``prometheus_client``.

Admin token required: the numbers are operational, not public. Counted: requests by route and
status class, a latency histogram per route, Redis fallbacks of the answering process, and the
current status generation (how many status changes this deployment has seen).

Under gunicorn every worker is a process. With ``PROMETHEUS_MULTIPROC_DIR`` set (``stamp-service
serve`` sets it to ``<var>/prometheus`` and empties it at start; with a plain gunicorn command set it
yourself and empty it before start), one scrape answers for all workers (``MultiProcessCollector``);
without it, for the answering process only.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from flask import Blueprint, Flask, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from stamp_service.domain.access import Role, require_role
from stamp_service.web.auth import current_principal
from stamp_service.web.context import runtime

bp = Blueprint("metrics", __name__)

REQUESTS = Counter("ocop_http_requests", "Requests answered.", ["route", "status"])
LATENCY = Histogram(
    "ocop_http_request_duration_seconds",
    "Time from the request's arrival to its answer.",
    ["route"],
    buckets=(0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5, 5.0),
)


def observe(route: str, status: int, seconds: float) -> None:
    REQUESTS.labels(route, f"{status // 100}xx").inc()
    LATENCY.labels(route).observe(seconds)


class _RuntimeCollector(Collector):
    """What the answering process knows: its store's fallbacks and the shared status generation."""

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        from stamp_service.services.status_events import current_generation

        rt = runtime()
        fallbacks = CounterMetricFamily(
            "ocop_store_fallbacks",
            "Store calls answered by the in-process fallback (Redis down), in the answering process.",
            labels=["pid", "backend"],
        )
        fallbacks.add_metric([str(os.getpid()), rt.store.backend], rt.store.degraded_count)
        yield fallbacks
        yield GaugeMetricFamily(
            "ocop_status_generation",
            "Status changes seen (revocations, key changes...).",
            value=current_generation(rt.store),
        )


@bp.get("/metrics")
def metrics() -> Response:
    require_role(current_principal(), Role.ADMIN)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        workers = CollectorRegistry()
        MultiProcessCollector(workers)
        body = generate_latest(workers)
    else:
        body = generate_latest(REGISTRY)  # this process's metrics, registered at import
    here = CollectorRegistry()
    here.register(_RuntimeCollector())
    return Response(body + generate_latest(here), mimetype=CONTENT_TYPE_LATEST)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
