"""The adaptive pace (provisioner.pacing) on a fake clock: decisions, not speed.

Every figure here is computed from a clock the test moves by hand, so nothing depends on how
fast the machine is. Over real HTTP, test_client.py (the 429 tests) shows the same mechanisms
against the local store's rate limiter.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import random

import pytest
from support.pacing import FakeClock, accepted, keep_one_waiting, store_bucket

from provisioner import pacing
from provisioner.client.transport import distinct
from provisioner.pacing import InFlight, Pacer


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
    held = int(pacing.QUIET * 10) - 1
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


def test_answers_slowed_by_a_busy_machine_do_not_widen_the_in_flight_bound() -> None:
    # A store 20 ms away whose answers come 200 ms late (the client's machine is busy): more
    # in flight would not go faster, and all of them would meet the store's limit at once.
    clock = FakeClock()
    pacer = Pacer(100.0, clock=clock, max_in_flight=32)
    for latency in [0.02] * 5 + [0.2] * 60:
        clock.advance(0.01)
        pacer.answered(pacer.epoch, refused=False, latency=latency)
    assert pacer.latency > 0.15  # the average follows them ...
    bound = math.ceil(100 * (pacing.BASE_FACTOR * 0.02) * pacing.IN_FLIGHT_MARGIN)
    assert pacer.in_flight_limit() == bound + pacing.IN_FLIGHT_SPARE  # ... the bound does not
    clock.advance(pacing.BASE_WINDOW)  # the fast answers are old news: 200 ms is the store's
    pacer.answered(pacer.epoch, refused=False, latency=0.2)
    assert pacer.in_flight_limit() >= 100 * 0.2


def test_writes_slower_than_reads_keep_their_room_in_flight() -> None:
    # Reads answered in 50 ms, writes in 150 ms (BASE_FACTOR x the reads): enough in flight
    # for 100 writes per second.
    assert pacing.BASE_FACTOR * 0.05 >= 0.15
    clock = FakeClock()
    pacer = Pacer(100.0, clock=clock, max_in_flight=32)
    for _ in range(30):
        clock.advance(0.01)
        pacer.answered(pacer.epoch, refused=False, latency=0.05)
    for _ in range(30):
        clock.advance(0.01)
        pacer.answered(pacer.epoch, refused=False, latency=0.15)
    assert pacer.in_flight_limit() >= 100 * 0.15


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


def test_a_decrease_spaces_the_next_start_a_whole_new_interval() -> None:
    # The store just refused: the next request must not go at the old pace's next turn (it
    # would be refused too, and lower the pace a second time for nothing).
    clock = FakeClock()
    pacer = Pacer(100.0, clock=clock)
    accepted(pacer, clock, 2, 0.01)
    pacer.start(pacer.reserve())  # the old pace's next turn is 10 ms away
    assert pacer.answered(pacer.epoch, refused=True)
    rate = pacer.rate()
    assert rate == pytest.approx(1.8)
    assert pacer.delay(pacer.reserve()) == pytest.approx(1 / rate)


def test_answers_still_in_flight_at_a_decrease_revise_it_up() -> None:
    # A fresh client at 100 req/s against a store allowing 2: the 429 to its third request
    # comes back before the answer to its second, so at the decrease the store seems to
    # accept 1 req/s; the second's answer, accepted just after, raises the estimate to 2.
    clock = FakeClock()
    pacer = Pacer(100.0, clock=clock)
    first, second, third = (pacer.start(pacer.reserve()) for _ in range(3))
    clock.advance(0.02)
    pacer.answered(first, refused=False, latency=0.02)
    assert pacer.answered(third, refused=True)
    assert pacer.rate() == pytest.approx(0.9)
    clock.advance(0.005)
    pacer.answered(second, refused=False, latency=0.025)
    assert pacer.rate() == pytest.approx(1.8, rel=0.01)
    assert pacer.lowest == pytest.approx(1.8, rel=0.01)
    assert pacer.decreases[-1].after == pytest.approx(1.8, rel=0.01)
    revised = pacer.rate()
    clock.advance(pacing.WINDOW)
    pacer.answered(second, refused=False)  # a window later: no longer news about that moment
    assert pacer.rate() == revised


def test_a_late_waiter_keeps_its_place_and_the_next_ones_catch_up() -> None:
    # A busy event loop wakes the waiters 50 ms late: the 5 whose turns passed start at once,
    # and the one after keeps its original turn (the pace did not fall to one per wake-up).
    clock = FakeClock()
    pacer = Pacer(100.0, clock=clock)
    pacer.start(pacer.reserve())
    waiting = [pacer.reserve() for _ in range(40)]
    due = [pacer.delay(ticket) + clock.now for ticket in waiting]
    clock.advance(0.05)
    started = 0
    while pacer.delay(waiting[started]) <= 0:
        pacer.start(waiting[started], waited=0.05)
        started += 1
    assert started == sum(1 for when in due if when <= clock.now)
    assert started >= 4
    assert pacer.delay(waiting[started]) + clock.now == pytest.approx(due[started])
    # Later than the tolerance: the lost time beyond it is lost (no unbounded burst).
    clock.advance(5.0)
    rest = waiting[started:]
    caught_up = 0
    while caught_up < len(rest) and pacer.delay(rest[caught_up]) <= 0:
        pacer.start(rest[caught_up], waited=5.0)
        caught_up += 1
    assert caught_up == math.floor(pacing.LATE_TOLERANCE * 100) + 1


def test_an_idle_client_starts_without_a_burst() -> None:
    clock = FakeClock()
    pacer = Pacer(10.0, clock=clock)
    pacer.start(pacer.reserve())
    clock.advance(60.0)  # idle for a minute
    pacer.start(pacer.reserve())  # did not wait: starts at once
    assert pacer.delay(pacer.reserve()) == pytest.approx(0.05)  # half an interval, no more


def test_a_slow_store_is_probed_only_after_quiet_requests() -> None:
    clock = FakeClock()
    pacer = Pacer(100.0, clock=clock)
    accepted(pacer, clock, 2, 0.02)
    pacer.answered(pacer.epoch, refused=True)
    after = pacer.rate()
    assert pacer.quiet == pytest.approx(pacing.QUIET_REQUESTS / after)  # longer than QUIET
    clock.advance(pacer.quiet - 0.01)
    assert pacer.rate() == pytest.approx(after)
    clock.advance(1.01)
    assert pacer.rate() == pytest.approx(after * (1 + pacing.STEP_FRACTION))


def simulate(limit: float, ceiling: float, seconds: float) -> tuple[int, int, Pacer]:
    """A client that always has a request waiting, against a token bucket of `limit` req/s,
    20 ms (+ up to 10 ms, seeded) away: (requests sent, 429s, the pacer). No sleeping."""
    jitter = random.Random(limit * 1000 + ceiling)
    clock = FakeClock(0.0)
    pacer = Pacer(ceiling, clock=clock)
    bucket = store_bucket(limit)
    served = keep_one_waiting(
        pacer,
        clock,
        until=seconds,
        outcome=lambda: bucket.allow(clock.now + 0.01 + 0.01 * jitter.random()),
        draw=jitter,
    )
    sent, refused = served.sent, served.refused_sent
    return sent, refused, pacer


@pytest.mark.parametrize(
    ("limit", "ceiling"), [(2, 20), (2, 100), (5, 20), (5, 100), (10, 20), (10, 100), (25, 100)]
)
def test_against_a_token_bucket_429s_stay_rare_and_the_pace_near_the_limit(
    limit: float, ceiling: float
) -> None:
    # Issue 11's goal on a fake clock: two simulated minutes against a store's limiter
    # (the local store's token bucket), the ceiling above the store's limit.
    seconds = 120.0
    sent, refused, pacer = simulate(limit, ceiling, seconds)
    assert refused <= 0.05 * sent  # 429s at most 5% of the requests
    assert (sent - refused) / seconds >= 0.85 * limit  # near the limit, not far below it
    assert pacer.lowest >= 0.7 * limit  # never thrown far below it
    assert len(pacer.decreases) <= sent / pacing.QUIET_REQUESTS + 1  # one probe per quiet


def test_in_flight_places_go_first_come_first_served() -> None:
    # On the real event loop, but nothing waits on time: every step is driven by releases.
    async def main() -> None:
        pacer = Pacer(100.0, max_in_flight=2)
        places = InFlight(pacer)
        await places.acquire()
        await places.acquire()
        order: list[str] = []

        async def take(name: str) -> None:
            await places.acquire()
            order.append(name)

        waiters = {name: asyncio.create_task(take(name)) for name in "abc"}
        await asyncio.sleep(0)
        assert places.active == 2
        assert order == []
        waiters["a"].cancel()  # leaves the line before its turn
        await asyncio.sleep(0)
        places.release()  # one place: the first one still waiting gets it, no one else
        for _ in range(3):
            await asyncio.sleep(0)
        assert order == ["b"]
        assert places.active == 2
        places.release()
        await waiters["c"]
        assert order == ["b", "c"]
        assert pacer.peak_in_flight == 2

    asyncio.run(main())


def test_a_waiter_cancelled_after_its_turn_came_gives_the_place_to_the_next() -> None:
    async def main() -> None:
        places = InFlight(Pacer(100.0, max_in_flight=1))
        await places.acquire()
        first = asyncio.create_task(places.acquire())
        second = asyncio.create_task(places.acquire())
        await asyncio.sleep(0)
        places.release()  # the first waiter's turn comes ...
        first.cancel()  # ... but it is cancelled before it runs
        await second  # the place went on to the second
        assert places.active == 1
        with pytest.raises(asyncio.CancelledError):
            await first

    asyncio.run(main())


def test_a_decrease_is_logged_with_rates_that_tell_before_from_after() -> None:
    # "pace lowered from 0.5 to 0.5 req/s" said nothing: as many digits as it takes.
    assert distinct(0.5004, 0.5) == ("0.5004", "0.5")
    assert distinct(100.0, 22.4) == ("100", "22.4")
