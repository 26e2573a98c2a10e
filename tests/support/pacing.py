"""Fake-clock helpers for the pacing tests: a clock moved by hand, the local store's limiter."""

from __future__ import annotations

from provisioner.localstore.faults import RateLimiter
from provisioner.pacing import Pacer


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def accepted(pacer: Pacer, clock: FakeClock, count: int, spacing: float) -> None:
    """`count` answers other than 429, `spacing` seconds apart, each after a started request."""
    for _ in range(count):
        ticket = pacer.reserve()
        epoch = pacer.start(ticket)
        clock.advance(spacing)
        pacer.answered(epoch, refused=False, latency=spacing)


def store_bucket(rate: float) -> RateLimiter:
    """The local store's limiter on a fake clock that starts at 0."""
    return RateLimiter(rate, now=0.0)
