"""Account and API-token JSON API under /api/v1 (thin views over ``services.accounts``).

Administrators manage accounts and tokens in their scope; a producer's administrator lists its
producer's accounts; anyone lists and revokes their own tokens; an inspector's scanner signs in
with a user name and password for a device token. Every answer here is
``Cache-Control: no-store``: several carry a token shown only once.
"""

from __future__ import annotations

from flask import Blueprint, Flask, Response

from stamp_service.domain.access import Principal
from stamp_service.schemas.accounts import (
    AccountIn,
    AccountOut,
    AccountQuery,
    DeviceSignInIn,
    IssuedTokenOut,
    NewAccountOut,
    TokenIn,
    TokenOut,
)
from stamp_service.schemas.common import Page
from stamp_service.services import accounts, sign_in
from stamp_service.web.api import operation
from stamp_service.web.auth import sign_in_attempt
from stamp_service.web.context import db, runtime

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
    summary="List accounts (a producer's administrator: its own producer's accounts)",
    tag=TAG,
    query=AccountQuery,
    response=Page[AccountOut],
    roles=("admin", "producer"),
    errors=(403,),
    description=(
        "Office administrators list the accounts of their scope; a producer's administrator the "
        "accounts of its producer (a staff member's token answers 403). Producers invite, reset and "
        "deactivate staff in the pages (/producer/staff/); tokens stay the office's to issue."
    ),
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
    issued = accounts.issue_token(
        db(),
        principal,
        account_id=account_id,
        label=body.label,
        days=body.days,
        max_days=runtime().settings.token_max_days,
    )
    return _issued(issued)


@operation(
    bp,
    "/tokens",
    method="GET",
    summary="List my own tokens (prefixes, expiry, state)",
    tag=TAG,
    response=list[TokenOut],
)
def my_tokens(*, principal: Principal) -> list[TokenOut]:
    return [TokenOut.model_validate(t) for t in accounts.own_tokens(db(), principal)]


@operation(
    bp,
    "/device-tokens",
    method="POST",
    summary="A scanner signs in (inspector's user name, password, TOTP code if enrolled) for a device token",
    tag=TAG,
    body=DeviceSignInIn,
    response=IssuedTokenOut,
    status=201,
    auth=False,
    errors=(401, 403, 429),
    description=(
        "The answer's token is a bearer token that expires (OCOP_DEVICE_TOKEN_DAYS); the scanner keeps "
        "it offline to send findings. Failures count towards the sign-in lockout (docs/accounts.md)."
    ),
)
def device_sign_in(*, body: DeviceSignInIn) -> IssuedTokenOut:
    settings = runtime().settings
    issued = sign_in.device_sign_in(
        db(),
        sign_in_attempt(),
        name=body.name,
        password=body.password,
        code=body.code,
        days=min(settings.device_token_days, settings.token_max_days["inspector"]),
        max_days=settings.token_max_days,
        label=body.device_label,
    )
    return _issued(issued)


@operation(
    bp,
    "/tokens/<int:token_id>",
    method="DELETE",
    summary="Revoke an API token (your own, or, for administrators, one in your scope)",
    tag=TAG,
    status=204,
    errors=(404, 409),
)
def revoke_token(*, principal: Principal, token_id: int) -> None:
    accounts.revoke_token(db(), principal, token_id)


def _issued(issued: accounts.IssuedToken) -> IssuedTokenOut:
    assert issued.token_id is not None
    return IssuedTokenOut(
        token_id=issued.token_id,
        account_id=issued.account_id,
        token=issued.token,
        expires_at=issued.expires_at,
    )


@bp.after_request
def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
