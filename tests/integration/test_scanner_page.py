"""``/scanner/`` serves the built scanner with the right types and scope, or says how to build it."""

from __future__ import annotations

from pathlib import Path

import pytest

from stamp_service import create_app


@pytest.fixture()
def dist(tmp_path: Path) -> Path:
    d = tmp_path / "dist"
    d.mkdir()
    for name, content in {
        "index.html": "<!doctype html><title>scanner</title>",
        "app.js": "export {};",
        "sw.js": "self.addEventListener('fetch', () => {});",
        "zxing_reader.wasm": "\0asm",
        "manifest.webmanifest": "{}",
        "styles.css": "body{}",
        "icon.svg": "<svg/>",
        "BUILD": "abc\n",
    }.items():
        (d / name).write_text(content)
    (tmp_path / "secret.txt").write_text("outside")
    return d


def _client(settings, dist_dir: Path):
    return create_app(settings.with_overrides(extra={"scanner_dist": str(dist_dir)})).test_client()


def test_built_files_are_served_with_their_types_and_the_worker_scope(settings, dist):
    client = _client(settings, dist)
    root = client.get("/scanner")
    assert root.status_code == 308 and root.headers["Location"].endswith("/scanner/")
    page = client.get("/scanner/")
    assert page.status_code == 200 and page.content_type == "text/html; charset=utf-8"
    csp = page.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "connect-src 'self'" in csp and "'unsafe-eval'" not in csp
    assert page.headers["Cache-Control"] == "no-cache"
    expected = {
        "app.js": "text/javascript; charset=utf-8",
        "sw.js": "text/javascript; charset=utf-8",
        "zxing_reader.wasm": "application/wasm",
        "manifest.webmanifest": "application/manifest+json",
        "styles.css": "text/css; charset=utf-8",
        "icon.svg": "image/svg+xml",
    }
    for name, content_type in expected.items():
        resp = client.get(f"/scanner/{name}")
        assert (resp.status_code, resp.content_type) == (200, content_type), name
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert client.get("/scanner/sw.js").headers["Service-Worker-Allowed"] == "/scanner/"
    assert "Service-Worker-Allowed" not in client.get("/scanner/app.js").headers
    etag = client.get("/scanner/app.js").headers["ETag"]
    assert client.get("/scanner/app.js", headers={"If-None-Match": etag}).status_code == 304


@pytest.mark.parametrize(
    "path",
    [
        "/scanner/BUILD",
        "/scanner/missing.js",
        "/scanner/../secret.txt",
        "/scanner/%2e%2e/secret.txt",
        "/scanner//etc/passwd.js",
    ],
)
def test_other_paths_are_404(settings, dist, path):
    assert _client(settings, dist).get(path, follow_redirects=True).status_code == 404


def test_without_a_build_the_page_says_how_to_build_it(settings, tmp_path):
    resp = _client(settings, tmp_path / "nothing-here").get("/scanner/")
    assert resp.status_code == 503
    body = resp.get_data(as_text=True)
    assert "make run" in body and "make test" in body


def test_the_wasm_and_text_files_are_sent_gzipped_to_clients_that_accept_it(settings, tmp_path):
    """Issue 12: zxing_reader.wasm went out uncompressed (953 KB; 413 KB gzipped)."""
    import gzip
    import os

    real = Path(__file__).resolve().parents[2] / "scanner_page" / "dist" / "zxing_reader.wasm"
    d = tmp_path / "dist"
    d.mkdir()
    (d / "index.html").write_text("<!doctype html><title>scanner</title>")
    wasm = real.read_bytes() if real.is_file() else b"\0asm" + os.urandom(64) + bytes(200_000)
    (d / "zxing_reader.wasm").write_bytes(wasm)
    client = _client(settings, d)
    resp = client.get("/scanner/zxing_reader.wasm", headers={"Accept-Encoding": "gzip, deflate, br"})
    assert resp.status_code == 200 and resp.headers["Content-Encoding"] == "gzip"
    assert resp.content_type == "application/wasm" and "Accept-Encoding" in resp.headers["Vary"]
    assert gzip.decompress(resp.data) == wasm and len(resp.data) < 0.6 * len(wasm)
    again = client.get(
        "/scanner/zxing_reader.wasm",
        headers={"Accept-Encoding": "gzip", "If-None-Match": resp.headers["ETag"]},
    )
    assert again.status_code == 304
    plain = client.get("/scanner/zxing_reader.wasm", headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers and plain.data == wasm
    page = client.get("/scanner/", headers={"Accept-Encoding": "gzip"})
    assert page.headers["Content-Encoding"] == "gzip" and gzip.decompress(page.data).startswith(b"<!doctype")
    assert client.get("/scanner/../secret.txt", headers={"Accept-Encoding": "gzip"}).status_code == 404


def test_the_page_explains_itself_without_javascript(settings, tmp_path):
    """QA review: served without running its script, the page still says what it is, who it is
    for and that it works offline; a <noscript> block links to /verify; every control that needs
    the script is inside the hidden #app; the role is "kiểm tra viên", never "thanh tra"."""
    import re

    d = tmp_path / "dist"
    d.mkdir()
    source = Path(__file__).resolve().parents[2] / "scanner_page" / "public" / "index.html"
    (d / "index.html").write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    html = _client(settings, d).get("/scanner/").get_data(as_text=True)
    assert "Quét tem OCOP cho kiểm tra viên" in html
    assert "Dành cho kiểm tra viên và cán bộ văn phòng OCOP" in html
    assert "Người mua hàng không cần trang này" in html
    assert "không có mạng" in html
    noscript = re.search(r"<noscript>(.*?)</noscript>", html, re.S)
    assert noscript and 'href="/verify"' in noscript.group(1)
    assert "Trang quét cần JavaScript" in noscript.group(1)
    app = html.index('<div id="app" hidden>')
    for control in ('id="verdict"', 'id="net"', 'id="camera"', 'id="record"', 'id="sync"', 'id="auth-form"'):
        assert html.index(control) > app, control
    assert 'id="lang" type="button" lang="en" hidden' in html
    assert "Chưa quét tem nào" in html and ">…<" not in html
    assert "Dùng mã API thay cho mật khẩu" in html
    assert "thanh tra" not in html.lower()
