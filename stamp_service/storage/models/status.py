"""The status generation's durable copy (one row): survives Redis outages and reaches other processes."""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer
from sqlalchemy.orm import Mapped, mapped_column

from stamp_service.storage.models.base import Base


class StatusGeneration(Base):
    __tablename__ = "status_generation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # always 1
    value: Mapped[int] = mapped_column(BigInteger, default=0)
