"""The pace against a store's burst (provisioner.pacing), on a fake clock: decisions only.

A token bucket that was idle lets a burst through (the local store's holds one second's
worth), so the answers a fresh client got before its first 429 overstate the store's rate. The
first decrease counts that burst as a window of the store's rate; a second
429 in the same episode is told from the answers at one pace since the first (the store's
bucket was empty then). No sleeping, no wall-clock assertion.
"""

from __future__ import annotations

import random

import pytest
from support.pacing import FakeClock, accepted, keep_one_waiting, store_bucket

from provisioner import pacing
from provisioner.client.stats import RequestStats
from provisioner.pacing import Pacer


def test_a_young_clients_first_decrease_discounts_the_burst() -> None:
    # 34 answers in the 0.45 s a client has existed, then a 429: a store allowing 25 req/s
    # with a full 25-token bucket gives about that (25 + 0.45 x 25 = 36 tokens).
    clock = FakeClock()
    pacer = Pacer(100.0, clock=clock)
    accepted(pacer, clock, 34, 0.45 / 34)
    assert pacer.answered(pacer.epoch, refused=True)
    estimate = (34 + 1) / (pacing.WINDOW + 0.45)  # its life and a window's worth of burst
    assert pacer.rate() == pytest.approx(estimate * pacing.ESTIMATE_MARGIN)
    assert pacer.rate() < 25  # under the store's limit in one decrease
    assert pacer.decreases[-1].accepted == pytest.approx(estimate)
    assert pacer.decreases[-1].span == pytest.approx(pacing.WINDOW + 0.45)


def test_a_client_back_from_idle_discounts_the_burst_again() -> None:
    # The same 34 answers in 0.45 s from a client that started minutes ago and was idle
    # since: the store's bucket filled up again meanwhile, so they hold a burst as well.
    clock = FakeClock()
    pacer = Pacer(100.0, clock=clock)
    pacer.start(pacer.reserve())
    clock.advance(120.0)
    accepted(pacer, clock, 34, 0.45 / 34)
    assert pacer.answered(pacer.epoch, refused=True)
    estimate = (34 + 1) / (pacing.WINDOW + 0.45)
    assert pacer.rate() == pytest.approx(estimate * pacing.ESTIMATE_MARGIN)


def test_a_first_429_late_in_a_slow_start_still_discounts_the_burst() -> None:
    # A client that could send only 40 req/s (a busy machine) empties a 25 req/s store's
    # bucket of 25 1.65 s in, older than a window: 40 answers in its last second. The burst
    # is still in them, and counting it gives the store's rate, not 90% of 40.
    clock = FakeClock()
    pacer = Pacer(100.0, clock=clock)
    accepted(pacer, clock, 66, 1 / 40)
    assert pacer.answered(pacer.epoch, refused=True)
    assert pacer.decreases[-1].accepted == pytest.approx((66 + 1) / (pacing.WINDOW + 1.65))
    assert pacer.rate() < 25


def test_the_first_decrease_is_the_last_window_when_that_is_lower() -> None:
    # 40 req/s accepted for 9 s, then only 20 in the last second (others took the rest of a
    # shared limit), then a 429: what the store takes now is the last window's, 90% of it.
    clock = FakeClock()
    pacer = Pacer(100.0, clock=clock)
    accepted(pacer, clock, 360, 1 / 40)
    accepted(pacer, clock, 20, 1 / 20)
    clock.advance(0.01)
    assert pacer.answered(pacer.epoch, refused=True)
    assert pacer.rate() == pytest.approx(20 * pacing.ESTIMATE_MARGIN)
    assert pacer.decreases[-1].span == pacing.WINDOW


