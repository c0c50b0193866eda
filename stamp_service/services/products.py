"""Product use cases: register, read, list (with certificate filters) and the small product image."""

from __future__ import annotations

import hashlib
from datetime import date

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session, aliased

from stamp_service import uploads
from stamp_service.domain.access import (
    Principal,
    Role,
    require_read,
    require_role,
    require_write,
)
from stamp_service.domain.certification import local_today
from stamp_service.errors import Conflict, NotFound, ValidationFailed
from stamp_service.schemas.common import Page
from stamp_service.schemas.products import (
    CurrentCertificate,
    ProductImageOut,
    ProductIn,
    ProductOut,
    ProductQuery,
)
from stamp_service.services import audit
from stamp_service.services.certificates import (
    current_certificate_ids,
    current_certificates,
    status_clause,
    status_of,
)
from stamp_service.services.lookup import by_id
from stamp_service.services.pagination import paginate
from stamp_service.services.reference import COMMUNE_LEVELS
from stamp_service.services.registry import get_producer
from stamp_service.services.scope import owner_of, scoped
from stamp_service.services.tx import flush_or_conflict
from stamp_service.storage.models.base import utcnow
from stamp_service.storage.models.reference import AdministrativeUnit, ProductGroup
from stamp_service.storage.models.registry import Certificate, Producer, Product, ProductImage

PRODUCT_AUDIT_FIELDS = (
    "producer_id",
    "name",
    "short_name",
    "group_code",
    "subgroup_code",
    "gtin",
    "brand",
    "standards",
    "self_declaration_ref",
    "raw_material_communes",
    "description",
    "image_url",
)


def media_path(product_id: int) -> str:
    return f"/media/products/{product_id}"


def get_product(session: Session, actor: Principal, product_id: int) -> Product:
    """The product, if ``actor`` may read it (another producer's product is NotFound)."""
    product = by_id(session, Product, product_id)
    if product is None:
        raise NotFound("no such product")
    require_read(actor, owner_of(session, product.producer_id), "product")
    return product


def read_product(session: Session, actor: Principal, product_id: int) -> ProductOut:
    return _outputs(session, [get_product(session, actor, product_id)])[0]


def create_product(session: Session, actor: Principal, data: ProductIn) -> ProductOut:
    """Admins register products (the certified facts come from the office's dossier)."""
    require_role(actor, Role.ADMIN)
    get_producer(session, actor, data.producer_id)  # NotFound outside the account's scope
    errors = _group_errors(session, data.group_code, data.subgroup_code)
    errors += _commune_errors(session, data.raw_material_communes)
    if errors:
        raise ValidationFailed(errors)
    if data.gtin and session.scalar(select(Product.id).where(Product.gtin == data.gtin)) is not None:
        raise Conflict("another product has this GTIN")
    product = Product(**data.model_dump())
    session.add(product)
    flush_or_conflict(session, "another product has this GTIN")
    audit.record(
        session,
        actor,
        action="product.create",
        entity="product",
        entity_id=product.id,
        after=audit.snapshot(product, PRODUCT_AUDIT_FIELDS),
    )
    session.commit()
    return _outputs(session, [product])[0]


def list_products(session: Session, actor: Principal, query: ProductQuery) -> Page[ProductOut]:
    today = local_today()
    stmt: Select[tuple[Product]] = scoped(select(Product), actor, Product.producer_id)
    if query.producer_id:
        stmt = stmt.where(Product.producer_id == query.producer_id)
    if query.province:
        stmt = stmt.join(Producer, Producer.id == Product.producer_id).where(
            Producer.province_code == query.province
        )
    if query.group:
        codes = _descendants(session, query.group)
        stmt = stmt.where(or_(Product.group_code.in_(codes), Product.subgroup_code.in_(codes)))
    if query.q:
        stmt = stmt.where(Product.name.ilike(f"%{query.q}%"))
    if query.stars is not None or query.certificate_state:
        stmt = _filter_by_current_certificate(stmt, query.stars, query.certificate_state, today)
    page = paginate(session, stmt.order_by(Product.id), query.page, query.per_page, lambda p: p)
    return Page(
        items=_outputs(session, page.items, today), page=page.page, per_page=page.per_page, total=page.total
    )


