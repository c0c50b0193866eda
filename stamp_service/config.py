"""Settings from the environment, checked once at start-up (fail fast)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from stamp_service.errors import ConfigurationError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LANGUAGES = ("vi", "en")


@dataclass(frozen=True)
class Settings:
    """Everything that differs between a laptop, CI and production."""

    database_url: str
    redis_url: str | None
    keys_dir: Path
    var_dir: Path
    public_base_url: str
    default_language: str = "vi"
    max_body_bytes: int = 256 * 1024
    stamp_spare_percent: int = 2
    log_json: bool = True
    # How many reverse proxies (load balancers) stand in front and set X-Forwarded-For;
    # 0 = none. Per-client rate limits and clone signals need the real client address.
    trusted_proxies: int = 0
    # How long a new signing key is published (pending) before `keys rotate` activates it:
    # the status bundle's validity (7 days) + its rebuild interval (1 hour). docs/operations.md.
    key_publish_hours: int = 169
    testing: bool = False
    # Signs the form cookie (CSRF token, flash messages); empty = derived from the service secret
    # in keys/ (web/people.py), so every worker and restart agrees.
    secret_key: str = ""
    # People's browser sessions (docs/accounts.md): absolute lifetime and idle timeout.
    session_lifetime_minutes: int = 12 * 60
    session_idle_minutes: int = 30
    # Secure cookies: on when the public address is https (always, unless OCOP_COOKIE_SECURE=0
    # for a plain-http development server that a browser would otherwise refuse cookies from).
    cookie_secure: bool = True
    # Sign-in throttling: failures per account and per client address within the window lock
    # that account (or address) until the window has room again.
    signin_account_failures: int = 5
    signin_client_failures: int = 20
    signin_window_minutes: int = 15
    # Office administrators must enrol a TOTP second factor before using the console.
    require_totp_for_admins: bool = False
    # The longest an API token may live, per role (days); scanners' device tokens are inspector tokens.
    token_max_days: dict[str, int] = field(
        default_factory=lambda: {"admin": 90, "producer": 365, "inspector": 30}
    )
    device_token_days: int = 14
    # Email notifications (docs/console.md, stamp_service/notifier.py): off while smtp_host is empty.
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_starttls: bool = False
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_sender: str = "ocop-noreply@localhost"
    # Who is told, by province code or "central" (told about every province): OCOP_NOTIFY_TO.
    notify_recipients: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # A read replica of the PostgreSQL database (DATABASE_READ_URL): used only for the verification
    # page's stamp-row lookup (services/stamp_rows.py); None = the primary.
    database_read_url: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def public_host(self) -> str:
        return urlsplit(self.public_base_url).netloc

    @property
    def is_embedded(self) -> bool:
        return self.database_url.startswith("sqlite")

    def with_overrides(self, **overrides: Any) -> Settings:
        return replace(self, **overrides)


def _int(env: Mapping[str, str], name: str, default: int, *, minimum: int = 0) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise ConfigurationError(f"{name} must be at least {minimum}, got {value}")
    return value


def _recipients(raw: str) -> dict[str, tuple[str, ...]]:
    """``42=a@x.vn,b@x.vn;central=c@y.vn`` -> {"42": ("a@x.vn", "b@x.vn"), "central": ("c@y.vn",)}."""
    out: dict[str, tuple[str, ...]] = {}
    for part in filter(None, (p.strip() for p in raw.split(";"))):
        key, sep, addresses = part.partition("=")
        emails = tuple(a.strip() for a in addresses.split(",") if a.strip())
        if not sep or not (key.strip().isdigit() or key.strip() == "central") or not emails:
            raise ConfigurationError("OCOP_NOTIFY_TO must read like 42=a@x.vn,b@x.vn;central=c@y.vn")
        if any("@" not in a for a in emails):
            raise ConfigurationError(f"OCOP_NOTIFY_TO has an address without @: {addresses}")
        out[key.strip()] = emails
    return out


def _postgres_url(raw: str) -> str:
    """``postgres://`` and ``postgresql://`` as SQLAlchemy's psycopg 3 URL."""
    for prefix in ("postgres://", "postgresql://"):
        if raw.startswith(prefix):
            return "postgresql+psycopg://" + raw[len(prefix) :]
    return raw


