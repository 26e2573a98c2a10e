"""Settings of a local store: the fault knobs for testing clients, token lifetime, credentials.

Every knob is off by default, so a store built with `StoreSettings()` behaves like a healthy
real API. `provisioner serve` exposes each knob as a flag of the same name.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class StoreSettings:
    """How a local store behaves beyond the API itself.

    - `latency_ms`: added to every request (except the stats route).
    - `rate_limit`: requests per second the store accepts (a token bucket holding one second's
      worth); beyond it the answer is 429. `None` means no limit.
    - `retry_after`: seconds sent as `Retry-After` with those 429s (2.5: the real API sends
      none, so by default neither do we).
    - `fail_rate`: the fraction of requests answered 500/502/503/429 without any effect.
    - `lost_write_rate`: the fraction of successful writes that are committed and then lose
      their answer (the connection drops).
    - `token_ttl`: lifetime of access tokens in seconds (1.2: 3600).
    - `seed`: seeds the random draws of the fault knobs, so tests are reproducible.
    - `client_id` / `client_secret`: the credentials to accept; when unset, the pair stored in
      the database (generated on first use) is used.
    """

    latency_ms: float = 0
    rate_limit: float | None = None
    retry_after: float | None = None
    fail_rate: float = 0
    lost_write_rate: float = 0
    token_ttl: int = 3600
    seed: int | None = None
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.latency_ms < 0:
            raise ValueError("latency_ms must be >= 0")
        if self.rate_limit is not None and self.rate_limit <= 0:
            raise ValueError("rate_limit must be > 0 requests per second")
        if self.retry_after is not None and self.retry_after < 0:
            raise ValueError("retry_after must be >= 0 seconds")
        for name in ("fail_rate", "lost_write_rate"):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise ValueError(f"{name} must be between 0 and 1")
        if self.token_ttl <= 0:
            raise ValueError("token_ttl must be > 0 seconds")


DEFAULT_SETTINGS = StoreSettings()  # every knob off
