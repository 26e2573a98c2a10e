"""The in-flight bound: how many requests one client has in flight at once (pure).

- **In flight.** The number of requests in flight follows the measured latency: about
  rate x latency (with a margin: `IN_FLIGHT_MARGIN` x that, plus `IN_FLIGHT_SPARE`), at least 1,
  at most `max_in_flight` (apply's `--parallelism`). A store 150 ms away at 100 req/s gets about
  25 requests in flight, not `parallelism / latency` requests per second.
- **Latency.** The latency is a moving average of the answered requests' (`LATENCY_WEIGHT`), held
  to `BASE_FACTOR` x the least of the last `BASE_WINDOW` seconds (that least taken as `BASE_FLOOR`
  if lower; `Latency`). A busy machine wakes the client and the store late, and every answer looks
  slower than the store is; more requests in flight then would not go faster, but they would all be
  refused together when a store's limit is reached (they were sent before the first 429 came back).
  Writes slower than reads still get their room: the bound covers answers up to `BASE_FACTOR` x
  `IN_FLIGHT_MARGIN` (4.5) x the fastest at full pace.

`Pacer.in_flight_limit` computes the bound; `InFlight` holds requests to it. Only
`InFlight.acquire` awaits (asyncio only; no I/O, no network library).
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import TYPE_CHECKING

from provisioner.pacing_tuning import (
    BASE_FACTOR,
    BASE_FLOOR,
    BASE_WINDOW,
    INITIAL_LATENCY,
    LATENCY_WEIGHT,
    RECHECK,
)

if TYPE_CHECKING:
    from provisioner.pacing import Pacer


class Latency:
    """The store's latency for the in-flight bound (see the module docstring)."""

    def __init__(self) -> None:
        self.average = INITIAL_LATENCY
        # (answered at, latency), latencies rising: the least of the last BASE_WINDOW first.
        self._least: deque[tuple[float, float]] = deque()

    def add(self, now: float, latency: float) -> None:
        """An answer other than 429, `latency` seconds after its request was sent."""
        self.average += LATENCY_WEIGHT * (latency - self.average)
        least = self._least
        while least and least[-1][1] >= latency:
            least.pop()
        least.append((now, latency))
        while least[0][0] <= now - BASE_WINDOW:
            least.popleft()

    @property
    def bound(self) -> float:
        """The latency the in-flight bound is computed from: the average, at most
        `BASE_FACTOR` x the fastest answer lately (taken as `BASE_FLOOR` if faster)."""
        if not self._least:
            return self.average
        return min(self.average, BASE_FACTOR * max(BASE_FLOOR, self._least[0][1]))


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