def set_product_image(
    session: Session, actor: Principal, product_id: int, *, media_type: str, data: bytes
) -> ProductImageOut:
    """Store the product's photo (admin, or the product's own producer); replaces any previous one.

    What is stored is ``uploads.check_image``'s re-encoding, never the uploaded bytes.
    """
    require_role(actor, Role.ADMIN, Role.PRODUCER)
    product = get_product(session, actor, product_id)
    require_write(actor, owner_of(session, product.producer_id), "product")
    checked = uploads.check_image(data, media_type)
    media_type, data = checked.media_type, checked.data
    image = by_id(session, ProductImage, product.id)
    before = audit.snapshot(image, ("media_type", "size", "sha256")) if image else None
    if image is None:
        image = ProductImage(product_id=product.id)
        session.add(image)
    image.media_type = media_type
    image.data = data
    image.size = len(data)
    image.sha256 = hashlib.sha256(data).hexdigest()
    image.updated_at = utcnow()
    session.flush()
    audit.record(
        session,
        actor,
        action="product.image",
        entity="product",
        entity_id=product.id,
        before=before,
        after=audit.snapshot(image, ("media_type", "size", "sha256")),
    )
    session.commit()
    return _image_out(image)


def public_product_image(session: Session, product_id: int) -> ProductImage:
    """The uploaded image, for the public media route (images are public: shown on verification pages)."""
    image = by_id(session, ProductImage, product_id)
    if image is None:
        raise NotFound("no image for this product")
    return image


def _image_out(image: ProductImage) -> ProductImageOut:
    return ProductImageOut(
        product_id=image.product_id,
        media_type=image.media_type,
        size=image.size,
        sha256=image.sha256,
        url=f"{media_path(image.product_id)}?v={image.sha256[:12]}",
    )


def _filter_by_current_certificate(
    stmt: Select[tuple[Product]], stars: int | None, state: str | None, today: date
) -> Select[tuple[Product]]:
    """Filter by the current certificate (``certificates.current_certificate_ids``) and its status."""
    latest = current_certificate_ids()
    current = aliased(Certificate)
    stmt = stmt.outerjoin(latest, latest.c.product_id == Product.id).outerjoin(
        current, current.id == latest.c.certificate_id
    )
    if stars is not None:
        stmt = stmt.where(current.stars == stars)
    if state == "none":
        stmt = stmt.where(current.id.is_(None))
    elif state:
        stmt = stmt.where(status_clause(current, state, today))
    return stmt


def _outputs(session: Session, products: list[Product], today: date | None = None) -> list[ProductOut]:
    today = today or local_today()
    ids = [p.id for p in products]
    certs = current_certificates(session, ids)
    images: dict[int, str] = {}
    if ids:
        rows = session.execute(
            select(ProductImage.product_id, ProductImage.sha256).where(ProductImage.product_id.in_(ids))
        )
        images = {pid: sha for pid, sha in rows}
    out = []
    for product in products:
        cert = certs.get(product.id)
        current = None
        if cert is not None:
            current = CurrentCertificate(
                id=cert.id,
                stars=cert.stars,
                decision_number=cert.decision_number,
                signed_on=cert.signed_on,
                valid_until=cert.valid_until,
                status=status_of(cert, today),
            )
        sha = images.get(product.id)
        out.append(
            ProductOut.model_validate(product).model_copy(
                update={
                    "current_certificate": current,
                    "uploaded_image": f"{media_path(product.id)}?v={sha[:12]}" if sha else None,
                }
            )
        )
    return out


def _descendants(session: Session, code: str) -> set[str]:
    """``code`` and every group below it (the reference list is small: read it whole)."""
    children: dict[str | None, list[str]] = {}
    for group_code, parent in session.execute(select(ProductGroup.code, ProductGroup.parent_code)):
        children.setdefault(parent, []).append(group_code)
    found, todo = {code}, [code]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _group_errors(session: Session, group_code: str, subgroup_code: str | None) -> list[dict[str, str]]:
    group = session.get(ProductGroup, group_code)
    if group is None or group.level not in ("category", "group"):
        return [{"field": "group_code", "message": "not a product category or group of the reference list"}]
    if subgroup_code is None:
        return []
    if subgroup_code == group_code or subgroup_code not in _descendants(session, group_code):
        return [{"field": "subgroup_code", "message": f"not a sub-group of {group_code}"}]
    return []


def _commune_errors(session: Session, codes: list[str]) -> list[dict[str, str]]:
    if not codes:
        return []
    known = set(
        session.scalars(
            select(AdministrativeUnit.code).where(
                AdministrativeUnit.code.in_(codes), AdministrativeUnit.level.in_(COMMUNE_LEVELS)
            )
        )
    )
    return [
        {"field": f"raw_material_communes.{i}", "message": "unknown commune, ward or special zone code"}
        for i, code in enumerate(codes)
        if code not in known
    ]
