"""The OCOP registry: producers, products, certificates, lots and their trace events.

``Product.id`` and ``Lot.id`` are the small integers carried in every stamp
(the product and lot index of the status bundle), so they are never reused.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from stamp_service.storage.models.base import Base, JsonType, UtcDateTime, utcnow


class Producer(Base):
    __tablename__ = "producers"
    __table_args__ = (
        CheckConstraint(
            "legal_type IN ('enterprise','cooperative','cooperative_group','household')",
            name="legal_type_known",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    legal_type: Mapped[str] = mapped_column(String(24))
    registration_number: Mapped[str | None] = mapped_column(String(32), unique=True)
    representative: Mapped[str | None] = mapped_column(String(200))
    commune_code: Mapped[str] = mapped_column(ForeignKey("administrative_units.code"))
    province_code: Mapped[str] = mapped_column(String(8), index=True)
    street: Mapped[str | None] = mapped_column(String(300))
    # The address as it read when recorded (names, old district): never recomputed.
    address_snapshot: Mapped[dict[str, Any]] = mapped_column(JsonType)
    phone: Mapped[str | None] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(String(200))
    gs1_company_prefix: Mapped[str | None] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


def trigram_index(table: str, column: str) -> Index:
    """A pg_trgm GIN index for ``ILIKE '%text%'`` searches (a plain index on SQLite, which has none)."""
    return Index(
        f"ix_{table}_{column}_trgm", column, postgresql_using="gin", postgresql_ops={column: "gin_trgm_ops"}
    )


class Product(Base):
    __tablename__ = "products"
    __table_args__ = (trigram_index("products", "name"),)  # the console's lot search by product name

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    producer_id: Mapped[int] = mapped_column(ForeignKey("producers.id"), index=True)
    name: Mapped[str] = mapped_column(String(300))
    short_name: Mapped[str | None] = mapped_column(String(40))
    group_code: Mapped[str] = mapped_column(ForeignKey("product_groups.code"), index=True)
    subgroup_code: Mapped[str | None] = mapped_column(ForeignKey("product_groups.code"))
    gtin: Mapped[str | None] = mapped_column(String(14), unique=True)
    brand: Mapped[str | None] = mapped_column(String(200))
    standards: Mapped[list[str]] = mapped_column(JsonType, default=list)
    self_declaration_ref: Mapped[str | None] = mapped_column(String(200))
    raw_material_communes: Mapped[list[str]] = mapped_column(JsonType, default=list)
    description: Mapped[str | None] = mapped_column(Text)
    image_url: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ProductImage(Base):
    """A small uploaded product photo, served by the public page (kept under a size cap)."""

    __tablename__ = "product_images"

    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), primary_key=True)
    media_type: Mapped[str] = mapped_column(String(32))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Certificate(Base):
    """A certification decision. A reduction is a new certificate that supersedes the old one."""

    __tablename__ = "certificates"
    __table_args__ = (
        CheckConstraint("stars BETWEEN 1 AND 5", name="stars_range"),
        CheckConstraint("state IN ('active','superseded','withdrawn')", name="state_known"),
        CheckConstraint("valid_until > signed_on", name="validity_after_signing"),
        CheckConstraint("authority_level IN ('central','province','district')", name="authority_level_known"),
        # At most one active certificate per product, even under concurrent writers.
        Index(
            "uq_certificates_one_active",
            "product_id",
            unique=True,
            sqlite_where=text("state = 'active'"),
            postgresql_where=text("state = 'active'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    stars: Mapped[int] = mapped_column(Integer)
    score: Mapped[int | None] = mapped_column(Integer)
    criteria_version: Mapped[str] = mapped_column(String(32))
    authority_name: Mapped[str] = mapped_column(String(300))
    authority_level: Mapped[str] = mapped_column(String(16))
    decision_number: Mapped[str] = mapped_column(String(64))
    signed_on: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date)
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("certificates.id"))
    state: Mapped[str] = mapped_column(String(16), default="active")
    state_changed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    withdrawal: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    # ``withdrawal["decided_on"]`` as a column, for the reports' date filters (set with ``withdrawal``).
    withdrawn_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Lot(Base):
    __tablename__ = "lots"
    __table_args__ = (
        UniqueConstraint("product_id", "lot_code"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        trigram_index("lots", "lot_code"),  # the console's lot code search (services/lot_directory.py)
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    lot_code: Mapped[str] = mapped_column(String(64))
    production_date: Mapped[date] = mapped_column(Date)
    expiry_date: Mapped[date | None] = mapped_column(Date)
    quantity: Mapped[int] = mapped_column(Integer)
    unit: Mapped[str] = mapped_column(String(32), default="unit")
    place: Mapped[str | None] = mapped_column(String(300))
    # One step back: the input lots (own lots by id, or a supplier's lot by description).
    input_lots: Mapped[list[dict[str, Any]]] = mapped_column(JsonType, default=list)
    recall: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    # ``recall["decided_on"]`` as a column, for the reports' date filters (set and cleared with ``recall``).
    recalled_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class TraceEvent(Base):
    """One origin record of a lot: sourcing, processing, testing, packing, stamping, dispatch."""

    __tablename__ = "trace_events"
    __table_args__ = (
        UniqueConstraint("lot_id", "seq"),
        CheckConstraint(
            "event_type IN ('sourcing','processing','testing','packing','stamping','dispatch')",
            name="event_type_known",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    event_type: Mapped[str] = mapped_column(String(16))
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime)
    place: Mapped[str | None] = mapped_column(String(300))
    actor: Mapped[str | None] = mapped_column(String(300))
    note: Mapped[str | None] = mapped_column(Text)
    documents: Mapped[list[dict[str, Any]]] = mapped_column(JsonType, default=list)
    # Events are append-only: a correction is a new event naming the seq it corrects.
    corrects_seq: Mapped[int | None] = mapped_column(Integer)
    recorded_by: Mapped[str] = mapped_column(String(240), default="")  # "<role>:<account name>"
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
