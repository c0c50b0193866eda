"""One free TCP port on 127.0.0.1 for a server a test starts (gunicorn, redis-server, SMTP, nginx)."""

from __future__ import annotations

import socket


def free_port(ports: range | None = None) -> int:
    """A port nothing listens on now: any (the kernel's choice) or the first free one of ``ports``.

    A suite that must stay within a range (several suites sharing one machine) passes it."""
    candidates = ports if ports is not None else (0,)
    for port in candidates:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(sock.getsockname()[1])
    raise RuntimeError(f"no free port in {ports}")
