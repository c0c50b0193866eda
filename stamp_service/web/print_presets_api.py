"""Label-stock presets for people choosing how to print: the list, a preview image of one label
per preset, and the printer calibration page (public: they show sample data only)."""

from __future__ import annotations

from dataclasses import asdict
from functools import lru_cache

from flask import Blueprint, Flask, Response, request

from stamp_service.render.calibration import render_calibration_pdf
from stamp_service.render.presets import all_presets, preview_png
from stamp_service.schemas.stamp_requests import PreviewQuery, PrintPresetOut
from stamp_service.services.print_files import print_host
from stamp_service.web.api import operation
from stamp_service.web.context import runtime

bp = Blueprint("print_presets_api", __name__, url_prefix="/api/v1")
TAG = "stamps"
CACHE_SECONDS = 3600


def _host() -> str:
    return print_host(runtime().settings.public_base_url)


def _cached(response: Response) -> Response:
    response.cache_control.public = True
    response.cache_control.max_age = CACHE_SECONDS
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@operation(
    bp,
    "/print-presets",
    method="GET",
    summary="Label-stock presets with their sizes, code size, what each is for and a preview image URL",
    tag=TAG,
    response=list[PrintPresetOut],
    auth=False,
)
def list_presets() -> list[PrintPresetOut]:
    base = request.script_root + "/api/v1/print-presets"
    return [
        PrintPresetOut(
            **asdict(info),
            preview_url=f"{base}/{info.name}/preview.png" if info.code_mm is not None else None,
            preview_with_pin_url=f"{base}/{info.name}/preview.png?pin=true"
            if info.code_mm_with_pin is not None
            else None,
        )
        for info in all_presets(_host())
    ]


@operation(
    bp,
    "/print-presets/<name>/preview.png",
    method="GET",
    summary="One sample label of the preset as it will print, 300 dpi PNG (422 if it cannot hold a PIN)",
    tag=TAG,
    query=PreviewQuery,
    auth=False,
    errors=(404, 422),
)
def preset_preview(name: str, *, query: PreviewQuery) -> Response:
    body = preview_png(name, _host(), pin=query.pin)
    return _cached(Response(body, mimetype="image/png"))


@operation(
    bp,
    "/print-presets/calibration.pdf",
    method="GET",
    summary="Printer calibration page: rulers, a 100 mm bar, the 5 mm frame and one test code per preset",
    tag=TAG,
    auth=False,
)
def calibration_pdf() -> Response:
    response = _cached(Response(_calibration(_host()), mimetype="application/pdf"))
    response.headers["Content-Disposition"] = 'attachment; filename="ocop-printer-calibration.pdf"'
    return response


@lru_cache(maxsize=4)
def _calibration(host: str) -> bytes:
    return render_calibration_pdf(host)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
