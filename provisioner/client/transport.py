"""The pacing hooks on the wire: every request takes an in-flight place and its turn in the pace.

`ThrottledTransport` wraps the real transport (the network, or the embedded local store) and
reports every answer to the `provisioner.pacing.Pacer`, which owns the pace itself. It also
counts requests into `RequestStats`, marks an attempt as sent (`WIRE`, read by the retry loop to
know whether a lost answer may have been applied) and keeps the store's `Liveness`.
"""

from __future__ import annotations

import contextvars
import logging
import math
import time
from dataclasses import dataclass

import httpx

from provisioner.client.failures import failure_kind
from provisioner.client.stats import RequestStats
from provisioner.pacing import InFlight, Pacer

log = logging.getLogger(__name__)


@dataclass
class Wire:
    """Set by the transport when an attempt got its turn and went on the wire."""

    sent: bool = False


WIRE: contextvars.ContextVar[Wire | None] = contextvars.ContextVar("provisioner_wire", default=None)


@dataclass
class Liveness:
    """When the store last answered, and last accepted a request (monotonic seconds)."""

    reached: bool = False  # the store answered at least once
    last_answer: float = -math.inf
    last_success: float = -math.inf  # an answer other than 429 or 5xx
    silent_mark: float | None = None  # set when a request gave up on a silent store
    on_wire: int = 0  # requests sent and not answered (nor failed) yet


def distinct(before: float, after: float) -> tuple[str, str]:
    """Two rates with the fewest significant digits (3 at least) that tell them apart."""
    for digits in range(3, 7):
        shown = f"{before:.{digits}g}", f"{after:.{digits}g}"
        if shown[0] != shown[1]:
            break
    return shown


class ThrottledTransport(httpx.AsyncBaseTransport):
    """Every request on the wire takes an in-flight place and its turn in the pace, and counts.

    Throttling here rather than around `Client` calls means the token call and the re-send after
    a 401 (made inside the auth flow) are paced too, and a request waiting for a token holds no
    in-flight place. The body is read inside the place, so the bound covers the whole exchange.
    Every answer is reported to the `Pacer` (429s lower the pace of the whole client).
    """

    def __init__(
        self,
        inner: httpx.AsyncBaseTransport,
        pacer: Pacer,
        in_flight: InFlight,
        stats: RequestStats,
        liveness: Liveness,
    ) -> None:
        self._inner = inner
        self._pacer = pacer
        self._in_flight = in_flight
        self._stats = stats
        self._liveness = liveness

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await self._in_flight.acquire()
        liveness = self._liveness
        on_wire = False
        try:
            waited, epoch = await self._pacer.wait()
            wire = WIRE.get()
            if wire is not None:
                wire.sent = True
            liveness.on_wire += 1
            on_wire = True
            stats = self._stats
            stats.throttled_seconds += waited
            stats.ceiling_held_seconds = self._pacer.ceiling_held_seconds
            started = time.monotonic()
            if stats.first_at is None:
                stats.first_at = started
            try:
                response = await self._inner.handle_async_request(request)
                # The raw (still encoded) bytes: httpx decodes them once, above us.
                stream = response.stream
                if not isinstance(stream, httpx.AsyncByteStream):
                    raise TypeError("an async transport returned a sync stream")
                try:
                    raw = b"".join([chunk async for chunk in stream])
                finally:
                    await stream.aclose()
            except httpx.HTTPError as error:
                stats.failures[failure_kind(error)] += 1
                stats.last_at = time.monotonic()
                log.debug("%s %s -> %s", request.method, request.url.path, type(error).__name__)
                self._pacer.back(epoch)
                raise
            except BaseException:  # cancelled on the wire: no answer will come
                self._pacer.back(epoch)
                raise
        finally:
            self._in_flight.release()
            if on_wire:
                liveness.on_wire -= 1
        now = time.monotonic()
        status = response.status_code
        refused = status == 429
        pacer = self._pacer
        undone = pacer.undone
        if pacer.answered(epoch, refused=refused, latency=None if refused else now - started):
            change = pacer.decreases[-1]
            before, after = distinct(change.before, change.after)
            log.info(
                "the store answered 429 (it accepted %.3g req/s): pace lowered from %s to %s req/s",
                change.accepted,
                before,
                after,
            )
        elif pacer.undone > undone:
            log.info(
                "429s kept coming however slow the pace (%.0f%% of answers): taken as the"
                " store's background, pace back up to %.3g req/s",
                pacer.noise * 100,
                pacer.rate(),
            )
        stats.lowest_rate = self._pacer.lowest
        stats.last_at = now
        liveness.reached = True
        liveness.last_answer = now
        if not refused and status < 500:
            liveness.last_success = now
        stats.requests[(request.method, status)] += 1
        log.debug(
            "%s %s -> %d in %.0f ms (request id %s)",
            request.method,
            request.url.path,
            status,
            (now - started) * 1000,
            response.headers.get("x-moltin-request-id", "-"),
        )
        return httpx.Response(
            status,
            headers=response.headers,
            stream=httpx.ByteStream(raw),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self._inner.aclose()
