"""The files behind trace events: photos and documents a producer uploaded, as checked and stored.

Only what ``stamp_service.uploads`` returned is stored (images re-encoded without metadata, PDFs
checked inert). A file is identified by the SHA-256 of the stored bytes (the fingerprint the
trace event names), so the same file uploaded twice is one row, and the public page links to it
by that fingerprint.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from stamp_service.storage.models.base import Base, UtcDateTime, utcnow


class TraceDocument(Base):
    __tablename__ = "trace_documents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    media_type: Mapped[str] = mapped_column(String(32))
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    producer_id: Mapped[int] = mapped_column(ForeignKey("producers.id"), index=True)
    uploaded_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
