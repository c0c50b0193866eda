"""Revocation admin API under /api/v1 (thin views over ``services.revocation`` and its reports)."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, Flask

from stamp_service.crypto.keyring import for_runtime
from stamp_service.domain.access import Principal
from stamp_service.schemas.common import Page
from stamp_service.schemas.lots import LotOut
from stamp_service.schemas.revocation import (
    CertificateActionOut,
    CompromiseIn,
    ExpiringOut,
    ExpiringQuery,
    KeyActionOut,
    KeyOut,
    LotRecallOut,
    ProductHistoryOut,
    RecalledLotOut,
    RecallIn,
    RecertificationIn,
    ReductionIn,
    RevocationReportQuery,
    RevokedProductOut,
    RotationIn,
    VoidActionOut,
    VoidIn,
    VoidOut,
    VoidRangeOut,
    VoidReportQuery,
    WithdrawalIn,
)
from stamp_service.services import revocation, revocation_reports
from stamp_service.services.certificates import to_out
from stamp_service.web.api import operation
from stamp_service.web.context import db, runtime

bp = Blueprint("revocation_api", __name__, url_prefix="/api/v1")
TAG = "revocation"
ADMIN = ("admin",)
READERS = ("admin", "inspector")


def _cert_out(result: revocation.CertificateAction) -> CertificateActionOut:
    return CertificateActionOut(
        changed=result.changed,
        certificate=to_out(result.certificate),
        previous=to_out(result.previous) if result.previous else None,
        stopped_requests=result.stopped_requests,
    )


def _lot_out(result: revocation.LotAction) -> LotRecallOut:
    return LotRecallOut(
        changed=result.changed,
        lot=LotOut.model_validate(result.lot),
        stopped_requests=result.stopped_requests,
    )


def _key_out(result: revocation.KeyAction) -> KeyActionOut:
    return KeyActionOut(
        changed=result.changed,
        key=KeyOut.model_validate(result.key),
        active=KeyOut.model_validate(result.active) if result.active else None,
    )


@operation(
    bp,
    "/certificates/<int:certificate_id>/withdrawal",
    method="POST",
    tag=TAG,
    summary="Withdraw a certificate's stars (every stamp of the product is revoked)",
    body=WithdrawalIn,
    response=CertificateActionOut,
    roles=ADMIN,
    errors=(403, 404, 409, 422),
)
def withdraw(*, principal: Principal, certificate_id: int, body: WithdrawalIn) -> CertificateActionOut:
    return _cert_out(revocation.withdraw_certificate(db(), principal, certificate_id, body))


@operation(
    bp,
    "/certificates/<int:certificate_id>/reduction",
    method="POST",
    tag=TAG,
    summary="Reduce the stars: a new certificate with fewer stars supersedes this one",
    body=ReductionIn,
    response=CertificateActionOut,
    roles=ADMIN,
    errors=(403, 404, 409, 422),
)
def reduce(*, principal: Principal, certificate_id: int, body: ReductionIn) -> CertificateActionOut:
    return _cert_out(revocation.reduce_stars(db(), principal, certificate_id, body))


@operation(
    bp,
    "/products/<int:product_id>/recertification",
    method="POST",
    tag=TAG,
    summary="Re-certify a product after re-evaluation (supersedes its active certificate)",
    body=RecertificationIn,
    response=CertificateActionOut,
    roles=ADMIN,
    errors=(403, 404, 409, 422),
)
def recertify(*, principal: Principal, product_id: int, body: RecertificationIn) -> CertificateActionOut:
    return _cert_out(revocation.recertify(db(), principal, product_id, body))


@operation(
    bp,
    "/certificates/expiring",
    method="GET",
    tag=TAG,
    summary="Active certificates whose validity ends within N days (default 30)",
    query=ExpiringQuery,
    response=Page[ExpiringOut],
    roles=READERS,
    errors=(403,),
)
def expiring(*, principal: Principal, query: ExpiringQuery) -> Page[ExpiringOut]:
    return revocation.expiring_certificates(db(), principal, query)


@operation(
    bp,
    "/lots/<int:lot_id>/recall",
    method="POST",
    tag=TAG,
    summary="Recall a lot (its stamps are revoked, its issuance stops)",
    body=RecallIn,
    response=LotRecallOut,
    roles=ADMIN,
    errors=(403, 404, 422),
)
def recall(*, principal: Principal, lot_id: int, body: RecallIn) -> LotRecallOut:
    return _lot_out(revocation.recall_lot(db(), principal, lot_id, body))


@operation(
    bp,
    "/lots/<int:lot_id>/recall/lift",
    method="POST",
    tag=TAG,
    summary="Lift a lot's recall",
    body=RecallIn,
    response=LotRecallOut,
    roles=ADMIN,
    errors=(403, 404, 422),
)
def lift_recall(*, principal: Principal, lot_id: int, body: RecallIn) -> LotRecallOut:
    return _lot_out(revocation.lift_recall(db(), principal, lot_id, body))


@operation(
    bp,
    "/voids",
    method="POST",
    tag=TAG,
    summary="Void one stamp (by serial) or a slot range of one request",
    body=VoidIn,
    response=VoidActionOut,
    roles=("admin", "producer"),
    errors=(403, 404, 422),
)
def void(*, principal: Principal, body: VoidIn) -> VoidActionOut:
    result = revocation.void_stamps(db(), principal, body)
    return VoidActionOut(changed=result.changed, voids=[VoidOut.model_validate(v) for v in result.voids])


@operation(
    bp,
    "/signing-keys/<kid>/compromise",
    method="POST",
    tag=TAG,
    summary="Mark a signing key compromised (its stamps verify online only, flagged)",
    body=CompromiseIn,
    response=KeyActionOut,
    roles=ADMIN,
    errors=(403, 404, 409, 422, 503),
)
def compromise(*, principal: Principal, kid: str, body: CompromiseIn) -> KeyActionOut:
    ring = for_runtime(runtime())
    return _key_out(
        revocation.compromise_key(
            db(), principal, keyring=ring, kid=kid, reason=body.reason, replace=body.replace
        )
    )


@operation(
    bp,
    "/signing-keys/rotation",
    method="POST",
    tag=TAG,
    summary="Replace the active signing key (the old one is retired and keeps verifying)",
    body=RotationIn,
    response=KeyActionOut,
    roles=ADMIN,
    errors=(403, 404, 409, 422, 503),
)
def rotate(*, principal: Principal, body: RotationIn) -> KeyActionOut:
    ring = for_runtime(runtime())
    return _key_out(
        revocation.rotate_key(
            db(),
            principal,
            keyring=ring,
            retire_kid=body.retire_kid,
            note=body.note,
            force=body.force,
            publish_period=timedelta(hours=runtime().settings.key_publish_hours),
        )
    )


@operation(
    bp,
    "/products/<int:product_id>/revocation-history",
    method="GET",
    tag=TAG,
    summary="A product's certificates and revocation events",
    response=ProductHistoryOut,
    errors=(404,),
)
def history(*, principal: Principal, product_id: int) -> ProductHistoryOut:
    return revocation_reports.product_history(db(), principal, product_id)


@operation(
    bp,
    "/reports/revoked-products",
    method="GET",
    tag=TAG,
    summary="Products whose stars are withdrawn or below 3 (by province, decision date)",
    query=RevocationReportQuery,
    response=Page[RevokedProductOut],
    roles=READERS,
    errors=(403,),
)
def revoked_products(*, principal: Principal, query: RevocationReportQuery) -> Page[RevokedProductOut]:
    return revocation_reports.revoked_products(db(), principal, query)


@operation(
    bp,
    "/reports/recalled-lots",
    method="GET",
    tag=TAG,
    summary="Recalled lots (by province, decision date)",
    query=RevocationReportQuery,
    response=Page[RecalledLotOut],
    roles=READERS,
    errors=(403,),
)
def recalled_lots(*, principal: Principal, query: RevocationReportQuery) -> Page[RecalledLotOut]:
    return revocation_reports.recalled_lots(db(), principal, query)


@operation(
    bp,
    "/reports/voided-ranges",
    method="GET",
    tag=TAG,
    summary="Voided stamp ranges (by province, void date, reason)",
    query=VoidReportQuery,
    response=Page[VoidRangeOut],
    roles=READERS,
    errors=(403,),
)
def voided_ranges(*, principal: Principal, query: VoidReportQuery) -> Page[VoidRangeOut]:
    return revocation_reports.voided_ranges(db(), principal, query)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
