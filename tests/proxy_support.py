"""nginx in front of gunicorn, both on free ports in a temporary folder (no root, no systemd), and
slow clients that trickle a request body. Used by tests/integration/test_proxy.py and
bench/slow_clients.py."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from string import Template

ROOT = Path(__file__).resolve().parent.parent
SITE_TEMPLATE = ROOT / "deploy" / "nginx" / "ocop.conf.template"

_MAIN = """$user
worker_processes 1;
pid $tmp/nginx.pid;
error_log $tmp/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $tmp/body;
    proxy_temp_path $tmp/proxy;
    fastcgi_temp_path $tmp/fastcgi;
    uwsgi_temp_path $tmp/uwsgi;
    scgi_temp_path $tmp/scgi;
    include $tmp/ocop.conf;
}
"""


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None)


def wait_for(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.1)


def start_gunicorn(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    """gunicorn as production runs it (Dockerfile): gthread, 2 workers x 4 threads."""
    cmd = [
        str(Path(sys.executable).with_name("gunicorn")),
        "stamp_service.wsgi:app",
        "--config",
        str(ROOT / "deploy" / "gunicorn.conf.py"),
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "2",
    ]
    return subprocess.Popen(cmd, env={**os.environ, **env}, stdout=log.open("ab"), stderr=subprocess.STDOUT)


def start_nginx(upstream_port: int | list[int], listen_port: int, tmp: Path) -> subprocess.Popen[bytes]:
    """nginx with the repository's site config, its paths all under ``tmp``; several upstream ports
    become several servers of its upstream (round robin, as in front of several app nodes)."""
    binary = nginx_binary()
    assert binary, "nginx is missing: run scripts/ensure-system-deps.sh"
    tmp.mkdir(parents=True, exist_ok=True)
    ports = upstream_port if isinstance(upstream_port, list) else [upstream_port]
    site = Template(SITE_TEMPLATE.read_text()).safe_substitute(
        OCOP_UPSTREAM="; server ".join(f"127.0.0.1:{p}" for p in ports),
        OCOP_LISTEN=f"127.0.0.1:{listen_port}",
    )
    (tmp / "ocop.conf").write_text(site)
    (tmp / "nginx.conf").write_text(
        Template(_MAIN).substitute(
            tmp=tmp,  # as root (CI containers) the workers keep root: the temp folder is owner-only
            user="user root;" if os.geteuid() == 0 else "",
        )
    )
    args = [binary, "-e", str(tmp / "error.log"), "-p", str(tmp), "-c", str(tmp / "nginx.conf")]
    check = subprocess.run([*args, "-t"], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    proc = subprocess.Popen([*args, "-g", "daemon off;"], stderr=(tmp / "stderr.log").open("ab"))
    return proc


class SlowClients:
    """``count`` connections that POST to ``path`` sending one body byte every ``interval`` seconds."""

    def __init__(self, port: int, path: str, count: int, *, interval: float = 2.0, body: int = 1000) -> None:
        self.port, self.path, self.count, self.interval, self.body = port, path, count, interval, body
        self.open = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _connect(self) -> socket.socket | None:
        try:
            s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
            head = (
                f"POST {self.path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {self.body}\r\n\r\n"
            )
            s.sendall(head.encode())
            return s
        except OSError:
            return None

    def _run(self) -> None:
        socks = [s for s in (self._connect() for _ in range(self.count)) if s is not None]
        self.open = len(socks)
        while not self._stop.wait(self.interval):
            for i, s in enumerate(socks):
                try:
                    s.sendall(b"a")
                except OSError:  # cut off by the server: reconnect, as an attacker would
                    s.close()
                    socks[i] = self._connect() or s
        for s in socks:
            s.close()

    def __enter__(self) -> SlowClients:
        self._thread.start()
        deadline = time.monotonic() + 30
        while self.open == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(10)


def timed_get(url: str, timeout: float = 10.0) -> tuple[int, float]:
    """(status, seconds) of one GET; status 0 when it failed."""
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            r.read()
            status = r.status
    except OSError:
        status = 0
    return status, time.perf_counter() - start


def p99(seconds: list[float]) -> float:
    ordered = sorted(seconds)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
