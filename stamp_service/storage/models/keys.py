"""Signing keys: public halves and states only. Private keys never enter the database."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Index, LargeBinary, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from stamp_service.storage.models.base import Base, UtcDateTime, utcnow

KEY_STATES = ("pending", "active", "retired", "compromised")


class SigningKey(Base):
    __tablename__ = "signing_keys"
    __table_args__ = (
        CheckConstraint("state IN ('pending','active','retired','compromised')", name="state_known"),
        CheckConstraint("length(kid) = 8", name="kid_length"),
        # At most one active key, enforced by the database so concurrent rotations cannot both win.
        Index(
            "uq_signing_keys_one_active",
            "state",
            unique=True,
            sqlite_where=text("state = 'active'"),
            postgresql_where=text("state = 'active'"),
        ),
    )

    kid: Mapped[str] = mapped_column(String(8), primary_key=True)  # 8 lower-case hex chars
    public_key: Mapped[bytes] = mapped_column(LargeBinary(32))  # raw Ed25519 public key
    state: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    activated_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    retired_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    compromised_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    note: Mapped[str] = mapped_column(Text, default="")

    def __repr__(self) -> str:
        return f"<SigningKey {self.kid} {self.state}>"
