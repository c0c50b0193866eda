"""Scans of stamps (the consumer-facing log), their persisted counters, and consumer reports.

The log never holds a client address: only a keyed hash of it (HMAC under the
service secret, purpose "client"), a coarse province the person chose to
share, and a browser family. Rows are written in batches from the store's
queue (``services.scans.flush``), so a scan costs no database write.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from stamp_service.storage.models.base import Base, UtcDateTime, utcnow


class Scan(Base):
    __tablename__ = "scans"
    __table_args__ = (
        Index("ix_scans_serial_scanned_at", "serial", "scanned_at"),
        CheckConstraint("channel IN ('qr','serial')", name="channel_known"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    serial: Mapped[int] = mapped_column(BigInteger)  # signed form, as Stamp.serial
    scanned_at: Mapped[datetime] = mapped_column(UtcDateTime)
    client_hash: Mapped[bytes] = mapped_column(LargeBinary(16))
    province_code: Mapped[str | None] = mapped_column(String(8))
    browser: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(8), default="qr")
    counted: Mapped[bool] = mapped_column(default=True)  # False: a repeat from the same client soon after


class ScanCounter(Base):
    """Per-stamp totals as last flushed; the store holds the live values (see services.scans)."""

    __tablename__ = "scan_counters"

    serial: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    scans: Mapped[int] = mapped_column(Integer, default=0)
    first_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_at: Mapped[datetime] = mapped_column(UtcDateTime)
    clients: Mapped[int] = mapped_column(Integer, default=0)
    provinces: Mapped[int] = mapped_column(Integer, default=0)


class ConsumerReport(Base):
    """A consumer's report of a suspected fake (phản ánh), for the office and inspectors."""

    __tablename__ = "consumer_reports"
    __table_args__ = (
        CheckConstraint("state IN ('open','closed')", name="state_known"),
        CheckConstraint(
            "problem IN ('fake_stamp','fake_goods','expired_sold','no_stamp','recalled_sold','other')",
            name="problem_known",
        ),
        Index("ix_consumer_reports_state_created_at", "state", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    serial: Mapped[int | None] = mapped_column(BigInteger, index=True)  # when made from a known stamp
    verdict: Mapped[str | None] = mapped_column(String(16))  # what the page said at the time
    problem: Mapped[str] = mapped_column(String(16))
    details: Mapped[str | None] = mapped_column(Text)
    shop_name: Mapped[str | None] = mapped_column(String(200))
    place: Mapped[str | None] = mapped_column(String(300))
    province_code: Mapped[str | None] = mapped_column(String(8))
    contact: Mapped[str | None] = mapped_column(String(200))
    client_hash: Mapped[bytes] = mapped_column(LargeBinary(16))
    state: Mapped[str] = mapped_column(String(8), default="open")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    closed_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    close_note: Mapped[str | None] = mapped_column(Text)
