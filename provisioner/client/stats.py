"""`RequestStats`: what one client did on the wire, for `--verbose` and the end of `apply`.

Requests by method and status, transport failures, retries, adoptions, and the time spent
waiting for the pace, for `Retry-After` and in backoff.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

# `--verbose` says so when the ceiling held a run back for longer than this (seconds).
CEILING_NOTE_SECONDS = 3.0


@dataclass
class RequestStats:
    """What one client did on the wire, for `--verbose` and the end of `apply`.

    Every request sent counts, the token calls and the re-sends after a 401 included, so the
    figures match the store's own statistics.
    """

    requests: Counter[tuple[str, int]] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)
    retries: int = 0
    adopted: int = 0
    converged: int = 0  # creates refused as duplicates: another writer had made them as sent
    throttled_seconds: float = 0.0  # waiting for the pace (summed over requests)
    retry_after_seconds: float = 0.0  # waiting because the store sent Retry-After
    backoff_seconds: float = 0.0  # other waits before a retry
    ceiling: float | None = None  # the configured pace ceiling (EPCC_RATE_LIMIT)
    lowest_rate: float | None = None  # the lowest pace 429s brought it down to
    ceiling_held_seconds: float = 0.0  # wall time the ceiling (not a 429) held requests back
    first_at: float | None = None  # monotonic time the first request started
    last_at: float | None = None  # ... and the last one ended

    @property
    def rate_limited(self) -> int:
        """Requests the store answered 429."""
        return self.count(status=429)

    @property
    def effective_rate(self) -> float | None:
        """Requests per second from the first start to the last answer (None: too short)."""
        if self.first_at is None or self.last_at is None:
            return None
        span = self.last_at - self.first_at
        return self.total / span if span >= 0.05 else None

    @property
    def held_by_ceiling(self) -> bool:
        """True when the ceiling held the run back for more than a few seconds."""
        return self.ceiling_held_seconds > CEILING_NOTE_SECONDS

    @property
    def total(self) -> int:
        """Requests that got an answer plus those that failed in transport."""
        return sum(self.requests.values()) + sum(self.failures.values())

    def count(self, method: str | None = None, status: int | None = None) -> int:
        """Answered requests, optionally only those of one method and/or status."""
        return sum(
            n
            for (m, s), n in self.requests.items()
            if (method is None or m == method) and (status is None or s == status)
        )

    def summary(self) -> str:
        """One line, e.g. `12 requests (GET 200 ×9, POST 201 ×3), 1 retry, throttled 0.4 s`."""
        parts = [f"{m} {s} ×{n}" for (m, s), n in sorted(self.requests.items())]
        parts += [f"{kind} ×{n}" for kind, n in sorted(self.failures.items())]
        noun = "request" if self.total == 1 else "requests"
        text = f"{self.total} {noun}"
        if parts:
            text += f" ({', '.join(parts)})"
        if self.retries:
            text += f", {self.retries} retr{'y' if self.retries == 1 else 'ies'}"
        if self.adopted:
            text += f", {self.adopted} adopted after a lost answer"
        if self.converged:
            text += f", {self.converged} already made as desired by another writer"
        throttled = self.throttled_seconds + self.retry_after_seconds
        if throttled >= 0.05:
            text += (
                f", throttled {throttled:.1f} s (rate limit {self.throttled_seconds:.1f} s,"
                f" Retry-After {self.retry_after_seconds:.1f} s)"
            )
        if self.backoff_seconds >= 0.05:
            text += f", backoff {self.backoff_seconds:.1f} s"
        return text + self.pacing_summary()

    def pacing_summary(self) -> str:
        """`, 9.8 req/s effective, pace lowered to 1.8 req/s (ceiling 25)`, or ``.

        The 429s are in the count by method and status already; when more than one method
        got them, their total comes first (`, 54 answered 429 in all`).
        """
        text = ""
        methods = {m for (m, s), n in self.requests.items() if s == 429 and n}
        if len(methods) > 1:
            text += f", {self.rate_limited} answered 429 in all"
        rate = self.effective_rate
        if rate is not None:
            text += f", {rate:.3g} req/s effective"
        if (
            self.ceiling is not None
            and self.lowest_rate is not None
            and self.lowest_rate < self.ceiling
        ):
            text += f", pace lowered to {self.lowest_rate:.3g} req/s (ceiling {self.ceiling:g})"
        return text

    def ceiling_note(self) -> str | None:
        """For `--verbose`: a sentence when the ceiling held the run back, else None."""
        if not self.held_by_ceiling or self.ceiling is None:
            return None
        hint = " (a production store allows 100)" if self.ceiling < 100 else ""
        return (
            f"The pace ceiling of {self.ceiling:g} requests/s held this run back for"
            f" {self.ceiling_held_seconds:.1f} s; if the store allows more, raise"
            f" EPCC_RATE_LIMIT{hint}."
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready copy; `requests` has the shape of the local store's statistics."""
        rate = self.effective_rate
        return {
            "total": self.total,
            "requests": [
                {"method": m, "status": s, "count": n}
                for (m, s), n in sorted(self.requests.items())
            ],
            "failures": dict(sorted(self.failures.items())),
            "retries": self.retries,
            "adopted": self.adopted,
            "converged": self.converged,
            "throttled_seconds": round(self.throttled_seconds, 3),
            "retry_after_seconds": round(self.retry_after_seconds, 3),
            "backoff_seconds": round(self.backoff_seconds, 3),
            "pacing": {
                "ceiling": self.ceiling,
                "effective_rate": None if rate is None else round(rate, 3),
                "rate_limited": self.rate_limited,
                "waiting_for_pace_seconds": round(self.throttled_seconds, 3),
                "lowest_rate": None if self.lowest_rate is None else round(self.lowest_rate, 3),
                "held_by_ceiling_seconds": round(self.ceiling_held_seconds, 3),
            },
        }
