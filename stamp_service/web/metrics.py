"""``/metrics``: Prometheus text format, per process (each gunicorn worker answers for itself).

Admin token required: the numbers are operational, not public. Counted: requests
by route and status class, their total duration, Redis fallbacks, and the
current status generation (how many status changes this deployment has seen).
"""

from __future__ import annotations

import os
import threading
from collections import Counter, defaultdict

from flask import Blueprint, Flask, Response

from stamp_service.domain.access import Role, require_role
from stamp_service.web.auth import current_principal
from stamp_service.web.context import runtime

bp = Blueprint("metrics", __name__)
_lock = threading.Lock()
_requests: Counter[tuple[str, str]] = Counter()
_seconds: dict[str, float] = defaultdict(float)


def observe(route: str, status: int, seconds: float) -> None:
    with _lock:
        _requests[(route, f"{status // 100}xx")] += 1
        _seconds[route] += seconds


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


@bp.get("/metrics")
def metrics() -> Response:
    require_role(current_principal(), Role.ADMIN)
    from stamp_service.services.status_events import current_generation

    rt = runtime()
    pid = os.getpid()
    lines = [
        "# HELP ocop_http_requests_total Requests answered by this process.",
        "# TYPE ocop_http_requests_total counter",
    ]
    with _lock:
        requests = sorted(_requests.items())
        seconds = sorted(_seconds.items())
    for (route, status), count in requests:
        labels = f'pid="{pid}",route="{_label(route)}",status="{status}"'
        lines.append(f"ocop_http_requests_total{{{labels}}} {count}")
    lines += [
        "# HELP ocop_http_request_seconds_total Time spent answering.",
        "# TYPE ocop_http_request_seconds_total counter",
    ]
    for route, total in seconds:
        lines.append(f'ocop_http_request_seconds_total{{pid="{pid}",route="{_label(route)}"}} {total:.6f}')
    lines += [
        "# HELP ocop_store_fallbacks_total Store calls answered by the in-process fallback (Redis down).",
        "# TYPE ocop_store_fallbacks_total counter",
        f'ocop_store_fallbacks_total{{pid="{pid}",backend="{rt.store.backend}"}} {rt.store.degraded_count}',
        "# HELP ocop_status_generation Status changes seen (revocations, key changes...).",
        "# TYPE ocop_status_generation gauge",
        f"ocop_status_generation {current_generation(rt.store)}",
    ]
    return Response("\n".join(lines) + "\n", mimetype="text/plain; version=0.0.4")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
