"""gunicorn settings for production (Dockerfile, compose.yaml), matched to nginx in front
(deploy/nginx/ocop.conf.template): nginx hands over only complete requests, so gunicorn's threads
never wait on a slow client, and its limits here agree with nginx's."""

import os

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "4"))
worker_class = "gthread"
threads = 4
timeout = 30  # nginx's proxy_read_timeout is 35 s: gunicorn gives up first, with a clean log line
graceful_timeout = 30
keepalive = 30  # nginx keeps idle upstream connections 20 s: gunicorn must not close them first
limit_request_line = 8190  # nginx: large_client_header_buffers 4 8k
limit_request_fields = 100
limit_request_field_size = 8190
accesslog = None  # the service logs its own access lines (JSON, without client addresses)


# /metrics sums every worker (prometheus_client's multiprocess mode, web/metrics.py): each worker
# writes its samples to files in this directory, emptied when the master starts; a dead worker's
# live gauges are dropped.
_metrics_dir = os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", "/app/var/prometheus")


def on_starting(server):  # type: ignore[no-untyped-def]
    import shutil

    shutil.rmtree(_metrics_dir, ignore_errors=True)
    os.makedirs(_metrics_dir, exist_ok=True)


def child_exit(server, worker):  # type: ignore[no-untyped-def]
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
