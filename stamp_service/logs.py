"""Structured JSON logs, one object per line, carrying the request id."""

from __future__ import annotations

import json
import logging
import math
import sys
from datetime import UTC, datetime
from typing import Any

_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}

try:
    import flask as _flask
except ImportError:  # pragma: no cover - scripts without Flask
    _flask = None  # type: ignore[assignment]


class JsonFormatter(logging.Formatter):
    """One JSON object per record. Every request writes an access line, so this is kept cheap:
    the timestamp text is reused within a second and Flask is imported once."""

    _second_text: tuple[int, str] = (-1, "")  # replaced as one tuple: threads share the formatter

    def _ts(self, created: float) -> str:
        # Same text as datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds"):
        # microseconds rounded half-even as datetime does, then truncated to milliseconds.
        frac, whole = math.modf(created)
        micros = round(frac * 1e6)
        second = int(whole) + (1 if micros >= 1_000_000 else 0)
        cached = self._second_text
        if cached[0] != second:
            cached = (second, datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S"))
            self._second_text = cached
        return f"{cached[1]}.{micros % 1_000_000 // 1000:03d}+00:00"

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": self._ts(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if _flask is not None and _flask.has_request_context():
            request_id = _flask.g.get("request_id")
            if request_id is not None:
                payload["request_id"] = request_id
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                payload[key] = value
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return json.dumps(payload, ensure_ascii=False, default=str)


def configure_logging(*, json_format: bool = True, level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter() if json_format else logging.Formatter("%(levelname)s %(name)s: %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Neither our formats nor gunicorn's show where a call came from or thread names: skip
    # collecting them for every record (the logging HOWTO's "Optimization" settings). The
    # process id stays: gunicorn's own lines print it.
    logging._srcfile = None  # type: ignore[attr-defined]
    logging.logThreads = False
    logging.logMultiprocessing = False
