"""Adaptive pacing shared by every request of one client: AIMD rate, in-flight bound (pure).

A store's rate limit is not known in advance and is shared with its live traffic, and the real
API answers 429 without `Retry-After` or rate-limit headers (epcc-api.md §2.5). So the client
paces itself (`Pacer`) and treats a 429 as a signal to slow down the whole client, not as a
failure of one request:

- **Pace.** Request starts are spaced `1 / rate` apart, in arrival order, across everything the
  client does at once. A request waiting for its turn recomputes its start from the current rate
  every time the rate changes, so requests already waiting adopt a new pace at once. A request
  that waited its turn and woke up late (a busy event loop, a descheduled process) keeps its
  place in the schedule for up to `LATE_TOLERANCE` seconds, so the next ones catch up instead
  of every late wake-up lowering the rate; a request that did not wait (the client was idle)
  gets half an interval of that, so an idle client never starts with a burst.
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
  store's holds a second's worth) lets a burst through, which the window before a young
  client's first 429 holds (a store allowing 25 req/s looks like 30-45 half a second in). So
  while the client is younger than `WINDOW`, the estimate counts that burst as a window of the
  store's rate: what it accepted plus one token the bucket may have kept, over the client's
  life and a window (`_decrease`), when that is lower. A later 429 of the same episode (before
  the pace the last decrease set had held) is told from the answers to the requests sent at
  that pace: the store's bucket was empty, so the share of them it accepted times that pace
  is its refill rate (`_episode_rate`, from `EPISODE_ANSWERS` answers).
- **Floor.** A decrease never goes below `FLOOR_FRACTION` of the most the store accepted in one
  window (`proven`; at least `min_rate`): 429s that come whatever the pace cannot drive it to
  nothing. The floor gives way when the store refuses half or more of its last answers (its
  limit is shared, and the others now take most of it): `proven` restarts from what it
  accepts now.
- **Background 429s.** A limit stops refusing once the pace is below it, so it rarely needs
  more than two decreases in a row. 429s that keep coming however slow the pace (a store that
  answers a share of its requests 429 at random, as the local store's `fail_rate` does, or
  others' traffic that slowing down does not relieve) do: at the `NOISE_DECREASES`-th decrease
  in a row none of which lowered the share of 429s (below `NOISE_KEEP` of the share between
  the two decreases before, both told from `STEP_ANSWERS` answers at least: a limit shared
  with a client that keeps its pace needs several decreases, and each of them does lower it;
  a share of two answers lowers nothing), the pace goes back to where it was before the
  first, and the share of 429s seen
  since then becomes the `noise` share: from then on a decrease needs `NOISE_FACTOR` times that
  share of 429s among the window's answers (or half of the last answers refused, which is a
  limit whatever came before). See `Pacer._background`.
- **Recovery.** The decreased rate holds for a quiet period (`QUIET` seconds, and at least
  `QUIET_REQUESTS` requests' worth at that rate, so that probing costs at most about one 429
  per `QUIET_REQUESTS` requests even against a slow store); after it, without another
  decrease, the rate rises additively by `step` requests per second each second
  (`STEP_FRACTION` of the rate it fell to), never above the ceiling (the configured
  `EPCC_RATE_LIMIT`). It does not climb back to the rate the store accepted: that rate is the
  store's limit, and pacing at a limit exactly is refused as soon as anything jitters.
- **Retry-After**, when a store sends it, pauses every request for that long (`pause`).
- **In flight.** The number of requests in flight follows the measured latency: about
  rate x latency (with a margin: `IN_FLIGHT_MARGIN` x that, plus `IN_FLIGHT_SPARE`), at least 1,
  at most `max_in_flight` (apply's `--parallelism`). A store 150 ms away at 100 req/s gets about
  25 requests in flight, not `parallelism / latency` requests per second.

Everything is computed from an injectable monotonic `clock`, so tests drive the decisions with
a fake clock and no sleeping. Only `Pacer.wait` and `InFlight.acquire` await (asyncio only; no
I/O, no network library).
"""

from __future__ import annotations

import asyncio
import bisect
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace

