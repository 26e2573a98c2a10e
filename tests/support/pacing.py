"""Fake-clock helpers for the pacing tests: a clock moved by hand, the local store's limiter."""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable
from dataclasses import dataclass

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


@dataclass
class Served:
    """What `keep_one_waiting` counted: requests sent, and 429s among them (when sent); the
    answers received before the end, other than 429 and 429."""

    sent: int = 0
    refused_sent: int = 0
    accepted: int = 0
    refused: int = 0


def keep_one_waiting(
    pacer: Pacer,
    clock: FakeClock,
    *,
    until: float,
    outcome: Callable[[], bool],
    draw: random.Random,
    answered: Callable[[int, bool], None] | None = None,
) -> Served:
    """A client that always has a request waiting for its turn, until `until` on the fake
    clock. Each request is accepted when `outcome()` (called as it starts) says so, and its
    answer comes 20 ms (+ up to 10 ms from `draw`) later, given to `answered(epoch, good)`
    (by default the pacer's, with a 20 ms latency for an answer other than 429)."""

    def to_pacer(epoch: int, good: bool) -> None:
        pacer.answered(epoch, refused=not good, latency=0.02 if good else None)

    answer = answered or to_pacer
    answers: list[tuple[float, int, int, bool]] = []  # (when, order, epoch, accepted)
    served = Served()
    ticket = pacer.reserve()
    while clock.now < until:
        delay = max(0.0, pacer.delay(ticket))
        if answers and answers[0][0] <= clock.now + delay:
            clock.now, _, epoch, good = heapq.heappop(answers)
            answer(epoch, good)
            served.accepted += good
            served.refused += not good
            continue
        clock.advance(delay)
        epoch = pacer.start(ticket, delay)
        good = outcome()
        heapq.heappush(answers, (clock.now + 0.02 + 0.01 * draw.random(), served.sent, epoch, good))
        served.sent += 1
        served.refused_sent += not good
        ticket = pacer.reserve()
    return served
