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


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read ``OCOP_*`` variables (and the conventional DATABASE_URL/REDIS_URL/PORT)."""
    env = os.environ if env is None else env
    var_dir = Path(env.get("OCOP_VAR_DIR") or PROJECT_ROOT / "var").resolve()
    keys_dir = Path(env.get("OCOP_KEYS_DIR") or PROJECT_ROOT / "keys").resolve()
    database_url = env.get("DATABASE_URL") or f"sqlite:///{var_dir / 'ocop.sqlite3'}"
    if database_url.startswith("postgres://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgres://") :]
    elif database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgresql://") :]
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
        extra={"scanner_dist": env["OCOP_SCANNER_DIST"]} if env.get("OCOP_SCANNER_DIST") else {},
    )
