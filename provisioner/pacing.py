"""Adaptive pacing shared by every request of one client: the AIMD rate (pure).

A store's rate limit is not known in advance and is shared with its live traffic, and the real
API answers 429 without `Retry-After` or rate-limit headers (epcc-api.md §2.5). So the client
paces itself (`Pacer`) and treats a 429 as a signal to slow down the whole client, not as a
failure of one request:

- **Pace**, **Retry-After**: the schedule of request starts, `pacing_turns.py`.
- **Multiplicative decrease.** A 429 lowers the rate, at most once per "epoch" (429s answered to
  requests that started before the last decrease are the same news, already acted on), and only
  when at least `REFUSED_FRACTION` of the answers of the last `WINDOW` seconds were 429s (one
  stray 429 among many answers is noise, not a limit; at a slow pace, whose window holds fewer
  than `YIELD_ANSWERS` answers, of the last `YIELD_ANSWERS` answers: one 429 is not a share).
  The new rate is the lower of `DECREASE` x the current rate and `ESTIMATE_MARGIN` x the rate
  the store accepted over the last `WINDOW` seconds (so the first 429 from a store allowing
  2 req/s brings a client paced at 100 req/s down to 1.8 at once instead of after ten
  halvings), never below the floor.
  Requests sent before the decrease and accepted after it count too (`_revise`): the estimate
  of a fresh client is otherwise short of the answers still in flight. The next request waits
  a whole interval at the new rate from the 429 (the store's bucket is empty now).
- **The store's burst.** A store idle before the client came (a token bucket full: the local
  store's holds a second's worth) lets a burst through, which the window before the client's
  first 429 holds (a store allowing 25 req/s looks like 30-45 half a second in). So the
  estimate counts bursts as a window of the store's rate: the most that what the store
  accepted of the requests sent since any time of the last `HISTORY` seconds allows
  (`_shown`), when that is lower. A later 429 of the same episode (before
  the pace the last decrease set had held) is told from the answers to the requests sent at
  that pace: the store's bucket was empty, so the share of them it accepted times that pace
  is its refill rate (`_episode_rate`, from `EPISODE_ANSWERS` answers).
- **Recovery.** 429s to requests sent at the new pace while requests sent before the decrease
  are still on their way (for at most a `WINDOW`) are the same news: those reach the store
  after the decrease and take the tokens its bucket refills (`Turns._draining`; TCP's
  recovery); no request starts at the new pace before they are back (`pacing_turns.py`).
- **Floor.** A decrease never goes below `FLOOR_FRACTION` of the most the store accepted in one
  window (`proven`; at least `min_rate`): 429s that come whatever the pace cannot drive it to
  nothing. The floor gives way when the store refuses half or more of its last answers (its
  limit is shared, and the others now take most of it): `proven` restarts from what it
  accepts now.
- **Background 429s**: 429s that keep coming however slow the pace, `pacing_noise.py`.
- **Probing.** The decreased rate holds for a quiet period (`QUIET` seconds, and at least
  `QUIET_REQUESTS` requests' worth at that rate, so that probing costs at most about one 429
  per `QUIET_REQUESTS` requests even against a slow store); after it, without another
  decrease, the rate rises additively by `step` requests per second each second
  (`STEP_FRACTION` of the rate it fell to), never above the ceiling (the configured
  `EPCC_RATE_LIMIT`). It does not climb back to the rate the store accepted: that rate is the
  store's limit, and pacing at a limit exactly is refused as soon as anything jitters.
- **In flight**: the number of requests in flight, `pacing_inflight.py`.

The constants are in `pacing_tuning.py`; this module re-exports them, and `InFlight`.

Everything is computed from an injectable monotonic `clock`, so tests drive the decisions with
a fake clock and no sleeping. Only `Pacer.wait` and `InFlight.acquire` await (asyncio only; no
I/O, no network library).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace

from provisioner.pacing_inflight import InFlight, Latency
from provisioner.pacing_noise import Background
from provisioner.pacing_tuning import (
    BASE_FACTOR,
    BASE_FLOOR,
    BASE_WINDOW,
    DECREASE,
    EPISODE_ANSWERS,
    ESTIMATE_MARGIN,
    FLOOR_FRACTION,
    HISTORY,
    IN_FLIGHT_MARGIN,
    IN_FLIGHT_SPARE,
    INITIAL_LATENCY,
    LATE_TOLERANCE,
    LATENCY_WEIGHT,
    MIN_RATE,
    NOISE_DECREASES,
    NOISE_FACTOR,
    NOISE_KEEP,
    QUIET,
    QUIET_REQUESTS,
    RECHECK,
    REFUSED_FRACTION,
    SILENT,
    STEP_ANSWERS,
    STEP_FRACTION,
    WINDOW,
    YIELD_ANSWERS,
    YIELD_FRACTION,
)
from provisioner.pacing_turns import Turns

__all__ = [
    "BASE_FACTOR",
    "BASE_FLOOR",
    "BASE_WINDOW",
    "DECREASE",
    "EPISODE_ANSWERS",
    "ESTIMATE_MARGIN",
    "FLOOR_FRACTION",
    "HISTORY",
    "INITIAL_LATENCY",
    "IN_FLIGHT_MARGIN",
    "IN_FLIGHT_SPARE",
    "LATENCY_WEIGHT",
    "LATE_TOLERANCE",
    "MIN_RATE",
    "NOISE_DECREASES",
    "NOISE_FACTOR",
    "NOISE_KEEP",
    "QUIET",
    "QUIET_REQUESTS",
    "RECHECK",
    "REFUSED_FRACTION",
    "SILENT",
    "STEP_ANSWERS",
    "STEP_FRACTION",
    "WINDOW",
    "YIELD_ANSWERS",
    "YIELD_FRACTION",
    "Decrease",
    "InFlight",
    "Latency",
    "Pacer",
]


@dataclass(frozen=True)
class Decrease:
    """One multiplicative decrease, for logs and tests."""

    at: float
    before: float
    after: float
    accepted: float  # the store's rate it was estimated from (see `Pacer._decrease`)
    episode: bool = False  # estimated from the answers at one pace within an episode
    span: float = WINDOW  # seconds `accepted` was counted over (longer for a young client)


class Pacer(Background, Turns):
    """The client-wide pace: a rate that follows the store's 429s (see the module docstring)."""

    def __init__(
        self,
        ceiling: float,
        *,
        max_in_flight: int = 8,
        clock: Callable[[], float] = time.monotonic,
        min_rate: float = MIN_RATE,
    ) -> None:
        if not (ceiling > 0 and math.isfinite(ceiling)):
            raise ValueError("the rate ceiling must be a positive number")
        self.ceiling = ceiling
        self.max_in_flight = max(1, max_in_flight)
        self.clock = clock
        self.min_rate = min(min_rate, ceiling)
        self.epoch = 0
        self.decreases: list[Decrease] = []
        self.latencies = Latency()
        self.lowest = ceiling
        # Statistics: seconds requests waited for their turn, and the part of the run's wall
        # time during which the ceiling (not a 429) was what held requests back.
        self.waited_seconds = 0.0
        self.ceiling_held_seconds = 0.0
        self._last_answer: float | None = None  # when the store last answered (None: not yet)
        # ... and for the bench: the most requests in flight at once, and the seconds requests
        # waited (summed) for a place in flight.
        self.peak_in_flight = 0
        self.in_flight_waited_seconds = 0.0
        self.late_seconds = 0.0  # how late waiting requests woke up for their turn (summed)
        self._tat = -math.inf  # the earliest start of the next request
        self._pause_until = -math.inf
        self._waiting: list[int] = []  # tickets in arrival order
        self._tickets = 0
        self._on_way: dict[int, int] = {}  # requests started and not yet back, per epoch
        self._drain_until = -math.inf  # no start at a new pace before (see `Turns.delay`)
        self._answers: deque[tuple[float, bool]] = deque()  # (when, refused)
        self._refused = 0  # 429s among `_answers`
        # (answered, started) of the requests accepted in the last HISTORY seconds (`_shown`)
        self._starts: deque[tuple[float, float]] = deque()
        self._last: deque[bool] = deque(maxlen=YIELD_ANSWERS)  # refused? for the last answers
        # The most answers other than 429 the store gave in one WINDOW (since it last refused
        # at least YIELD_FRACTION of a window's answers): what it has shown it can take.
        self.proven = 0.0
        # Decreases in a row, each needed before the pace the last one set had held (see
        # `_background`): how many, the pace before the first of them and when it was
        # decided, and the answers since then with the 429s among them.
        self._flat = 0
        self._flat_before = ceiling
        self._flat_since = -math.inf
        self._flat_answers = 0
        self._flat_refused = 0
        self._step_answers = 0  # answers since the last decrease ...
        self._step_refused = 0  # ... and the 429s among them
        self._step_share = 0.0  # the share of 429s between the two decreases before ...
        self._step_told = 0  # ... told from this many answers
        # The share of 429s found to come whatever the pace (0 until found), when the pace
        # last went back up for it, and how many times it did.
        self.noise = 0.0
        self._undone_at = -math.inf
        self.undone = 0
        self._decreased_at: float | None = None
        self._after = ceiling  # the rate set by the last decrease
        self._lowest_before = ceiling  # `lowest` before it
        self._late_accepted = 0  # requests sent before it and accepted after it
        # The episode: decreases in a row, each before the pace the last one set had held.
        # When its first decrease was decided (None: no episode open), and the answers to
        # requests started in the current epoch, with the 429s among them.
        self._episode_at: float | None = None
        self._epoch_answers = 0
        self._epoch_refused = 0
        self._changed: asyncio.Future[None] | None = None

    @property
    def latency(self) -> float:
        """The answered requests' latency, a moving average (seconds)."""
        return self.latencies.average

    # ------------------------------------------------------------------ the rate

    def rate(self, now: float | None = None) -> float:
        """Requests per second allowed at `now`: decreased by 429s, recovering, <= ceiling."""
        if self._decreased_at is None:
            return self.ceiling
        now = self.clock() if now is None else now
        probing = now - self._decreased_at - self.quiet
        rate = self._after + self.step * max(0.0, probing)
        return min(self.ceiling, rate)

    @property
    def quiet(self) -> float:
        """Seconds the decreased rate holds before it rises again."""
        return max(QUIET, QUIET_REQUESTS / self._after)

    @property
    def step(self) -> float:
        """The additive increase, in requests per second gained per second of probing."""
        return STEP_FRACTION * self._after

    def accepted_rate(self, now: float | None = None) -> float:
        """Answers other than 429 over the last WINDOW seconds, per second."""
        now = self.clock() if now is None else now
        self._forget(now)
        return (len(self._answers) - self._refused) / WINDOW

    @property
    def floor(self) -> float:
        """The lowest rate a decrease goes to: `FLOOR_FRACTION` of what the store has shown it
        takes (`proven`), at least `min_rate`, at most the ceiling."""
        return min(self.ceiling, max(self.min_rate, FLOOR_FRACTION * self.proven))

    # ------------------------------------------------------------------ feedback

    def answered(self, epoch: int, *, refused: bool, latency: float | None = None) -> bool:
        """Record an answer to a request that started in `epoch`; True if the rate decreased.

        `refused` means 429. `latency` (seconds, answers other than 429 only) feeds the
        in-flight bound.
        """
        now = self.clock()
        self.back(epoch)
        self._forget(now)
        self._last_answer = now
        self._answers.append((now, refused))
        self._last.append(refused)
        self._flat_answers += 1
        self._flat_refused += refused
        self._step_answers += 1
        self._step_refused += refused
        if epoch == self.epoch:
            self._epoch_answers += 1
            self._epoch_refused += refused
        if not refused:
            self._starts.append((now, now - latency if latency is not None else now))
            self.proven = max(self.proven, (len(self._answers) - self._refused) / WINDOW)
            if latency is not None and latency >= 0:
                self.latencies.add(now, latency)
            if epoch == self.epoch - 1:
                self._revise(now)
            return False
        self._refused += 1
        if epoch != self.epoch:
            return False  # sent before the last decrease: that news was already acted on
        if self._draining(now):
            return False  # the store is still taking the requests sent before it: same news
        answers, refusals = len(self._answers), self._refused
        if answers < YIELD_ANSWERS and len(self._last) > answers:
            # A slow pace: a window holds too few answers to tell a share; the last ones do.
            answers, refusals = len(self._last), sum(self._last)
        needed = min(YIELD_FRACTION, max(REFUSED_FRACTION, NOISE_FACTOR * self.noise))
        if refusals < needed * answers:
            return False
        if self._background(now):
            return False
        return self._decrease(now)

    def _new_epoch(self) -> None:
        self.epoch += 1
        self._epoch_answers = self._epoch_refused = 0
        self._notify()

    def _decrease(self, now: float) -> bool:
        before = self.rate(now)
        accepted = self.accepted_rate(now)
        if self._refusing():
            # The store refuses half of what it gets: what it took before no longer holds
            # (its limit is shared and the others' share grew), so the floor gives way.
            self.proven = accepted
        after = before * DECREASE
        span = WINDOW
        shown = self._shown(now)
        if shown is not None and shown[0] < accepted:
            accepted, span = shown
        held = self._decreased_at is None or now - self._decreased_at >= self.quiet
        opens = held or self._episode_at is None  # this 429 opens an episode
        episode = None if opens else self._episode_rate(before)
        estimate = accepted if episode is None else min(accepted, episode)
        if estimate > 0 and now - self._undone_at >= WINDOW:  # (not what a slower pace got)
            after = min(after, estimate * ESTIMATE_MARGIN)
        after = max(self.floor, after)
        if after >= before:
            return False  # at the floor already: 429s at random (not our pace) hold it there
        self.decreases.append(Decrease(now, before, after, estimate, episode is not None, span))
        if opens:
            self._episode_at = now
        self._decreased_at = now
        self._after = after
        self._lowest_before = self.lowest
        self._late_accepted = 0
        # The store just refused: its bucket is empty now. The next start waits a whole
        # interval at the new rate, from now (not from the last start at the old one).
        self._tat = max(self._tat, now + 1.0 / after)
        self._drain_until = now + WINDOW  # (until the requests on their way are back: Turns)
        self.lowest = min(self.lowest, after)
        self._new_epoch()
        return True

    def _episode_rate(self, before: float) -> float | None:
        """The store's rate told from the answers to the requests started at the current
        pace (`before`, set by the last decrease of this episode), or None (fewer than
        `EPISODE_ANSWERS` of them).

        The first 429 of an episode said the store's bucket was empty, and a 429 to a
        request sent at the current pace says it still is: the requests sent at that pace
        were taken on tokens it refilled, so the share of them it accepted, times that
        pace, is its refill rate, without any burst (the window before the 429 may still
        hold the one a fresh store let through). Only when this 429 is not the first of
        its episode: before it, the store's bucket may have held tokens.
        """
        answers = self._epoch_answers
        if answers < EPISODE_ANSWERS:
            return None
        return before * (answers - self._epoch_refused) / answers

    def _shown(self, now: float) -> tuple[float, float] | None:
        """The rate the store has shown it takes, its bursts discounted: (rate, span), or None
        (nothing accepted in the last `HISTORY` seconds).

        A token bucket holds at most a window's worth of its rate (the local store's holds
        exactly that), so the requests started since any time `s` that it accepted are at
        most a window of its rate and its rate since `s`: accepted / (WINDOW + now - s) is at
        most its rate, for every `s`, and the largest of these is the estimate (with a token
        the bucket may have kept). A store idle before the client came (its bucket full) lets
        a burst through, which the window before the client's first 429 holds (a store
        allowing 25 req/s looks like 30-45 half a second in, or 50 a second and a half in,
        when the machine is busy): this counts that burst as a window of the store's rate.
        """
        starts = sorted(start for _, start in self._starts)
        best: tuple[float, float] | None = None
        for index, start in enumerate(starts):
            span = WINDOW + now - start
            rate = (len(starts) - index + 1) / span
            if best is None or rate > best[0]:
                best = (rate, span)
        return best

    def _revise(self, now: float) -> None:
        """A request sent before the last decrease was accepted after it: the store accepted
        more in that window than was known when the rate was set. Within a window of the
        decrease, raise the decreased rate to match (never above the decrease's own cut)."""
        last = self.decreases[-1]
        since = now - last.at
        if since >= WINDOW:
            return
        self._late_accepted += 1
        if last.episode:
            return  # (estimated from the answers of one pace: the later ones are another's)
        # Over the span before the decrease and the time since: a longer span, not more.
        accepted = (last.accepted * last.span + self._late_accepted) / (last.span + since)
        after = min(last.before * DECREASE, max(self.floor, accepted * ESTIMATE_MARGIN))
        if after > self._after:
            self.decreases[-1] = replace(last, after=after)
            self._after = after
            self.lowest = min(self._lowest_before, after)

    def _forget(self, now: float) -> None:
        while self._answers and self._answers[0][0] <= now - WINDOW:
            _, refused = self._answers.popleft()
            self._refused -= refused
        while self._starts and self._starts[0][0] <= now - HISTORY:
            self._starts.popleft()

    # ------------------------------------------------------------------ in flight

    def in_flight_limit(self, now: float | None = None) -> int:
        """Requests allowed in flight now: about rate x latency, within [1, max_in_flight]."""
        latency = self.latencies.bound
        wanted = math.ceil(self.rate(now) * latency * IN_FLIGHT_MARGIN) + IN_FLIGHT_SPARE
        return max(1, min(self.max_in_flight, wanted))
