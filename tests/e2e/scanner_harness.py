"""What the scanner's browser tests need: a live service on 127.0.0.1, stamps, a fake camera, Chromium.

The service runs in a thread (werkzeug, threaded) over its own temporary SQLite database, because
the per-test rolled-back transaction of the other tests cannot be shared with a browser. Every
request is recorded, so a test can prove the page made none while it was offline.
"""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import segno
from PIL import Image

from stamp_service.config import PROJECT_ROOT, Settings
from tests.e2e.pages import ARGS, CHROMIUM

DIST = PROJECT_ROOT / "scanner_page" / "dist"
CHROMIUM_ARGS = [*ARGS, "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]


def require_browser() -> None:
    """Skip (or, under CI, fail) when Chromium, Playwright or the built scanner is missing."""
    missing = []
    if not CHROMIUM.is_file():
        missing.append(f"{CHROMIUM} (apt-get install chromium)")
    if not (DIST / "index.html").is_file():
        missing.append("the built scanner (make scanner)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the playwright package (pip install -e '.[test]')")
    if missing:
        message = "scanner browser tests need " + ", ".join(missing)
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


def write_y4m(path: Path, image: Image.Image, *, frames: int = 6, size: tuple[int, int] = (640, 480)) -> Path:
    """A Y4M (4:2:0) video of ``image`` centred on white: Chromium's fake camera loops it."""
    w, h = size
    canvas = Image.new("RGB", (w, h), "white")
    canvas.paste(image.convert("RGB"), ((w - image.width) // 2, (h - image.height) // 2))
    y, cb, cr = canvas.convert("YCbCr").split()
    half = (w // 2, h // 2)
    frame = b"FRAME\n" + y.tobytes() + cb.resize(half).tobytes() + cr.resize(half).tobytes()
    with path.open("wb") as f:
        f.write(f"YUV4MPEG2 W{w} H{h} F10:1 Ip A1:1 C420jpeg\n".encode("ascii"))
        for _ in range(frames):
            f.write(frame)
    return path


def qr_image(url: str, *, scale: int = 6) -> Image.Image:
    buf = io.BytesIO()
    segno.make_qr(url, error="m", boost_error=False).save(buf, kind="png", scale=scale, border=4)
    buf.seek(0)
    return Image.open(buf)


def tamper(token: str) -> str:
    """The same token with one signature bit flipped (still canonical Base32)."""
    import base64

    raw = bytearray(base64.b32decode(token + "=" * (-len(token) % 8)))
    raw[40] ^= 0x01
    return base64.b32encode(bytes(raw)).decode("ascii").rstrip("=")


@dataclass
class LiveService:
    base_url: str
    app: Any
    requests: list[tuple[str, str]] = field(default_factory=list)

    def session(self) -> Any:
        return self.app.extensions["ocop"].session_factory()


@contextmanager
def live_service(
    tmp: Path, setup: Callable[[Any, Settings], dict[str, Any]]
) -> Iterator[tuple[LiveService, dict]]:
    """Start the app on 127.0.0.1:<free port> over a fresh SQLite database; ``setup`` fills it."""
    from werkzeug.serving import WSGIRequestHandler, make_server

    class QuietHandler(WSGIRequestHandler):
        def log_request(self, *args: Any, **kwargs: Any) -> None:  # the recorder keeps the list
            pass

    from stamp_service import create_app
    from stamp_service.domain.access import SYSTEM
    from stamp_service.services import reference
    from stamp_service.storage.migrate import upgrade

    settings = Settings(
        database_url=f"sqlite:///{tmp / 'scanner.sqlite3'}",
        redis_url=None,
        keys_dir=tmp / "keys",
        var_dir=tmp / "var",
        public_base_url="https://TEM.OCOP.LOCAL",
        log_json=False,
        testing=True,
    )
    app = create_app(settings)
    rt = app.extensions["ocop"]
    upgrade(rt.engine)
    with rt.session_factory() as session:
        reference.load_builtin(session, SYSTEM)
        data = setup(session, settings)
    live = LiveService("", app)
    inner = app.wsgi_app
    lock = threading.Lock()

    def recording(environ: dict[str, Any], start_response: Any) -> Any:
        with lock:
            live.requests.append((environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")))
        return inner(environ, start_response)

    app.wsgi_app = recording  # type: ignore[method-assign]
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler)
    live.base_url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, name="scanner-live-service", daemon=True)
    thread.start()
    try:
        yield live, data
    finally:
        server.shutdown()
        thread.join(timeout=10)
        rt.engine.dispose()


@contextmanager
def chromium(video: Path | None = None) -> Iterator[Any]:
    """Headless Debian Chromium through Playwright, with a fake camera showing ``video``."""
    from playwright.sync_api import sync_playwright

    args = list(CHROMIUM_ARGS)
    if video is not None:
        args.append(f"--use-file-for-fake-video-capture={video}")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=args)
        try:
            yield browser
        finally:
            browser.close()


SHOTS = PROJECT_ROOT / "var" / "screenshots" / "scanner"


def open_scanner(browser: Any, live: LiveService) -> tuple[Any, Any]:
    """A phone-sized page of the scanner, ready (its bundle and keys loaded)."""
    context = browser.new_context(locale="vi-VN", viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(f"{live.base_url}/scanner/")
    page.wait_for_selector("body[data-ready='1']")
    return context, page


def shown_facts(page: Any) -> dict[str, str]:
    """The facts list of the verdict, label -> value."""
    return page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('#facts dt')]
            .map(dt => [dt.textContent, dt.nextElementSibling.textContent]))"""
    )


def shot(name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS / f"{name}.png"
