"""Account and API-token contracts (office administrators; a producer's administrator lists its own)."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from stamp_service.domain.access import Role
from stamp_service.schemas.bodies import Body
from stamp_service.schemas.common import Out, PageQuery


class AccountIn(Body):
    name: str = Field(pattern=r"^[\w.@-]{2,100}$")
    role: Role
    producer_id: int | None = Field(None, ge=1, description="Required for producer accounts, only for them")
    province_code: str | None = Field(
        None,
        pattern=r"^[0-9]{2}$",
        description="Office and inspector accounts: the province they work for; absent = central level",
    )
    token_label: str = Field("", max_length=200)


class TokenIn(Body):
    label: str = Field("", max_length=200)
    days: int | None = Field(
        None, ge=1, le=3650, description="Lifetime in days; default and maximum: the role's (settings)"
    )


class TokenOut(Out):
    id: int
    account_id: int
    prefix: str
    label: str
    kind: str = Field(description="api (a machine's token) or device (a scanner's sign-in)")
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


class DeviceSignInIn(Body):
    """A scanner signs in with the inspector's user name and password (and TOTP code if enrolled)."""

    name: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=200)
    code: str | None = Field(None, max_length=10, description="The 6-digit TOTP code, when enrolled")
    device_label: str = Field("scanner", max_length=100)


class AccountOut(Out):
    id: int
    name: str
    role: Role
    producer_id: int | None
    province_code: str | None
    producer_admin: bool = Field(
        False, description="Producer accounts: the producer's administrator (else a staff member)"
    )
    display_name: str | None = None
    active: bool
    created_at: datetime


class IssuedTokenOut(Out):
    token_id: int
    account_id: int
    token: str = Field(description="Shown this once; only its hash is stored")
    expires_at: datetime | None = None


class NewAccountOut(Out):
    account: AccountOut
    token: IssuedTokenOut


class AccountQuery(PageQuery):
    role: Role | None = None
