"""This service as a GS1 resolver for its own Digital Link URIs (GS1 Digital Link 1.2, RFC 9264).

``/01/{gtin}/10/{lot}/21/{serial}?8030=…&v=…`` is a stamp in its Digital Link form: a person
gets the same verification page as ``/V/{token}``, an API client is sent to the JSON verdict,
and a client that asks for a linkset (``?linkType=linkset`` or ``Accept:
application/linkset+json``) gets the links GS1 defines for it. ``/01/{gtin}`` and
``/01/{gtin}/10/{lot}`` answer linksets for the product and the lot. An unknown GTIN or lot is
a 404 that says so.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import Blueprint, Flask, Response, json, redirect, request
from sqlalchemy import select

from stamp_service.domain import digital_link
from stamp_service.domain.gs1 import check_gtin
from stamp_service.errors import MalformedStamp, NotFound
from stamp_service.storage.models.registry import Lot, Product
from stamp_service.web import public
from stamp_service.web.context import db, runtime

bp = Blueprint("gs1_resolver", __name__)
LINKSET = "application/linkset+json"
GS1 = "https://gs1.org/voc/"


def _wants_linkset() -> bool:
    if request.args.get("linkType") in ("linkset", "all"):
        return True
    best = request.accept_mimetypes.best_match([LINKSET, "application/json", "text/html"])
    return best == LINKSET


def _wants_json() -> bool:
    """An API client (``Accept: application/json``); a browser's ``*/*`` prefers the page."""
    return request.accept_mimetypes.best_match(["text/html", "application/json"]) == "application/json"


def _product(gtin: str) -> Product:
    try:
        valid = check_gtin(gtin)
    except ValueError:
        raise NotFound("not a GTIN (AI 01 is 8, 12, 13 or 14 digits with a correct check digit)") from None
    product = db().scalar(
        select(Product).where(Product.gtin.in_({valid, valid.lstrip("0"), valid.zfill(14)}))
    )
    if product is None:
        raise NotFound(f"GTIN {valid} is not a product of this OCOP registry")
    return product


def _lot(product: Product, lot_code: str) -> Lot:
    lot = db().scalar(select(Lot).where(Lot.product_id == product.id, Lot.lot_code == lot_code))
    if lot is None:
        raise NotFound("this lot is not recorded for this product")
    return lot


def _base() -> str:
    return runtime().settings.public_base_url.rstrip("/").lower()


def _linkset(anchor: str, links: dict[str, list[dict[str, Any]]]) -> Response:
    body = {"linkset": [{"anchor": anchor, **{GS1 + k: v for k, v in links.items()}}]}
    response = Response(json.dumps(body, ensure_ascii=False), mimetype=LINKSET)
    response.headers["Link"] = f'<{anchor}>; rel="linkset"; type="{LINKSET}"'
    response.headers["Vary"] = "Accept"
    return response


def _link(href: str, title: str, media: str = "text/html") -> dict[str, Any]:
    return {"href": href, "title": title, "type": media, "hreflang": ["vi", "en"]}


@bp.get("/01/<gtin>/10/<path:lot_code>/21/<serial>")
def stamp(gtin: str, lot_code: str, serial: str) -> Any:
    """A stamp's Digital Link: the verification page, the JSON verdict, or its linkset."""
    try:
        parsed = digital_link.parse_parts(
            gtin, lot_code, serial, request.query_string.decode("ascii", "replace")
        )
    except MalformedStamp as exc:
        raise NotFound(f"not a stamp of this service: {exc}") from None
    product = _product(parsed.gtin)
    lot = _lot(product, parsed.lot_code)
    token = parsed.token(product_index=product.id, lot_index=lot.id)
    page = f"{_base()}/V/{token}"
    if _wants_linkset():
        anchor = f"{_base()}/01/{parsed.gtin}/10/{quote(parsed.lot_code, safe='')}/21/{serial}"
        verdict = f"{_base()}/api/v1/verify/{token}"
        return _linkset(
            anchor,
            {
                "defaultLink": [_link(page, "Kiểm tra tem OCOP / Verify the OCOP stamp")],
                "pip": [_link(page, "Thông tin sản phẩm / Product information")],
                "traceability": [_link(page + "#origin", "Nguồn gốc lô hàng / Origin records of the lot")],
                "certificationInfo": [_link(page + "#certificate", "Chứng nhận OCOP / OCOP certificate")],
                "recallStatus": [_link(verdict, "Trạng thái thu hồi / Recall status", "application/json")],
                "verificationService": [
                    _link(verdict, "Xác thực tem / Stamp verification", "application/json")
                ],
            },
        )
    if _wants_json():
        return redirect(f"/api/v1/verify/{token}", code=307)
    return public.stamp_page(token)


@bp.get("/01/<gtin>")
@bp.get("/01/<gtin>/10/<path:lot_code>")
def product_or_lot(gtin: str, lot_code: str | None = None) -> Any:
    """A product or lot identifier: its linkset; a person is sent to the serial form."""
    product = _product(gtin)
    anchor = f"{_base()}/01/{check_gtin(gtin).zfill(14)}"
    if lot_code is not None:
        lot = _lot(product, lot_code)
        anchor += f"/10/{quote(lot.lot_code, safe='')}"
    if not _wants_linkset():
        return redirect("/verify", code=303)
    check = f"{_base()}/verify"
    return _linkset(
        anchor,
        {
            "defaultLink": [_link(check, "Kiểm tra tem bằng số sê-ri / Check a stamp by its serial")],
            "verificationService": [_link(check, "Kiểm tra tem / Stamp check")],
        },
    )


bp.after_request(public.page_headers)  # the public pages' security headers and gzip


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
