"""Province and producer scope for the services: whose a record is, and listings cut to the caller.

The rule itself is pure (``domain.access``); this module only finds a record's owner in the
database and adds the matching ``WHERE`` to a listing, so every service applies it the same way.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from stamp_service.domain.access import Owner, Principal, producer_scope, province_scope
from stamp_service.storage.models.registry import Producer, Product

__all__ = ["owner_of", "owner_of_product", "scoped"]

S = TypeVar("S", bound=Any)  # a Select of any shape (SQLAlchemy types them variadic)


def owner_of(session: Session, producer_id: int) -> Owner:
    """The owner of a record held by ``producer_id`` (the producer row must exist)."""
    province = session.scalar(select(Producer.province_code).where(Producer.id == producer_id))
    assert province is not None, f"producer {producer_id} has no province"
    return Owner(producer_id=producer_id, province_code=province)


def owner_of_product(session: Session, product_id: int) -> Owner:
    row = session.execute(
        select(Producer.id, Producer.province_code)
        .join(Product, Product.producer_id == Producer.id)
        .where(Product.id == product_id)
    ).one()
    return Owner(producer_id=row[0], province_code=row[1])


def scoped(stmt: S, actor: Principal, producer_id: Any) -> S:
    """``stmt`` restricted to what ``actor`` may list; ``producer_id`` is the column naming the owner."""
    producer = producer_scope(actor)
    if producer is not None:
        stmt = stmt.where(producer_id == producer)
    province = province_scope(actor)
    if province is not None:
        stmt = stmt.where(producer_id.in_(select(Producer.id).where(Producer.province_code == province)))
    return stmt
