"""When each producer account last opened its notices page: the producer's notices themselves are
derived from the records (``services.producer_notices``); only "seen up to" is stored."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from stamp_service.storage.models.base import Base, UtcDateTime


class ProducerNoticeRead(Base):
    __tablename__ = "producer_notice_reads"

    # Per account, so each of a producer's staff has its own count of new notices.
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(UtcDateTime)