def test_a_second_429_of_an_episode_is_told_from_the_answers_at_one_pace() -> None:
    # After the first decrease (to about 25), the store accepted 4 of the 5 requests sent at
    # that pace before refusing one: its rate is about 25 x 4/5, whatever came before.
    clock = FakeClock()
    pacer = Pacer(100.0, clock=clock)
    accepted(pacer, clock, 40, 0.5 / 40)
    assert pacer.answered(pacer.epoch, refused=True)
    first = pacer.rate()
    assert first == pytest.approx(0.9 * (40 + 1) / (pacing.WINDOW + 0.5))
    assert not pacer.decreases[-1].episode
    for ok in (True, True, True, True, False):
        epoch = pacer.start(pacer.reserve())
        clock.advance(1.0 / first)
        decreased = pacer.answered(epoch, refused=not ok, latency=0.02)
    assert decreased
    second = pacer.decreases[-1]
    assert second.episode
    assert second.accepted == pytest.approx(first * 4 / 5)
    assert pacer.rate() == pytest.approx(min(first * pacing.DECREASE, first * 0.8 * 0.9))


def decreased_with_requests_on_their_way(count: int) -> tuple[FakeClock, Pacer, list[int]]:
    """A client at 100 req/s whose first 429 came while `count` more requests were on their
    way: (the clock, the pace, the epochs those requests started in)."""
    clock = FakeClock()
    pacer = Pacer(100.0, clock=clock)
    accepted(pacer, clock, 40, 0.5 / 40)
    refused = pacer.start(pacer.reserve())
    old = [pacer.start(pacer.reserve()) for _ in range(count)]
    assert pacer.answered(refused, refused=True)
    return clock, pacer, old


def test_429s_while_requests_sent_before_a_decrease_are_on_their_way_are_that_news() -> None:
    # Requests sent before the decrease reach the store after it and take the tokens its
    # bucket refills, so a request sent at the new pace is refused too: the same news, no
    # second decrease while they are on their way (one decrease per round, as TCP's
    # recovery), but as soon as they are back, or lost, a 429 counts again.
    clock, pacer, old = decreased_with_requests_on_their_way(3)
    first = pacer.rate()
    for _ in range(4):  # sent at the new pace, refused while the old ones are out
        epoch = pacer.start(pacer.reserve())
        clock.advance(1.0 / first)
        assert not pacer.answered(epoch, refused=True)
    assert pacer.rate() == first
    pacer.answered(old[0], refused=True)
    pacer.answered(old[1], refused=False, latency=0.3)
    pacer.back(old[2])  # a connection error: no answer will come
    assert pacer.on_way_before(pacer.epoch) == 0
    epoch = pacer.start(pacer.reserve())
    clock.advance(1.0 / first)
    assert pacer.answered(epoch, refused=True)
    assert pacer.rate() < first


def test_the_new_pace_starts_when_the_requests_sent_before_the_decrease_are_back() -> None:
    # They take the tokens the store refills as they arrive; a request sent beside them at
    # the new pace would be refused too. It waits for them (a round trip), then goes on.
    clock, pacer, old = decreased_with_requests_on_their_way(2)
    interval = 1.0 / pacer.rate()
    ticket = pacer.reserve()
    assert pacer.delay(ticket) == pytest.approx(pacing.WINDOW)  # at most a window
    clock.advance(0.03)
    pacer.answered(old[0], refused=True)
    assert pacer.delay(ticket) == pytest.approx(pacing.WINDOW - 0.03)
    pacer.back(old[1])  # the last of them: the new pace begins
    assert pacer.delay(ticket) == pytest.approx(interval - 0.03)


def test_a_request_lost_for_good_holds_the_next_decrease_back_a_window_at_most() -> None:
    clock, pacer, _ = decreased_with_requests_on_their_way(1)  # never answered, never lost
    first = pacer.rate()
    epoch = pacer.start(pacer.reserve())
    clock.advance(pacing.WINDOW / 2)
    assert not pacer.answered(epoch, refused=True)
    epoch = pacer.start(pacer.reserve())
    clock.advance(pacing.WINDOW / 2)
    assert pacer.answered(epoch, refused=True)
    assert pacer.rate() < first


def test_a_429_after_the_pace_held_opens_a_new_episode() -> None:
    # Probing after the quiet period: the first 429 is judged on the window, as at the start.
    clock = FakeClock()
    pacer = Pacer(100.0, clock=clock)
    pacer.start(pacer.reserve())
    clock.advance(120.0)
    accepted(pacer, clock, 20, 0.05)
    assert pacer.answered(pacer.epoch, refused=True)
    clock.advance(pacer.quiet + 5.0)
    rate = pacer.rate()
    for _ in range(3 * int(rate)):  # three seconds at the probing pace, all accepted
        epoch = pacer.start(pacer.reserve())
        clock.advance(1.0 / rate)
        pacer.answered(epoch, refused=False, latency=0.02)
    assert pacer.answered(pacer.epoch, refused=True)
    assert not pacer.decreases[-1].episode  # a new episode: the window's estimate


