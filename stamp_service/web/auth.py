"""Bearer-token authentication for the JSON APIs."""

from __future__ import annotations

from flask import g, request

from stamp_service.domain.access import Principal
from stamp_service.errors import Unauthenticated
from stamp_service.services import accounts
from stamp_service.web.context import db


def current_principal() -> Principal:
    """The caller of this request; raises Unauthenticated without a valid token."""
    if "principal" in g:
        return g.principal  # type: ignore[no-any-return]
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated()
    g.principal = accounts.authenticate(db(), token.strip())
    return g.principal  # type: ignore[no-any-return]
