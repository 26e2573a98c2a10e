"""The adaptive pace (provisioner.pacing) on a fake clock: decisions, not speed.

Every figure here is computed from a clock the test moves by hand, so nothing depends on how
fast the machine is. Over real HTTP, test_client_pacing.py shows the same mechanisms against
the local store's rate limiter.
"""

from __future__ import annotations

import asyncio
import itertools

import pytest

from provisioner import pacing
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


def test_a_429_slows_every_request_already_waiting() -> None:
    clock = FakeClock()
    pacer = Pacer(100.0, clock=clock)
    accepted(pacer, clock, 5, 0.01)  # the store took 5 requests in the last second
    epoch = pacer.epoch
    waiting = [pacer.reserve() for _ in range(10)]
    before = [pacer.delay(ticket) for ticket in waiting]
    assert before[-1] == pytest.approx(before[0] + 9 / 100)  # paced at the ceiling

    assert pacer.answered(epoch, refused=True)  # one 429: the whole client slows down

    rate = pacer.rate()
    assert rate <= pacer_estimate(5)
    after = [pacer.delay(ticket) for ticket in waiting]
    for position, (old, new) in enumerate(zip(before, after, strict=True)):
        assert new >= old  # nobody keeps the old pace ...
        assert new == pytest.approx(after[0] + position / rate)  # ... every waiter adopted it


def pacer_estimate(accepted_per_second: float) -> float:
    return accepted_per_second * pacing.ESTIMATE_MARGIN


def test_the_first_429_brings_the_pace_near_what_the_store_accepts() -> None:
    # A store allowing 2 req/s refuses a client paced at 100 after its burst: one decrease
    # goes to 90% of what it accepted, not 80 (a halving per 429 would take six of them).
    clock = FakeClock()
    pacer = Pacer(100.0, clock=clock)
    accepted(pacer, clock, 2, 0.02)
    pacer.answered(pacer.epoch, refused=True)
    assert pacer.rate() == pytest.approx(1.8)
    assert pacer.lowest == pytest.approx(1.8)
    assert len(pacer.decreases) == 1


def test_429s_of_requests_sent_before_the_decrease_do_not_decrease_again() -> None:
    clock = FakeClock()
    pacer = Pacer(50.0, clock=clock)
    accepted(pacer, clock, 8, 0.02)
    in_flight = [pacer.start(pacer.reserve()) for _ in range(5)]  # all sent in epoch 0
    assert pacer.answered(in_flight[0], refused=True)
    rate = pacer.rate()
    for epoch in in_flight[1:]:
        assert not pacer.answered(epoch, refused=True)  # the same news, already acted on
    assert pacer.rate() == rate
    # A request sent after the decrease and still refused: the new pace is too fast too.
    late = pacer.start(pacer.reserve())
    assert pacer.answered(late, refused=True)
    assert pacer.rate() < rate


def test_a_stray_429_among_many_accepted_answers_is_not_a_limit() -> None:
    clock = FakeClock()
    pacer = Pacer(100.0, clock=clock)
    accepted(pacer, clock, 60, 0.01)
    assert not pacer.answered(pacer.epoch, refused=True)
    assert pacer.rate() == 100.0


def test_the_pace_never_falls_below_the_floor() -> None:
    clock = FakeClock()
    pacer = Pacer(25.0, clock=clock)
    for _ in range(40):  # the store refuses everything
        epoch = pacer.start(pacer.reserve())
        clock.advance(0.1)
        pacer.answered(epoch, refused=True)
    assert pacer.rate() == pytest.approx(pacing.MIN_RATE)
    assert Pacer(0.2, clock=clock).min_rate == 0.2  # a ceiling below the floor is the floor


def test_recovery_is_gradual_and_never_above_the_ceiling() -> None:
    clock = FakeClock()
    pacer = Pacer(20.0, clock=clock)
    accepted(pacer, clock, 8, 0.1)
    pacer.answered(pacer.epoch, refused=True)
    decreased = pacer.rate()
    estimate = pacer.decreases[-1].accepted
    assert decreased == pytest.approx(estimate * pacing.ESTIMATE_MARGIN)
    rates = []
    for _ in range(6000):  # ten minutes in steps of 0.1 s, no 429 any more
        clock.advance(0.1)
        rates.append(pacer.rate())
    assert all(rate <= 20.0 for rate in rates)  # never above the ceiling
    assert all(b >= a - 1e-9 for a, b in itertools.pairwise(rates))  # only climbs
    held = int(pacing.HOLD * 10) - 1
    assert rates[held - 1] == pytest.approx(decreased)  # holds first
    quiet = int(pacing.QUIET * 10) - 1
    assert rates[quiet - 1] <= estimate + 1e-9  # not above what the store took, while quiet
    steps = [b - a for a, b in itertools.pairwise(rates[quiet + 2 :]) if b < 20]
    assert steps
    assert all(step == pytest.approx(pacer.step * 0.1) for step in steps)  # additive
    assert rates[-1] == 20.0  # and back at the ceiling in the end


def test_retry_after_pauses_every_request() -> None:
    clock = FakeClock()
    pacer = Pacer(10.0, clock=clock)
    first, second = pacer.reserve(), pacer.reserve()
    pacer.pause(3.0)
    assert pacer.delay(first) == pytest.approx(3.0)
    assert pacer.delay(second) == pytest.approx(3.1)


def test_cancelled_waiters_leave_no_gap() -> None:
    clock = FakeClock()
    pacer = Pacer(10.0, clock=clock)
    tickets = [pacer.reserve() for _ in range(3)]
    assert pacer.delay(tickets[2]) == pytest.approx(0.2)
    pacer.cancel(tickets[1])
    assert pacer.delay(tickets[2]) == pytest.approx(0.1)


def test_in_flight_follows_rate_times_latency_within_bounds() -> None:
    clock = FakeClock()
    pacer = Pacer(100.0, clock=clock, max_in_flight=32)
    for _ in range(60):  # a store 150 ms away
        pacer.answered(pacer.epoch, refused=False, latency=0.15)
    limit = pacer.in_flight_limit()
    assert 100 * 0.15 <= limit <= 32  # enough for 100 req/s, not parallelism / latency
    assert Pacer(100.0, clock=clock, max_in_flight=8).in_flight_limit() <= 8  # the upper bound
    near = Pacer(100.0, clock=clock, max_in_flight=32)
    for _ in range(60):  # a store 5 ms away needs few
        near.answered(near.epoch, refused=False, latency=0.005)
    assert near.in_flight_limit() < limit
    assert near.in_flight_limit() >= 1


def test_waiters_wake_to_adopt_a_slower_pace() -> None:
    # On the real event loop: a request waiting its turn at 50 req/s when the pace drops to the
    # floor keeps waiting (it re-reads the pace instead of leaving at its old time).
    async def main() -> None:
        pacer = Pacer(50.0)
        pacer.start(pacer.reserve())  # the previous request just started
        waiter = asyncio.create_task(pacer.wait())
        await asyncio.sleep(0)
        pacer.pause(0.3)
        done, _ = await asyncio.wait({waiter}, timeout=0.1)
        assert not done  # 20 ms was its turn at 50 req/s; the pause holds it
        waited, _ = await waiter
        assert waited >= 0.25

    asyncio.run(main())
