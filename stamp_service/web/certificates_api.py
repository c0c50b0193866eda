"""Certificate JSON API under /api/v1 (thin views over ``services.certificates``)."""

from __future__ import annotations

from flask import Blueprint, Flask

from stamp_service.domain.access import Principal
from stamp_service.schemas.certificates import CertificateIn, CertificateOut, CertificateQuery
from stamp_service.schemas.common import Page
from stamp_service.services import certificates
from stamp_service.web.api import operation
from stamp_service.web.context import db

bp = Blueprint("certificates_api", __name__, url_prefix="/api/v1")
TAG = "registry"


@operation(
    bp,
    "/certificates",
    method="POST",
    summary="Record a certification decision (3-5 stars)",
    tag=TAG,
    body=CertificateIn,
    response=CertificateOut,
    status=201,
    roles=("admin",),
    errors=(404, 409),
)
def create_certificate(*, principal: Principal, body: CertificateIn) -> CertificateOut:
    return certificates.to_out(certificates.create_certificate(db(), principal, body))


@operation(
    bp,
    "/certificates",
    method="GET",
    summary="List certificates (by product, computed state)",
    tag=TAG,
    query=CertificateQuery,
    response=Page[CertificateOut],
)
def list_certificates(*, principal: Principal, query: CertificateQuery) -> Page[CertificateOut]:
    return certificates.list_certificates(db(), principal, query)


@operation(
    bp,
    "/certificates/<int:certificate_id>",
    method="GET",
    summary="Read a certificate with its computed status",
    tag=TAG,
    response=CertificateOut,
    errors=(404,),
)
def get_certificate(*, principal: Principal, certificate_id: int) -> CertificateOut:
    return certificates.to_out(certificates.get_certificate(db(), principal, certificate_id))


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
