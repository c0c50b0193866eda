"""Stamp requests, stamps and voided ranges.

A stamp's status is derived (see ``stamp_service.domain.status``): these rows
record only what happened to the stamp itself. ``(request_id, seq)`` is unique,
so a request can never hold more stamps than the slots 1..quantity_approved,
whatever number of workers fill it, and a crashed issuance resumes at the
first missing slot. Voids are ranges of slots of one request, so voiding a
lost roll of 10,000 stamps writes one row, not 10,000.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from stamp_service.storage.models.base import Base, JsonType, UtcDateTime, utcnow


class StampRequest(Base):
    __tablename__ = "stamp_requests"
    __table_args__ = (
        UniqueConstraint("producer_id", "idempotency_key"),
        CheckConstraint("quantity_requested > 0", name="requested_positive"),
        CheckConstraint(
            "quantity_approved IS NULL"
            " OR (quantity_approved > 0 AND quantity_approved <= quantity_requested)",
            name="approved_within_requested",
        ),
        CheckConstraint("form IN ('opaque','digital_link')", name="form_known"),
        CheckConstraint(
            "state IN ('requested','approved','rejected','issuing','issued','stopped')", name="state_known"
        ),
        # The target of the stamps' one composite foreign key (see Stamp).
        UniqueConstraint("id", "product_id", "lot_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    producer_id: Mapped[int] = mapped_column(ForeignKey("producers.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"), index=True)
    certificate_id: Mapped[int] = mapped_column(ForeignKey("certificates.id"))
    stars_at_request: Mapped[int] = mapped_column(Integer)
    quantity_requested: Mapped[int] = mapped_column(Integer)
    quantity_approved: Mapped[int | None] = mapped_column(Integer)
    with_pin: Mapped[bool] = mapped_column(Boolean, default=False)
    # "opaque" (HTTPS://HOST/V/TOKEN) or "digital_link" (GS1 Digital Link with the same signature).
    form: Mapped[str] = mapped_column(String(16), default="opaque", server_default="opaque")
    state: Mapped[str] = mapped_column(String(16), default="requested")
    idempotency_key: Mapped[str | None] = mapped_column(String(128))
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    decision_reason: Mapped[str | None] = mapped_column(Text)
    # Issuance progress: stamps stored so far; the job is done when it equals quantity_approved.
    issued_count: Mapped[int] = mapped_column(Integer, default=0)
    expiry_day: Mapped[date | None] = mapped_column(Date)
    stop_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class Stamp(Base):
    """One issued stamp.

    ``product_id`` and ``lot_id`` repeat the request's (the verifier compares them with the
    signed claims without a join). One composite foreign key to the request's
    ``(id, product_id, lot_id)`` both proves the copies equal the request's and replaces three
    single-column keys: PostgreSQL checks each foreign key of each row at the end of the
    issuance COPY, and three checks per stamp cost a tenth of the issuance rate (bench/issue.py).
    """

    __tablename__ = "stamps"
    __table_args__ = (
        UniqueConstraint("request_id", "seq"),
        Index("ix_stamps_lot_id", "lot_id"),
        ForeignKeyConstraint(
            ["request_id", "product_id", "lot_id"],
            ["stamp_requests.id", "stamp_requests.product_id", "stamp_requests.lot_id"],
            name="fk_stamps_request_product_lot",
        ),
    )

    # The 64-bit random serial as a signed BigInteger (two's complement, see domain.serials).
    serial: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    request_id: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    product_id: Mapped[int] = mapped_column(Integer)
    lot_id: Mapped[int] = mapped_column(Integer)
    kid: Mapped[str] = mapped_column(String(8))
    expiry_day: Mapped[date] = mapped_column(Date)
    signature: Mapped[bytes] = mapped_column(LargeBinary(64))
    # Keyed hash (HMAC-SHA256 with the service secret) of the scratch PIN; the PIN itself is never stored.
    pin_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    pin_first_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class StampVoid(Base):
    """Slots ``seq_from..seq_to`` of one request voided (lost roll, misprint, proven copy)."""

    __tablename__ = "stamp_voids"
    __table_args__ = (
        CheckConstraint("seq_from >= 1 AND seq_to >= seq_from", name="range_valid"),
        CheckConstraint("reason_code IN ('lost','spoiled','copied','other')", name="reason_known"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("stamp_requests.id"), index=True)
    seq_from: Mapped[int] = mapped_column(Integer)
    seq_to: Mapped[int] = mapped_column(Integer)
    reason_code: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    decision: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    voided_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    voided_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