def _read_url(env: Mapping[str, str], database_url: str) -> str | None:
    """DATABASE_READ_URL: a PostgreSQL replica of DATABASE_URL, or None."""
    raw = env.get("DATABASE_READ_URL") or None
    if raw is None:
        return None
    if not database_url.startswith("postgresql"):
        raise ConfigurationError("DATABASE_READ_URL needs a PostgreSQL DATABASE_URL (a replica of it)")
    url = _postgres_url(raw)
    if not url.startswith("postgresql"):
        raise ConfigurationError("DATABASE_READ_URL must be a postgresql:// URL")
    return url


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read ``OCOP_*`` variables (and the conventional DATABASE_URL/REDIS_URL/PORT)."""
    env = os.environ if env is None else env
    var_dir = Path(env.get("OCOP_VAR_DIR") or PROJECT_ROOT / "var").resolve()
    keys_dir = Path(env.get("OCOP_KEYS_DIR") or PROJECT_ROOT / "keys").resolve()
    database_url = _postgres_url(env.get("DATABASE_URL") or f"sqlite:///{var_dir / 'ocop.sqlite3'}")
    if not (database_url.startswith("sqlite") or database_url.startswith("postgresql")):
        raise ConfigurationError("DATABASE_URL must be a sqlite:// or postgresql:// URL")
    redis_url = env.get("REDIS_URL") or None
    if redis_url and not redis_url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigurationError("REDIS_URL must be a redis://, rediss:// or unix:// URL")
    base_url = env.get("OCOP_PUBLIC_BASE_URL") or "https://TEM.OCOP.LOCAL"
    parts = urlsplit(base_url)
    if parts.scheme.lower() != "https" or not parts.netloc or parts.path not in ("", "/"):
        raise ConfigurationError(
            "OCOP_PUBLIC_BASE_URL must be https://HOST with no path (the QR code points there)"
        )
    if len(parts.netloc) > 20:
        raise ConfigurationError("the public host may have at most 20 characters (QR size budget)")
    language = env.get("OCOP_DEFAULT_LANGUAGE", "vi")
    if language not in LANGUAGES:
        raise ConfigurationError(f"OCOP_DEFAULT_LANGUAGE must be one of {', '.join(LANGUAGES)}")
    return Settings(
        database_url=database_url,
        redis_url=redis_url,
        keys_dir=keys_dir,
        var_dir=var_dir,
        public_base_url=f"https://{parts.netloc.upper()}",
        default_language=language,
        max_body_bytes=_int(env, "OCOP_MAX_BODY_BYTES", 256 * 1024, minimum=1024),
        stamp_spare_percent=_int(env, "OCOP_STAMP_SPARE_PERCENT", 2),
        log_json=env.get("OCOP_LOG_FORMAT", "json") == "json",
        trusted_proxies=_int(env, "OCOP_TRUSTED_PROXIES", 0),
        key_publish_hours=_int(env, "OCOP_KEY_PUBLISH_HOURS", 169),
        secret_key=env.get("OCOP_SECRET_KEY", ""),
        session_lifetime_minutes=_int(env, "OCOP_SESSION_LIFETIME_MINUTES", 12 * 60, minimum=5),
        session_idle_minutes=_int(env, "OCOP_SESSION_IDLE_MINUTES", 30, minimum=1),
        cookie_secure=env.get("OCOP_COOKIE_SECURE", "1") != "0",
        signin_account_failures=_int(env, "OCOP_SIGNIN_ACCOUNT_FAILURES", 5, minimum=1),
        signin_client_failures=_int(env, "OCOP_SIGNIN_CLIENT_FAILURES", 20, minimum=1),
        signin_window_minutes=_int(env, "OCOP_SIGNIN_WINDOW_MINUTES", 15, minimum=1),
        require_totp_for_admins=env.get("OCOP_REQUIRE_TOTP_FOR_ADMINS", "0") == "1",
        token_max_days={
            "admin": _int(env, "OCOP_TOKEN_MAX_DAYS_ADMIN", 90, minimum=1),
            "producer": _int(env, "OCOP_TOKEN_MAX_DAYS_PRODUCER", 365, minimum=1),
            "inspector": _int(env, "OCOP_TOKEN_MAX_DAYS_INSPECTOR", 30, minimum=1),
        },
        device_token_days=_int(env, "OCOP_DEVICE_TOKEN_DAYS", 14, minimum=1),
        smtp_host=env.get("OCOP_SMTP_HOST", ""),
        smtp_port=_int(env, "OCOP_SMTP_PORT", 25, minimum=1),
        smtp_starttls=env.get("OCOP_SMTP_STARTTLS", "0") == "1",
        smtp_user=env.get("OCOP_SMTP_USER", ""),
        smtp_password=env.get("OCOP_SMTP_PASSWORD", ""),
        smtp_sender=env.get("OCOP_SMTP_SENDER", "ocop-noreply@localhost"),
        notify_recipients=_recipients(env.get("OCOP_NOTIFY_TO", "")),
        database_read_url=_read_url(env, database_url),
        extra={"scanner_dist": env["OCOP_SCANNER_DIST"]} if env.get("OCOP_SCANNER_DIST") else {},
    )
