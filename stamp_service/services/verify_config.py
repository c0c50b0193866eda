"""The public verification's tunables: clone thresholds, scan batching, rate limits, cache lifetime.

Read once per app from ``Settings.extra`` (tests, embedding code) and then from
``OCOP_*`` environment variables (deployments), falling back to the defaults
documented in docs/verification.md. Bad values fail at start-up.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from stamp_service.config import Settings
from stamp_service.domain.verification import CloneThresholds
from stamp_service.errors import ConfigurationError

_ZERO_MEANS_OFF = frozenset({"scan_flush_seconds"})


@dataclass(frozen=True)
class VerifyConfig:
    clone_max_scans: int = 20
    clone_min_clients: int = 3
    clone_min_provinces: int = 3
    clone_max_span_days: int = 180
    scan_dedupe_seconds: int = 600  # the same client re-opening the page within this counts once
    scan_flush_seconds: int = 5  # the background flusher's period (0: only on demand / CLI)
    scan_flush_batch: int = 500  # flush at once when this many scans wait
    scan_ttl_days: int = 400  # live counters in the store expire this long after the last scan
    rate_page_per_minute: int = 1200  # per client address: a fair's phones share carrier NAT addresses (docs)
    rate_api_per_minute: int = 300
    rate_pin_per_stamp_hour: int = 10
    rate_pin_per_client_hour: int = 30
    rate_reports_per_client_hour: int = 5
    view_cache_seconds: int = 300  # the generation in the key makes revocations visible at once anyway

    @property
    def clone(self) -> CloneThresholds:
        return CloneThresholds(
            max_scans=self.clone_max_scans,
            min_clients=self.clone_min_clients,
            min_provinces=self.clone_min_provinces,
            max_span_days=self.clone_max_span_days,
        )

    @classmethod
    def load(cls, settings: Settings, env: Mapping[str, str] | None = None) -> VerifyConfig:
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = settings.extra.get(f.name, env.get(f"OCOP_{f.name.upper()}"))
            if raw is None or raw == "":
                continue
            try:
                value = int(raw)
            except (TypeError, ValueError):
                raise ConfigurationError(f"OCOP_{f.name.upper()} must be an integer, got {raw!r}") from None
            if value < 0 or (value == 0 and f.name not in _ZERO_MEANS_OFF):
                raise ConfigurationError(f"OCOP_{f.name.upper()} must be positive, got {value}")
            values[f.name] = value
        return cls(**values)
