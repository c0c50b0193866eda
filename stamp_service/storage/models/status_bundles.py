"""Signed status bundles as built, newest by ``seq`` (the last few are kept).

``seq`` is the bundle's sequence number and the primary key: a builder takes
``max(seq) + 1`` inside its transaction, so two workers racing cannot store the
same number, and the number never goes backwards across restarts.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from stamp_service.storage.models.base import Base, JsonType, UtcDateTime


class StatusBundleRecord(Base):
    __tablename__ = "status_bundles"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    generation: Mapped[int] = mapped_column(BigInteger)  # the status generation it was built for
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime)
    refresh_after: Mapped[datetime] = mapped_column(UtcDateTime)
    kid: Mapped[str] = mapped_column(String(8))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    counts: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    data: Mapped[bytes] = mapped_column(LargeBinary)
