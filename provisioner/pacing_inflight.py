"""The in-flight bound: how many requests one client has in flight at once (pure).

- **In flight.** The number of requests in flight follows the measured latency: about
  rate x latency (with a margin: `IN_FLIGHT_MARGIN` x that, plus `IN_FLIGHT_SPARE`), at least 1,
  at most `max_in_flight` (apply's `--parallelism`). A store 150 ms away at 100 req/s gets about
  25 requests in flight, not `parallelism / latency` requests per second.

`Pacer.in_flight_limit` computes the bound; `InFlight` holds requests to it. Only
`InFlight.acquire` awaits (asyncio only; no I/O, no network library).
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import TYPE_CHECKING

from provisioner.pacing_tuning import RECHECK

if TYPE_CHECKING:
    from provisioner.pacing import Pacer


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
