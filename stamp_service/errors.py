"""The one error hierarchy of the service.

Every error a user can cause is a :class:`ServiceError` carrying a stable
``kind`` (used as the problem ``type``), an HTTP status and structured extra
data. Nothing here imports Flask: ``stamp_service.web.errors`` is the one
place that turns these into problem+json responses, and the CLI turns them
into a message and a non-zero exit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


class ServiceError(Exception):
    """Root of every error the service raises on purpose."""

    kind = "service-error"
    status = 400
    title = "Request could not be processed"

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra: dict[str, Any] = extra


class FieldError(dict):  # type: ignore[type-arg]
    """One offending field: ``{"field": "lots.0.quantity", "message": "..."}``."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(field=field, message=message)


class ValidationFailed(ServiceError):
    kind = "validation-failed"
    status = 422
    title = "The request has invalid fields"

    def __init__(self, errors: Iterable[Mapping[str, str]], detail: str | None = None) -> None:
        error_list = [dict(e) for e in errors]
        super().__init__(detail or self.title, errors=error_list)
        self.errors = error_list


class MalformedRequest(ServiceError):
    kind = "malformed-request"
    status = 400
    title = "The request body is not valid JSON"


class UnsupportedMediaType(ServiceError):
    kind = "unsupported-media-type"
    status = 415
    title = "This media type is not accepted here"  # the detail names the accepted ones


class PayloadTooLarge(ServiceError):
    kind = "payload-too-large"
    status = 413
    title = "The request body is too large"


class Unauthenticated(ServiceError):
    kind = "unauthenticated"
    status = 401
    title = "A valid API token is required"


class SignInFailed(ServiceError):
    """Wrong user name, password or second-factor code: one answer for all, so names cannot be probed."""

    kind = "sign-in-failed"
    status = 401
    title = "The user name, password or code is wrong"


class Forbidden(ServiceError):
    kind = "forbidden"
    status = 403
    title = "This account may not do that"


class NotFound(ServiceError):
    kind = "not-found"
    status = 404
    title = "No such resource"


class Conflict(ServiceError):
    kind = "conflict"
    status = 409
    title = "The request conflicts with the current state"


class RuleViolation(ServiceError):
    """A well-formed request that an OCOP rule forbids (422, with a ``rule`` name)."""

    kind = "rule-violation"
    status = 422
    title = "The request breaks an OCOP programme rule"

    def __init__(self, detail: str, *, rule: str, **extra: Any) -> None:
        super().__init__(detail, rule=rule, **extra)
        self.rule = rule


class RateLimited(ServiceError):
    kind = "rate-limited"
    status = 429
    title = "Too many requests"

    def __init__(self, detail: str | None = None, *, retry_after: int) -> None:
        super().__init__(detail, retry_after=retry_after)
        self.retry_after = retry_after


class ConfigurationError(ServiceError):
    """Bad settings found at start-up; raised before anything is served."""

    kind = "configuration-error"
    status = 500
    title = "The service is misconfigured"


# --- Stamps and signing keys -------------------------------------------------------------------
# The verification page maps every InvalidStamp except SerialTypo to "not a genuine stamp";
# SerialTypo asks the person to re-read the serial they typed (nothing was looked up).


class InvalidStamp(ServiceError):
    """Root of every reason a scanned or typed stamp is rejected before any status lookup."""

    kind = "invalid-stamp"
    status = 422
    title = "Not a genuine stamp"


class MalformedStamp(InvalidStamp):
    kind = "malformed-stamp"
    title = "The stamp code is not well-formed"


class UnknownStampVersion(InvalidStamp):
    kind = "unknown-stamp-version"
    title = "The stamp code has an unknown format version"


class UnknownSigningKey(InvalidStamp):
    kind = "unknown-signing-key"
    title = "The stamp was not signed with a key of this service"


class BadSignature(InvalidStamp):
    kind = "bad-signature"
    title = "The stamp's signature does not match its contents"


class SerialTypo(InvalidStamp):
    """A typed serial that cannot be right (length, character or check character)."""

    kind = "serial-typo"
    title = "The serial number looks mistyped"


class SigningKeyUnavailable(ServiceError):
    """No usable private key here (none active, file missing, folder read-only): an operator problem."""

    kind = "signing-key-unavailable"
    status = 503
    title = "No signing key is available"


class IdempotencyKeyReused(Conflict):
    """An ``Idempotency-Key`` already used by this producer for a request with another body."""

    kind = "idempotency-key-reused"
    title = "This Idempotency-Key was used for a different request"


class InvalidBundle(ServiceError):
    """A status bundle that is malformed, of an unknown version, or not signed by a trusted key."""

    kind = "invalid-bundle"
    status = 422
    title = "Not a valid status bundle"
