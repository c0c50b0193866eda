"""Accounts, their API tokens and their signed-in browser sessions.

Secrets are stored only as hashes: API tokens and session ids as SHA-256 (they are long random
strings, so a fast hash is enough), passwords with argon2id (``crypto/passwords.py``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column

from stamp_service.storage.models.base import Base, UtcDateTime, utcnow


class Account(Base):
    __tablename__ = "accounts"
    __table_args__ = (
        CheckConstraint("role IN ('admin','producer','inspector')", name="role_known"),
        CheckConstraint("(role = 'producer') = (producer_id IS NOT NULL)", name="producer_iff_role"),
        CheckConstraint("role = 'producer' OR NOT producer_admin", name="producer_admin_is_producer"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    producer_id: Mapped[int | None] = mapped_column(ForeignKey("producers.id"), index=True)
    # The province an office or inspector account works for; NULL is the central level.
    # A producer account's province is its producer's (kept NULL here).
    province_code: Mapped[str | None] = mapped_column(String(8), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # A producer account is either its producer's administrator (manages the producer's staff
    # accounts, voids spoiled stamps) or a staff member (domain/access.py, ProducerDuty). The
    # office makes administrators; an administrator invites staff. False for other roles.
    producer_admin: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The person's name as colleagues know it ("Nguyễn Thị Lan"); the user name stays the sign-in.
    display_name: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # argon2id hash (PHC string); NULL = no password: the account signs in with tokens only.
    password_hash: Mapped[str | None] = mapped_column(String(255))
    # Set by an administrator's reset (the password is then a one-time code shown once):
    # the person must choose a new password before doing anything else.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    # Base32 TOTP secret once the second factor is enrolled; NULL = not enrolled.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    # The last accepted TOTP time step, so one code cannot be used twice.
    totp_last_step: Mapped[int | None] = mapped_column(Integer)


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # NULL only for tokens created before expiry existed; every new token has one.
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # "api" (a machine's token) or "device" (a scanner's sign-in, kept offline).
    kind: Mapped[str] = mapped_column(String(16), default="api")


class WebSession(Base):
    """A signed-in browser. The cookie holds a random id; only its SHA-256 is stored."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    id_hash: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)  # the absolute lifetime's end
