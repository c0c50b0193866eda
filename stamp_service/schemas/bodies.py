"""Kept for the registry schemas' imports: every ``Strict`` body already refuses NUL characters."""

from __future__ import annotations

from stamp_service.schemas.common import NO_NUL, Strict

Body = Strict

__all__ = ["NO_NUL", "Body"]
