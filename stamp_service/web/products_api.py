"""Product JSON API under /api/v1, and the public product image under /media (thin views)."""

from __future__ import annotations

from flask import Blueprint, Flask, Response, request

from stamp_service import uploads
from stamp_service.domain.access import Principal
from stamp_service.schemas.common import Page
from stamp_service.schemas.products import ProductImageOut, ProductIn, ProductOut, ProductQuery
from stamp_service.services import products
from stamp_service.web.api import operation
from stamp_service.web.context import db

bp = Blueprint("products_api", __name__, url_prefix="/api/v1")
media = Blueprint("media", __name__, url_prefix="/media")
TAG = "registry"
IMAGE_CACHE_SECONDS = 86_400


@operation(
    bp,
    "/products",
    method="POST",
    summary="Register a product",
    tag=TAG,
    body=ProductIn,
    response=ProductOut,
    status=201,
    roles=("admin",),
    errors=(404, 409),
)
def create_product(*, principal: Principal, body: ProductIn) -> ProductOut:
    return products.create_product(db(), principal, body)


@operation(
    bp,
    "/products",
    method="GET",
    summary="List products (by province, group, stars, certificate state, producer)",
    tag=TAG,
    query=ProductQuery,
    response=Page[ProductOut],
)
def list_products(*, principal: Principal, query: ProductQuery) -> Page[ProductOut]:
    return products.list_products(db(), principal, query)


@operation(
    bp,
    "/products/<int:product_id>",
    method="GET",
    summary="Read a product with its current certificate",
    tag=TAG,
    response=ProductOut,
    errors=(404,),
)
def get_product(*, principal: Principal, product_id: int) -> ProductOut:
    return products.read_product(db(), principal, product_id)


@operation(
    bp,
    "/products/<int:product_id>/image",
    method="PUT",
    summary="Upload the product image (raw image/jpeg, image/png or image/webp body, at most 100 KB)",
    tag=TAG,
    response=ProductImageOut,
    roles=("admin", "producer"),
    errors=(404,),
    uploads=uploads.IMAGE_TYPES,
    description="The image is checked and re-encoded (stamp_service.uploads): at most "
    f"{uploads.MAX_IMAGE_PIXELS:,} pixels, no metadata is kept.",
)
def put_product_image(*, principal: Principal, product_id: int) -> ProductImageOut:
    return products.set_product_image(
        db(), principal, product_id, media_type=request.mimetype, data=request.get_data(cache=False)
    )


@operation(
    media,
    "/products/<int:product_id>",
    method="GET",
    summary="The product image (public: shown on the verification page)",
    tag="public",
    auth=False,
    errors=(404,),
)
def product_image(product_id: int) -> Response:
    image = products.public_product_image(db(), product_id)
    response = Response(image.data, mimetype=image.media_type)
    response.set_etag(image.sha256)
    response.last_modified = image.updated_at
    response.cache_control.public = True
    response.cache_control.max_age = IMAGE_CACHE_SECONDS
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'"
    response.make_conditional(request)  # in place: 304 when the ETag or date matches
    return response


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.register_blueprint(media)
