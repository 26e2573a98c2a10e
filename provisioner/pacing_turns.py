"""The schedule of request starts: turns at the client-wide pace (pure; see `pacing.py`).

- **Pace.** Request starts are spaced `1 / rate` apart, in arrival order, across everything the
  client does at once. A request waiting for its turn recomputes its start from the current rate
  every time the rate changes, so requests already waiting adopt a new pace at once. A request
  that waited its turn and woke up late (a busy event loop, a descheduled process) keeps its
  place in the schedule for up to `LATE_TOLERANCE` seconds, so the next ones catch up instead
  of every late wake-up lowering the rate; a request that did not wait (the client was idle)
  gets half an interval of that, so an idle client never starts with a burst.
- **Drain.** After a decrease, no request starts at the new pace until the requests sent
  before it are back (for at most `WINDOW`; `_drain_until`): they reach the store after the
  429 and take the tokens its bucket refills, so requests sent beside them would be refused
  too. A round trip's pause, and the bucket is not empty when the new pace begins.
- **Retry-After**, when a store sends it, pauses every request for that long (`pause`).

`Turns` is the part of `pacing.Pacer` that takes turns; the rate it spaces them by is the
Pacer's (`rate`). Everything is computed from the injectable monotonic `clock`; only `wait`
awaits (asyncio only; no I/O, no network library).
"""

from __future__ import annotations

import asyncio
import bisect
from collections.abc import Callable

from provisioner.pacing_tuning import LATE_TOLERANCE, SILENT


class Turns:
    """Who starts when: a queue of tickets spaced at the pace (`Pacer` is one)."""

    # Set by `Pacer.__init__` (see there).
    clock: Callable[[], float]
    ceiling: float
    epoch: int
    waited_seconds: float
    ceiling_held_seconds: float
    late_seconds: float
    _last_answer: float | None
    _tat: float
    _pause_until: float
    _waiting: list[int]
    _tickets: int
    _on_way: dict[int, int]
    _drain_until: float
    _changed: asyncio.Future[None] | None

    def rate(self, now: float | None = None) -> float:
        """Requests per second allowed at `now` (the Pacer's)."""
        raise NotImplementedError

    def pause(self, seconds: float) -> None:
        """Hold every request back for `seconds` (the store said Retry-After)."""
        self._pause_until = max(self._pause_until, self.clock() + seconds)
        self._notify()

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
        start = max(self._tat, self._pause_until, now)
        if self._draining(now):
            start = max(start, self._drain_until)  # (woken when they are back: `back`)
        return start + position / self.rate(now) - now

    def start(self, ticket: int, waited: float = 0.0) -> int:
        """`ticket` starts now: the next one waits an interval. Returns the current epoch.

        `waited` > 0 says the request waited for its turn: then it keeps its place in the
        schedule though it starts up to `LATE_TOLERANCE` late (the ones after it catch up).
        Otherwise half an interval of lateness is forgiven, so an idle client has no burst.
        """
        now = self.clock()
        self._remove(ticket)
        rate = self.rate(now)
        interval = 1.0 / rate
        slack = max(interval / 2, LATE_TOLERANCE if waited > 0 else 0.0)
        # (no catching up on the time a drain held the requests back: it ended at the latest)
        self._tat = max(self._tat, now - slack, min(now, self._drain_until)) + interval
        if waited > 0:
            self.waited_seconds += waited
            if rate >= self.ceiling and not self._silent(now):
                self.ceiling_held_seconds += min(waited, interval)
        self._on_way[self.epoch] = self._on_way.get(self.epoch, 0) + 1
        return self.epoch

    def back(self, epoch: int) -> None:
        """A request started in `epoch` is no longer on its way: answered (`Pacer.answered`
        calls this), failed without an answer (a connection error) or cancelled."""
        count = self._on_way.get(epoch, 0) - 1
        if count > 0:
            self._on_way[epoch] = count
        else:
            self._on_way.pop(epoch, None)
            now = self.clock()
            draining = epoch < self.epoch and self._drain_until > now
            if draining and not self.on_way_before(self.epoch):
                self._drain_until = now  # the last of them is back: the drain ends now
                self._notify()

    def on_way_before(self, epoch: int) -> int:
        """Requests started before `epoch` and neither answered nor lost yet."""
        return sum(count for each, count in self._on_way.items() if each < epoch)

    def _draining(self, now: float) -> bool:
        """Whether requests sent before the last decrease are still on their way (for at most
        a `WINDOW` after it): they reach the store after it and take the tokens its bucket
        refills, so requests sent now would be refused too, and 429s to requests sent at the
        new pace are the news the decrease acted on (one decrease per round, as TCP's
        recovery; see `Pacer.answered`)."""
        return now < self._drain_until and self.on_way_before(self.epoch) > 0

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
