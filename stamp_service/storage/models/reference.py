"""Reference data that changes by decree, kept as data: administrative units, product groups."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import CheckConstraint, Date, String
from sqlalchemy.orm import Mapped, mapped_column

from stamp_service.storage.models.base import Base, JsonType


class AdministrativeUnit(Base):
    """A province, commune/ward/special zone or (before 1/7/2025) district, by official code."""

    __tablename__ = "administrative_units"
    __table_args__ = (
        CheckConstraint(
            "level IN ('province','district','commune','ward','special_zone')", name="level_known"
        ),
    )

    code: Mapped[str] = mapped_column(String(8), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(16))
    parent_code: Mapped[str | None] = mapped_column(String(8), index=True)
    province_code: Mapped[str] = mapped_column(String(8), index=True)
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    successor_codes: Mapped[list[str]] = mapped_column(JsonType, default=list)


class ProductGroup(Base):
    """Product category, group or sub-group of decision 148/QĐ-TTg."""

    __tablename__ = "product_groups"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name_vi: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    parent_code: Mapped[str | None] = mapped_column(String(32), index=True)
    level: Mapped[str] = mapped_column(String(16))
    extra: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
