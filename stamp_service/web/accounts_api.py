"""Account and API-token JSON API under /api/v1, for admins (thin views over ``services.accounts``)."""

from __future__ import annotations

from flask import Blueprint, Flask

from stamp_service.domain.access import Principal
from stamp_service.schemas.accounts import (
    AccountIn,
    AccountOut,
    AccountQuery,
    IssuedTokenOut,
    NewAccountOut,
    TokenIn,
    TokenOut,
)
from stamp_service.schemas.common import Page
from stamp_service.services import accounts
from stamp_service.web.api import operation
from stamp_service.web.context import db

bp = Blueprint("accounts_api", __name__, url_prefix="/api/v1")
TAG = "accounts"


@operation(
    bp,
    "/accounts",
    method="POST",
    summary="Create an account; its first API token is in the answer, shown once",
    tag=TAG,
    body=AccountIn,
    response=NewAccountOut,
    status=201,
    roles=("admin",),
    errors=(404, 409),
)
def create_account(*, principal: Principal, body: AccountIn) -> NewAccountOut:
    account, issued = accounts.open_account(
        db(),
        principal,
        name=body.name,
        role=body.role,
        producer_id=body.producer_id,
        province_code=body.province_code,
        label=body.token_label,
    )
    return NewAccountOut(account=AccountOut.model_validate(account), token=_issued(issued))


@operation(
    bp,
    "/accounts",
    method="GET",
    summary="List accounts",
    tag=TAG,
    query=AccountQuery,
    response=Page[AccountOut],
    roles=("admin",),
)
def list_accounts(*, principal: Principal, query: AccountQuery) -> Page[AccountOut]:
    return accounts.list_accounts(db(), principal, role=query.role, page=query.page, per_page=query.per_page)


@operation(
    bp,
    "/accounts/<int:account_id>/tokens",
    method="GET",
    summary="List an account's tokens (prefixes only)",
    tag=TAG,
    response=list[TokenOut],
    roles=("admin",),
    errors=(404,),
)
def list_tokens(*, principal: Principal, account_id: int) -> list[TokenOut]:
    return [TokenOut.model_validate(t) for t in accounts.account_tokens(db(), principal, account_id)]


@operation(
    bp,
    "/accounts/<int:account_id>/tokens",
    method="POST",
    summary="Issue another API token (shown once)",
    tag=TAG,
    body=TokenIn,
    response=IssuedTokenOut,
    status=201,
    roles=("admin",),
    errors=(404,),
)
def issue_token(*, principal: Principal, account_id: int, body: TokenIn) -> IssuedTokenOut:
    return _issued(accounts.issue_token(db(), principal, account_id=account_id, label=body.label))


@operation(
    bp,
    "/tokens/<int:token_id>",
    method="DELETE",
    summary="Revoke an API token",
    tag=TAG,
    status=204,
    roles=("admin",),
    errors=(404, 409),
)
def revoke_token(*, principal: Principal, token_id: int) -> None:
    accounts.revoke_token(db(), principal, token_id)


def _issued(issued: accounts.IssuedToken) -> IssuedTokenOut:
    assert issued.token_id is not None
    return IssuedTokenOut(token_id=issued.token_id, account_id=issued.account_id, token=issued.token)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
