"""Notices already sent (email today; Zalo OA or SMS later), so each is sent once per channel."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from stamp_service.storage.models.base import Base, UtcDateTime, utcnow


class NoticeSent(Base):
    __tablename__ = "notices_sent"

    # e.g. "request.new:12" or "certificate.expiry30:7", then the channel ("email").
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    province_code: Mapped[str] = mapped_column(String(8))
    recipients: Mapped[int] = mapped_column(Integer)
    sent_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
