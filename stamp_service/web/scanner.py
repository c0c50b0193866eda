"""``/scanner/``: the inspector's offline scanner page, served from its built files.

The app is built from ``scanner_page/`` (npm + esbuild) into ``scanner_page/dist/``, which is not
committed; ``make run`` and ``make test`` build it. Without it the page answers a 503 that says
how to build it, instead of a bare 404. Content types are set here rather than guessed, because a
service worker, a web manifest and a WebAssembly module are refused by browsers under the wrong
type. The Content-Security-Policy allows nothing but this origin, so a module that tried to load
its wasm from a CDN fails loudly in tests instead of silently needing a network.

Text files and the ZXing WebAssembly module (953 KB, 413 KB gzipped) are sent gzip-compressed
to clients that accept it: compressed once per process and file version (path, size, mtime),
then served from memory, so a phone on a slow connection downloads less than half.
"""

from __future__ import annotations

import gzip
import hashlib
from functools import lru_cache
from pathlib import Path

from flask import Blueprint, Flask, Response, abort, redirect, request, send_from_directory
from werkzeug.security import safe_join

from stamp_service.config import PROJECT_ROOT
from stamp_service.web.context import runtime

bp = Blueprint("scanner", __name__)
DEFAULT_DIST = PROJECT_ROOT / "scanner_page" / "dist"
SCOPE = "/scanner/"
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".wasm": "application/wasm",
    ".webmanifest": "application/manifest+json",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".txt": "text/plain; charset=utf-8",
}
COMPRESSIBLE = {".html", ".js", ".mjs", ".css", ".wasm", ".webmanifest", ".json", ".svg", ".txt"}
CSP = (
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; "
    "img-src 'self' blob: data:; media-src 'self' blob: mediastream:; connect-src 'self'; "
    "worker-src 'self'; manifest-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
NOT_BUILT = """<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><title>Scanner not built</title></head>
<body><h1>Trang quét chưa được build / The scanner page is not built</h1>
<p>Chạy <code>make run</code> hoặc <code>make test</code> để build trang quét (scanner_page/dist).</p>
<p>Run <code>make run</code> or <code>make test</code> to build the scanner (npm ci &amp;&amp; npm run build
in scanner_page/).</p></body></html>
"""


def dist_dir() -> Path:
    """Where the built app lives (``Settings.extra['scanner_dist']`` overrides it, for tests)."""
    override = runtime().settings.extra.get("scanner_dist")
    return Path(override) if override else DEFAULT_DIST


def _secure(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@lru_cache(maxsize=32)
def _gzipped(path: str, size: int, mtime_ns: int) -> tuple[bytes, str]:
    """The file gzip-compressed and its ETag; the key's size and mtime make a rebuild a new entry."""
    data = gzip.compress(Path(path).read_bytes(), compresslevel=9, mtime=0)
    return data, hashlib.sha256(data).hexdigest()[:32] + "-gz"


def _compressed(dist: Path, name: str) -> Response | None:
    """A gzip response for a compressible file when the client accepts gzip, else None."""
    if Path(name).suffix.lower() not in COMPRESSIBLE or not request.accept_encodings["gzip"]:
        return None
    found = safe_join(str(dist), name)
    if found is None or not Path(found).is_file():
        return None
    stat = Path(found).stat()
    data, etag = _gzipped(found, stat.st_size, stat.st_mtime_ns)
    response = Response(data)
    response.headers["Content-Encoding"] = "gzip"
    response.set_etag(etag)
    response.make_conditional(request)  # in place: 304 when the ETag matches
    return response


@bp.get("/scanner")
def scanner_root() -> Response:
    return redirect(SCOPE, code=308)  # type: ignore[return-value]


@bp.get("/scanner/")
@bp.get("/scanner/<path:name>")
def scanner_file(name: str = "index.html") -> Response:
    dist = dist_dir()
    if not (dist / "index.html").is_file():
        return _secure(Response(NOT_BUILT, status=503, mimetype="text/html"))
    suffix = Path(name).suffix.lower()
    if suffix not in CONTENT_TYPES:
        abort(404)
    # send_from_directory refuses paths outside ``dist`` (404) and answers conditional requests.
    response = _compressed(dist, name) or send_from_directory(dist, name, max_age=0)
    response.headers["Content-Type"] = CONTENT_TYPES[suffix]
    response.headers["Vary"] = "Accept-Encoding"
    # Revalidate every file: the service worker is the offline cache, not the HTTP cache.
    response.headers["Cache-Control"] = "no-cache"
    if name == "sw.js":
        response.headers["Service-Worker-Allowed"] = SCOPE
    return _secure(response)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
