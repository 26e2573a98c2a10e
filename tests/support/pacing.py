"""Fake-clock helpers for the pacing tests: a clock moved by hand, the local store's limiter."""

from __future__ import annotations

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


class Bucket:
    """The local store's limiter (provisioner/localstore/faults.py) on a fake clock."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.capacity = max(1.0, rate)
        self.tokens = self.capacity
        self.updated = 0.0

    def allow(self, now: float) -> bool:
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False