def client_against_a_bucket(limit: float, seed: int) -> tuple[int, int, Pacer]:
    """A fresh client at ceiling 100 against a store of `limit` req/s that was idle: first a
    few requests one after the other (the token, the reads: about 0.15 s), then always one
    waiting, 20-30 ms (seeded) away. Four simulated seconds: (sent, 429s, the pacer)."""
    draw = random.Random(seed)
    clock = FakeClock(0.0)
    pacer = Pacer(100.0, clock=clock)
    bucket = store_bucket(limit)
    for _ in range(5):  # one after the other: each waits for the answer to the one before
        epoch = pacer.start(pacer.reserve())
        clock.advance(0.03)
        pacer.answered(epoch, refused=not bucket.allow(clock.now - 0.01), latency=0.03)
    served = keep_one_waiting(
        pacer, clock, until=4.0, outcome=lambda: bucket.allow(clock.now + 0.01), draw=draw
    )
    sent, refused = 5 + served.sent, served.refused_sent
    return sent, refused, pacer


@pytest.mark.parametrize("seed", range(1, 6))
def test_a_fresh_client_that_started_slowly_settles_under_the_limit_at_once(seed: int) -> None:
    # Issue 11's row "store 25 req/s, ceiling 100": the client's first 429 comes half a second
    # in, when the store has let through its burst and half a second of its rate (about 38
    # answers in the window: 90% of that is 34, far above 25). One decrease goes under 25.
    sent, refused, pacer = client_against_a_bucket(25.0, seed)
    assert len(pacer.decreases) == 1
    assert pacer.decreases[0].before == 100.0
    assert pacer.decreases[0].after < 25
    assert refused <= 3  # the 429 that said so, and those sent before it came back
    assert pacer.rate() >= 0.8 * 25  # not far below it either
    assert refused <= 0.04 * sent


def test_time_the_store_was_silent_is_not_held_back_by_the_ceiling() -> None:
    # Requests waiting their turn at the ceiling while the store answers: the ceiling held
    # them back. The same waits while the store has not answered for seconds (down,
    # restarting, frozen: the requests are retrying) are the outage's, not the ceiling's.
    clock = FakeClock()
    pacer = Pacer(10.0, clock=clock)
    accepted(pacer, clock, 5, 0.1)
    held = pacer.ceiling_held_seconds
    for _ in range(10):  # answered all along: each waited a whole interval for its turn
        clock.advance(0.1)
        epoch = pacer.start(pacer.reserve(), waited=0.1)
        pacer.answered(epoch, refused=False, latency=0.02)
    assert pacer.ceiling_held_seconds == pytest.approx(held + 10 * 0.1)
    held = pacer.ceiling_held_seconds
    clock.advance(pacing.SILENT + 0.5)  # the store went away: no answer since
    for _ in range(30):
        clock.advance(0.1)
        pacer.start(pacer.reserve(), waited=0.1)
    assert pacer.ceiling_held_seconds == held
    pacer.answered(pacer.epoch, refused=False, latency=0.02)  # back: waits count again
    pacer.start(pacer.reserve(), waited=0.1)
    assert pacer.ceiling_held_seconds == pytest.approx(held + 0.1)


def test_the_summary_totals_429s_spread_over_several_methods() -> None:
    stats = RequestStats(ceiling=25.0, lowest_rate=2.0)
    stats.requests[("GET", 200)] += 40
    stats.requests[("GET", 429)] += 35
    stats.requests[("POST", 429)] += 19
    stats.first_at, stats.last_at = 100.0, 194.0
    assert stats.summary() == (
        "94 requests (GET 200 ×40, GET 429 ×35, POST 429 ×19), 54 answered 429 in all,"
        " 1 req/s effective, pace lowered to 2 req/s (ceiling 25)"
    )
    assert stats.to_dict()["pacing"]["rate_limited"] == 54
