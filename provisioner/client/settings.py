"""How to reach one store: `ClientConfig`, the base URL and rate-limit checks, the defaults.

Settings come from the epcc-cli environment variables (`EPCC_API_BASE_URL`, `EPCC_CLIENT_ID`,
`EPCC_CLIENT_SECRET`, `EPCC_RATE_LIMIT`, epcc-api.md §1.6) overridden by CLI options. Nothing
here sends a request; httpx is used only to check that a base URL parses.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from provisioner.errors import TargetError
from provisioner.storeurl import (
    MAX_RATE_LIMIT as MAX_RATE_LIMIT,
)
from provisioner.storeurl import (
    MIN_RATE_LIMIT as MIN_RATE_LIMIT,
)
from provisioner.storeurl import (
    base_url_rule,
    display_url,
)
from provisioner.storeurl import (
    parse_rate_limit as parse_rate_limit,
)

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://euwest.api.elasticpath.com"
# The legacy alias of EU West still answers; epcc-cli warns about it (epcc-api.md §1.5).
DEPRECATED_BASE_URL = "https://api.moltin.com"
# The default pace ceiling, in requests per second: a development store's documented limit
# (§2.5: 25; production stores allow 100), which the adaptive pace lowers on any 429.
DEFAULT_RATE_LIMIT = 25.0
# The most requests in flight at once; the pacer keeps it near rate x latency below that.
DEFAULT_MAX_IN_FLIGHT = 32
# Once the store has answered, a refused or reset connection is retried for this long at most
# between two delays of at most RECONNECT_BACKOFF_MAX: a store restarting does not fail a run.
RECONNECT_DEADLINE = 60.0
RECONNECT_BACKOFF_MAX = 2.0


def _env_text(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name)
    if value is None or not value.strip():
        return None
    return value.strip()


def check_base_url(url: str, source: str = "the base URL") -> str:
    """The store's API root from `url` by the one rule the project file uses too
    (`provisioner.storeurl.base_url_rule`), then parsed by httpx; a `TargetError` naming
    `source` (`EPCC_API_BASE_URL`, `--base-url`) otherwise."""
    base = base_url_rule(url, source)
    try:
        httpx.URL(base)
    except httpx.InvalidURL as error:
        raise TargetError(f"invalid store URL {display_url(base)!r} ({source}): {error}") from None
    return base


@dataclass(frozen=True)
class ClientConfig:
    """How to reach one store. The secret never shows in the repr.

    `client_secret=None` selects the implicit grant: reads work, writes raise `ReadOnlyError`.
    `backoff_base` and `backoff_max` shape the retry delays: attempt n waits a uniformly random
    time in [0, min(backoff_max, backoff_base * 2**(n-1))] ("full jitter") unless the store
    said `Retry-After`. The id and the secret are stripped of surrounding whitespace (a
    variable read from a file often ends in a newline).
    """

    base_url: str
    client_id: str
    client_secret: str | None = field(default=None, repr=False)
    rate_limit: float = DEFAULT_RATE_LIMIT
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT
    max_attempts: int = 6
    deadline: float = 120.0
    timeout: float = 30.0
    backoff_base: float = 0.5
    backoff_max: float = 20.0
    reconnect_deadline: float = RECONNECT_DEADLINE
    # Where the credentials come from, for messages (a 401, a write without a secret): the
    # variables a project environment names instead of EPCC_* under `--env` (issue 13).
    credential_hint: str = "EPCC_CLIENT_ID and EPCC_CLIENT_SECRET"
    secret_hint: str = "EPCC_CLIENT_SECRET (or --client-secret)"

    def __post_init__(self) -> None:
        base_url = check_base_url(self.base_url)
        object.__setattr__(self, "base_url", base_url)
        if base_url.lower() == DEPRECATED_BASE_URL:
            log.warning(
                "The API endpoint %s is deprecated, please use %s instead",
                DEPRECATED_BASE_URL,
                DEFAULT_BASE_URL,
            )
        object.__setattr__(self, "client_id", (self.client_id or "").strip())
        if not self.client_id:
            raise TargetError("no client id: set EPCC_CLIENT_ID (or --client-id)")
        secret = self.client_secret.strip() if self.client_secret is not None else None
        object.__setattr__(self, "client_secret", secret or None)
        checks = {
            "rate_limit": self.rate_limit > 0 and math.isfinite(self.rate_limit),
            "max_in_flight": self.max_in_flight >= 1,
            "max_attempts": self.max_attempts >= 1,
            "deadline": self.deadline > 0,
            "reconnect_deadline": self.reconnect_deadline > 0,
            "timeout": self.timeout > 0,
            "backoff_base": self.backoff_base >= 0,
            "backoff_max": self.backoff_max >= 0,
        }
        for name, ok in checks.items():
            if not ok:
                raise TargetError(f"invalid client setting {name}={getattr(self, name)!r}")

    @property
    def read_only(self) -> bool:
        """True without a client secret: the implicit grant can only read flows (§1.3)."""
        return self.client_secret is None

    @classmethod
    def from_env(cls, env: Mapping[str, str], **overrides: Any) -> ClientConfig:
        """Settings from the epcc-cli environment variables, overridden by non-None keywords.

        `EPCC_API_BASE_URL` (default EU West), `EPCC_CLIENT_ID`, `EPCC_CLIENT_SECRET` (absent:
        implicit grant) and `EPCC_RATE_LIMIT` (the pace ceiling, requests per second, default
        25) (§1.6). CLI
        options pass their values as keywords; a keyword given as None means "not given".
        """
        values: dict[str, Any] = {
            "base_url": _env_text(env, "EPCC_API_BASE_URL") or DEFAULT_BASE_URL,
            "client_id": _env_text(env, "EPCC_CLIENT_ID") or "",
            "client_secret": _env_text(env, "EPCC_CLIENT_SECRET"),
        }
        rate = _env_text(env, "EPCC_RATE_LIMIT")
        if rate is not None:
            values["rate_limit"] = parse_rate_limit(rate, "EPCC_RATE_LIMIT")
        values.update({key: value for key, value in overrides.items() if value is not None})
        return cls(**values)
