"""Issuance settings kept per producer: the optional auto-approval policy.

A request of at most ``max_quantity`` stamps from this producer is approved at
creation (audited as an automatic approval); larger ones wait for the office.
One row per producer; no row means every request waits.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column

from stamp_service.storage.models.base import Base, UtcDateTime, utcnow


class AutoApprovalPolicy(Base):
    __tablename__ = "auto_approval_policies"
    __table_args__ = (CheckConstraint("max_quantity > 0", name="max_quantity_positive"),)

    producer_id: Mapped[int] = mapped_column(ForeignKey("producers.id"), primary_key=True)
    max_quantity: Mapped[int] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text)
    set_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
