"""The fault knobs at work: rate limiting, injected failures and lost answers.

Each store owns one `Faults` object; its random draws come from one `random.Random(seed)`, so
a seeded store fails the same requests in the same order every run. Draws happen on the event
loop only (never in worker threads), so they need no lock.
"""

from __future__ import annotations

import random
import time

from provisioner.localstore.settings import StoreSettings

# The statuses an injected failure answers with (issue 3: "500/502/503/429").
FAILURE_STATUSES: tuple[int, ...] = (500, 502, 503, 429)


class LostWrite(Exception):
    """Raised after a write was committed, to drop the connection before the answer."""


class RateLimiter:
    """A token bucket: `rate` requests per second, bursts of at most one second's worth."""

    def __init__(self, rate: float, now: float | None = None) -> None:
        self.rate = rate
        self.capacity = max(1.0, rate)
        self.tokens = self.capacity
        self.updated = time.monotonic() if now is None else now

    def allow(self, now: float | None = None) -> bool:
        """Take a token if one is there; `now` (a clock of the caller's) for the pacing tests."""
        now = time.monotonic() if now is None else now
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class Faults:
    """The knobs of one store: what to do to the next request."""

    def __init__(self, settings: StoreSettings) -> None:
        self.settings = settings
        self.random = random.Random(settings.seed)
        self.limiter = RateLimiter(settings.rate_limit) if settings.rate_limit else None

    @property
    def latency_seconds(self) -> float:
        return self.settings.latency_ms / 1000.0

    def rate_limited(self) -> bool:
        """True when this request is beyond the rate limit (and must get a 429)."""
        return self.limiter is not None and not self.limiter.allow()

    def retry_after_header(self) -> dict[str, str]:
        """`Retry-After` for a 429, only when configured (2.5); whole seconds when possible."""
        value = self.settings.retry_after
        if value is None:
            return {}
        text = str(int(value)) if float(value).is_integer() else f"{value:g}"
        return {"Retry-After": text}

    def injected_failure(self) -> int | None:
        """The status of an injected failure for this request, or None (most of the time)."""
        rate = self.settings.fail_rate
        if rate <= 0 or self.random.random() >= rate:
            return None
        return self.random.choice(FAILURE_STATUSES)

    def lose_answer(self) -> bool:
        """True when this write's answer is to be lost after it commits."""
        rate = self.settings.lost_write_rate
        return rate > 0 and self.random.random() < rate