WINDOW = 1.0  # seconds of answers the decisions look at
REFUSED_FRACTION = 0.02  # a decrease needs at least this share of 429s among recent answers
DECREASE = 0.8  # a decrease takes at least 20% off the rate
ESTIMATE_MARGIN = 0.9  # ... and goes to 90% of the rate the store just accepted, if lower
MIN_RATE = 0.5  # requests per second: the pace never falls below this (or the ceiling)
FLOOR_FRACTION = 0.25  # ... nor below this share of the most the store accepted in a window
YIELD_FRACTION = 0.5  # ... unless the store refused at least this share of ...
YIELD_ANSWERS = 20  # ... its last answers (this many)
NOISE_DECREASES = 2  # decreases after the first in a row, none lowering the share of 429s
NOISE_KEEP = 0.75  # ... and each did not lower the share of 429s below this part of before
EPISODE_ANSWERS = 3  # answers at one pace in an episode that estimate the store's rate
STEP_ANSWERS = 10  # (a share told from at least this many answers since the decrease before)
NOISE_FACTOR = 2.0  # once so, a decrease needs this many times that share of 429s
QUIET = 10.0  # seconds without a decrease before probing above the decreased rate ...
QUIET_REQUESTS = 40  # ... and at least this many requests' worth of time at that rate
STEP_FRACTION = 0.05  # additive increase per second, as a share of the decreased rate
LATE_TOLERANCE = 0.2  # seconds a waiting request may wake up late without losing its place
LATENCY_WEIGHT = 0.2  # exponentially weighted moving average of answered requests' latency
INITIAL_LATENCY = 0.1  # seconds assumed before the first answer
IN_FLIGHT_MARGIN = 1.5
IN_FLIGHT_SPARE = 2
SILENT = 2.0  # seconds without an answer after which pace waits are not the ceiling's
RECHECK = 0.5  # seconds between a waiting request's looks at a rising in-flight limit


@dataclass(frozen=True)
class Decrease:
    """One multiplicative decrease, for logs and tests."""

    at: float
    before: float
    after: float
    accepted: float  # the store's rate it was estimated from (see `Pacer._decrease`)
    episode: bool = False  # estimated from the answers at one pace within an episode
    span: float = WINDOW  # seconds `accepted` was counted over (longer for a young client)


