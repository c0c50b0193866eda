"""Typed SQLAlchemy models, one module per feature.

Every module of this package is imported here so that ``Base.metadata`` (and
so Alembic) sees all tables; a new feature just adds a module.
"""

from __future__ import annotations

import importlib
import pkgutil

from stamp_service.storage.models.base import Base

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["Base"]