class Pacer:
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
        self.latency = INITIAL_LATENCY
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
        self._first_start: float | None = None  # when the client's first request started
        self._pause_until = -math.inf
        self._waiting: list[int] = []  # tickets in arrival order
        self._tickets = 0
        self._answers: deque[tuple[float, bool]] = deque()  # (when, refused)
        self._refused = 0  # 429s among `_answers`
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
            self.proven = max(self.proven, (len(self._answers) - self._refused) / WINDOW)
            if latency is not None and latency >= 0:
                self.latency += LATENCY_WEIGHT * (latency - self.latency)
            if epoch == self.epoch - 1:
                self._revise(now)
            return False
        self._refused += 1
        if epoch != self.epoch:
            return False  # sent before the last decrease: that news was already acted on
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

    def _background(self, now: float) -> bool:
        """Whether this 429, which would decrease the pace, is taken as background instead.

        A store's limit stops refusing once the pace is below it, and a decrease goes below
        what the store just accepted, so a limit rarely needs more than two decreases in a
        row (each before the pace the last one set held for its quiet period), and when it
        needs more (shared with a client that keeps its pace), each lowers the share of 429s.
        429s that keep coming however slow the pace (a store answering a share of its
        requests 429 at random, or others' traffic on a shared limit that slowing down does
        not relieve) need more, and the share stays: the `NOISE_DECREASES`-th in a row that
        did not lower it below `NOISE_KEEP` of the share before (both shares told from
        `STEP_ANSWERS` answers at least: at a slow pace, a share of two answers is no share;
        counted once the window holds only answers after the first) puts
        the pace back where it was before the first, and
        their share of the answers since then becomes `noise`: from then on only a share of
        429s `NOISE_FACTOR` times as large decreases the pace (see `answered`), and the pace
        put back up is not judged again for a window. A store refusing half or more of its
        last answers is a limit whatever came before: never background.
        """
        refusing = self._refusing()
        if now - self._undone_at < WINDOW and not refusing:
            return True  # just back up: one window at that pace before judging it again
        held = self._decreased_at is None or now - self._decreased_at >= self.quiet
        if held or refusing:
            self._flat = 0
            self._flat_before = self.rate(now)
            self._flat_since = now
            self._flat_answers = self._flat_refused = 0
            self._next_step(self._refused / max(1, len(self._answers)), len(self._answers))
            return False
        share = self._step_refused / max(1, self._step_answers)
        told = min(self._step_answers, self._step_told) >= STEP_ANSWERS  # (both shares)
        falling = told and share < NOISE_KEEP * self._step_share
        self._next_step(share, self._step_answers)
        if falling:
            self._flat = 0  # the last decrease lowered the share of 429s: a limit (shared?)
            return False
        if now - self._flat_since < WINDOW:
            return False  # the answers of the window still include those before the first
        self._flat += 1
        if self._flat < NOISE_DECREASES:
            return False
        self.noise = max(self.noise, self._flat_refused / max(1, self._flat_answers))
        self._flat = 0
        self._after = max(self._after, self._flat_before)
        self._tat = min(self._tat, now + 1.0 / self._after)  # the next start at the new pace
        self._undone_at = now
        self.undone += 1
        self._episode_at = None  # (what a slower pace got is no estimate of the store)
        self._new_epoch()
        return True

    def _next_step(self, share: float, answers: int) -> None:
        self._step_share = share
        self._step_told = answers
        self._step_answers = self._step_refused = 0

    def _refusing(self) -> bool:
        """Whether the store refused at least `YIELD_FRACTION` of its last answers (of the
        last `YIELD_ANSWERS`, once there are `YIELD_ANSWERS // 2`)."""
        answers = len(self._last)
        return answers >= YIELD_ANSWERS // 2 and sum(self._last) >= YIELD_FRACTION * answers

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
        age = now - self._first_start if self._first_start is not None else WINDOW
        if age < WINDOW:
            # A young client: the window holds every answer it had, and the burst of a store
            # that was idle before it (a token bucket full of up to a window's worth) is in
            # them. Count that burst as a window of its rate: what it accepted, and a token
            # the bucket may have kept, over the client's life and that window.
            young = (len(self._answers) - self._refused + 1) / (WINDOW + age)
            if young < accepted:
                accepted, span = young, WINDOW + age
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

    def pause(self, seconds: float) -> None:
        """Hold every request back for `seconds` (the store said Retry-After)."""
        self._pause_until = max(self._pause_until, self.clock() + seconds)
        self._notify()

    def _forget(self, now: float) -> None:
        while self._answers and self._answers[0][0] <= now - WINDOW:
            _, refused = self._answers.popleft()
            self._refused -= refused

    # ------------------------------------------------------------------ taking turns

    def reserve(self) -> int:
        """Join the queue; the ticket says when this request may start (`delay`)."""
        ticket = self._tickets
        self._tickets += 1
        self._waiting.append(ticket)
        return ticket

    def delay(self, ticket: int, now: float | None = None) -> float:
        """Seconds until `ticket` may start, at the current rate (0: it may start now)."""
        now = self.clock() if now is None else now
        position = bisect.bisect_left(self._waiting, ticket)
        start = max(self._tat, self._pause_until, now) + position / self.rate(now)
        return start - now

    def start(self, ticket: int, waited: float = 0.0) -> int:
        """`ticket` starts now: the next one waits an interval. Returns the current epoch.

        `waited` > 0 says the request waited for its turn: then it keeps its place in the
        schedule though it starts up to `LATE_TOLERANCE` late (the ones after it catch up).
        Otherwise half an interval of lateness is forgiven, so an idle client has no burst.
        """
        now = self.clock()
        if self._first_start is None:
            self._first_start = now
        self._remove(ticket)
        rate = self.rate(now)
        interval = 1.0 / rate
        slack = max(interval / 2, LATE_TOLERANCE if waited > 0 else 0.0)
        self._tat = max(self._tat, now - slack) + interval
        if waited > 0:
            self.waited_seconds += waited
            if rate >= self.ceiling and not self._silent(now):
                self.ceiling_held_seconds += min(waited, interval)
        return self.epoch

    def _silent(self, now: float) -> bool:
        """Whether the store has not answered for `SILENT` seconds (and a few intervals): it
        is down or frozen, and what holds the requests back is not the ceiling."""
        last = self._last_answer
        return last is not None and now - last > max(SILENT, 4.0 / self.rate(now))

    def cancel(self, ticket: int) -> None:
        """`ticket` left the queue without starting (its request was cancelled)."""
        self._remove(ticket)
        self._notify()

    def _remove(self, ticket: int) -> None:
        index = bisect.bisect_left(self._waiting, ticket)
        if index < len(self._waiting) and self._waiting[index] == ticket:
            del self._waiting[index]

    async def wait(self) -> tuple[float, int]:
        """Wait for this request's turn; return (seconds waited, epoch it started in)."""
        ticket = self.reserve()
        began = self.clock()
        queued = False
        try:
            while True:
                delay = self.delay(ticket)
                if delay <= 0:
                    break
                queued = True
                await asyncio.wait({self._event()}, timeout=delay)
        except BaseException:
            self.cancel(ticket)
            raise
        waited = self.clock() - began if queued else 0.0
        if queued:
            self.late_seconds += -delay
        return waited, self.start(ticket, waited)

    def _event(self) -> asyncio.Future[None]:
        """A future done at the next change (waited on with a timeout: no task per wait)."""
        loop = asyncio.get_running_loop()
        if self._changed is None or self._changed.get_loop() is not loop:
            self._changed = loop.create_future()
        return self._changed

    def _notify(self) -> None:
        """Wake every waiter to recompute its turn (the rate or the queue changed)."""
        if self._changed is not None:
            if not self._changed.done():
                self._changed.set_result(None)
            self._changed = None

    # ------------------------------------------------------------------ in flight

    def in_flight_limit(self, now: float | None = None) -> int:
        """Requests allowed in flight now: about rate x latency, within [1, max_in_flight]."""
        wanted = math.ceil(self.rate(now) * self.latency * IN_FLIGHT_MARGIN) + IN_FLIGHT_SPARE
        return max(1, min(self.max_in_flight, wanted))


class InFlight:
    """A semaphore whose size follows `Pacer.in_flight_limit`: first come, first served.

    A freed place wakes the first waiter only (not every one), and the waiters re-read the
    limit every `RECHECK` seconds too, since it also rises with time (recovery). `release` is
    synchronous, so a cancelled request always gives its place back.
    """

    def __init__(self, pacer: Pacer) -> None:
        self._pacer = pacer
        self.active = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    async def acquire(self) -> None:
        """Wait until fewer than the current limit are in flight, then take a place."""
        pacer = self._pacer
        if self._waiters or self.active >= pacer.in_flight_limit():
            began = pacer.clock()
            await self._queue()
            pacer.in_flight_waited_seconds += pacer.clock() - began
        self.active += 1
        pacer.peak_in_flight = max(pacer.peak_in_flight, self.active)

    async def _queue(self) -> None:
        """Wait in line until `_wake` gives this waiter a place."""
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(turn)
        try:
            while not turn.done():
                await asyncio.wait({turn}, timeout=RECHECK)
                self._wake()
        except BaseException:  # cancelled: leave the line; a place given to us goes on
            self._waiters.remove(turn)
            self._wake()
            raise
        self._waiters.remove(turn)

    def _wake(self) -> None:
        """Give the free places to the first waiters (those already woken hold theirs)."""
        free = self._pacer.in_flight_limit() - self.active
        for turn in self._waiters:
            if free <= 0:
                return
            if not turn.done():
                turn.set_result(None)
            free -= 1

    def release(self) -> None:
        """Give a place back: the first waiter takes it."""
        self.active -= 1
        if self._waiters:
            self._wake()
