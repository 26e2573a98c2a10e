"""Sending with retries, and adopting the writes whose answers were lost: the heart of the client.

The retry loop is here; the frozen-store watchdog is `watchdog`, the error a request gives up
with is `giveup`, and the read-backs of lost writes run within their deadline by `readback`.

- retries of 429, 500, 502, 503, 504, timeouts and connection errors with exponential backoff
  and full jitter, honouring `Retry-After` in seconds or as an HTTP date, bounded by
  `max_attempts` and a total `deadline`; no other 4xx is ever retried (epcc-api.md §2.5, §9);
- a 429 is not a failed attempt: the pace of the whole client slows down (`Pacer`) and the
  request is sent again, within the same deadline (nothing moves it);
- a store that answers nothing for a whole deadline is frozen: every request under way is cut
  at once, and no later one is sent;
- once the store has answered, refused connections are waited out for `reconnect_deadline`
  seconds (a store restarting does not fail a run);
- no duplicates: POST is not idempotent and the API has no idempotency keys (§2.7), so before
  re-sending a create whose answer was lost, `Call.find` reads back whether the object now
  exists and it is adopted; a "duplicate" refusal after a lost attempt is adopted the same way
  (§0, §3.6, §4.7); an update whose last answer was lost is verified by `Call.verify`.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from provisioner.client.calls import Adopted, Attempts, Call, Finder, Wait, parse_retry_after
from provisioner.client.failures import classify_transport_error
from provisioner.client.giveup import GiveUp
from provisioner.client.readback import (
    DUPLICATE_STATUSES,
    READ_BACK_RETRYABLE,
    operation_end,
    read_back,
)
from provisioner.client.redaction import redact
from provisioner.client.responses import JsonObject, redirect_error
from provisioner.client.settings import RECONNECT_BACKOFF_MAX, ClientConfig
from provisioner.client.stats import RequestStats
from provisioner.client.transport import WIRE, Liveness, Wire
from provisioner.client.watchdog import Watchdog
from provisioner.errors import ReadOnlyError, TransportError
from provisioner.pacing import Pacer

log = logging.getLogger(__name__)


RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_RETRYABLE_TRANSPORT = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


@dataclass(eq=False, repr=False)
class Sender:
    """Sends `Call`s through one `httpx.AsyncClient` with the retry and adoption policy."""

    config: ClientConfig
    http: httpx.AsyncClient
    auth: httpx.Auth
    pacer: Pacer
    stats: RequestStats
    liveness: Liveness
    secrets: Callable[[], tuple[str, ...]]

    def __post_init__(self) -> None:
        self._where = urlsplit(self.config.base_url).netloc
        self._random = random.Random()
        self._watchdog = Watchdog(self.config, self.liveness)
        self._giveup = GiveUp(self.config, self.pacer, self.liveness, self._watchdog, self.secrets)

    async def send(self, call: Call) -> httpx.Response | Adopted:
        """Send with retries.

        `find` (a create) is asked, once an attempt may have been applied (its answer was lost:
        a timeout or broken connection after sending, or a 5xx), before every re-send and after
        a "duplicate" refusal, and what it finds is adopted. `verify` (an update) is asked once,
        when every attempt is spent and one may have been applied: what it returns means the
        write is in the store. The read-backs are part of this request's budget: they run
        within its deadline, and a create's read-back that fails is one failed attempt, after
        which the whole is tried again (read back, then re-send if absent).

        The budget: at most `max_attempts` failed attempts and `deadline` seconds, end to end
        (waiting for an in-flight place and for the pace, the token call, the retries, 429s and
        `Retry-After` included: nothing moves the deadline). A 429 is not a failed attempt: the
        pace of the whole client slows down and the request is sent again at the new pace.
        Once the store has answered, refused connections are not failed attempts either, until
        the store has been silent for `reconnect_deadline` seconds (a store restarting). When
        a request's deadline passes and the store answered nothing during all of it, the store
        is frozen: every request under way is cut at once and no later one is sent.
        """
        if not call.token_call and call.method != "GET" and self.config.read_only:
            raise ReadOnlyError(
                f"{call.method} {call.path} needs client credentials: set "
                f"{self.config.secret_hint}; without a secret the implicit grant can only read"
            )
        started = time.monotonic()
        own_end = started + self.config.deadline
        outer_end = operation_end()
        run = Attempts(started, own_end if outer_end is None else min(own_end, outer_end))
        while True:
            step = await self._step(call, run)
            if isinstance(step, httpx.Response | Adopted):
                return step
            if step is None or not await self._wait(call, run, step):
                break
        return await self._give_up(call, run)

    async def _step(self, call: Call, run: Attempts) -> httpx.Response | Adopted | Wait | None:
        """One attempt: what to return, how long to wait before the next, or None to stop."""
        if run.maybe_applied and call.find is not None:
            adopted = await self._adopt_if_applied(call, call.find, run)
            if adopted is not None:
                return adopted
        remaining = run.end() - time.monotonic()
        if remaining <= 0:  # a read-back whose operation's time is spent
            run.why = "deadline"
            return None
        if self._watchdog.frozen():  # not sent: the store is known to be frozen
            run.why = "silent"
            return None
        run.sent += 1
        outcome = await self._exchange(call, run, remaining)
        if isinstance(outcome, httpx.Response):
            return await self._judge(call, run, outcome)
        return outcome

    async def _adopt_if_applied(self, call: Call, find: Finder, run: Attempts) -> Adopted | None:
        """Read back whether a lost create was applied; a failed read-back is a failed
        attempt, tried again after a backoff while the budget lasts."""
        while True:
            try:
                found = await read_back(find, run.end())
            except READ_BACK_RETRYABLE as error:
                if self._watchdog.frozen():
                    return None  # the store is frozen: `_step` stops, naming this request
                run.sent += 1  # the read-back, as a whole, is one failed attempt
                run.failed += 1
                run.streak += 1
                delay = self._backoff(run.streak)
                if run.failed >= self.config.max_attempts or time.monotonic() + delay >= run.end():
                    raise
                log.info(
                    "%s %s: reading back whether the lost answer was applied failed (%s);"
                    " trying again in %.2f s",
                    call.method,
                    call.path,
                    error,
                    delay,
                )
                self.stats.retries += 1
                self.stats.backoff_seconds += delay
                await asyncio.sleep(delay)
                continue
            return None if found is None else self._adopt(call, found)

    async def _exchange(
        self, call: Call, run: Attempts, remaining: float
    ) -> httpx.Response | Wait | None:
        """Put one attempt on the wire: its answer, or what its failure asks for."""
        wire = Wire()
        wire_token = WIRE.set(wire)
        try:
            async with asyncio.timeout(remaining) as scope:
                self._watchdog.watch(scope, run)  # cut at once when the store is found silent
                try:
                    response = await self.http.request(
                        call.method,
                        call.path,
                        params=call.params,
                        json=call.json_body,
                        data=call.form,
                        auth=None if call.token_call else self.auth,
                        timeout=max(min(self.config.timeout, remaining), 0.001),
                    )
                finally:
                    self._watchdog.forget(scope)
        except TimeoutError as error:  # the deadline ran out: waiting, token call or answer
            run.timed_out(wire, error)
            if run.silenced:
                run.why = "silent"
            elif self._watchdog.silent(run, wire):
                self._watchdog.silence()
            return None
        except _RETRYABLE_TRANSPORT as error:
            return self._transport_failed(call, run, error)
        except httpx.HTTPError as error:  # not worth retrying: a local or protocol fault
            raise TransportError(
                f"{call.method} {call.path} failed: {type(error).__name__}: "
                f"{redact(str(error), self.secrets())}"
            ) from None
        finally:
            WIRE.reset(wire_token)
        run.response, run.failure = response, None
        return response

    def _transport_failed(self, call: Call, run: Attempts, error: httpx.HTTPError) -> Wait | None:
        run.response, run.failure = None, error
        failure = classify_transport_error(error, self._where)
        run.maybe_applied = run.maybe_applied or failure.maybe_sent
        if not failure.retryable:  # cannot heal within the run: say so at once
            raise TransportError(
                f"{call.method} {call.path} failed: {failure.kind}: {redact(failure.cause)}"
            ) from None
        liveness = self.liveness
        if liveness.reached and failure.refused:
            silent = time.monotonic() - liveness.last_answer
            if silent >= self.config.reconnect_deadline:
                run.failed += 1
                run.why = "unreachable"
                return None
            # The store answered before: wait for it to come back, not a failed attempt.
            run.reconnects += 1
            return Wait(min(RECONNECT_BACKOFF_MAX, self._backoff(run.streak + 1)), counts=False)
        return Wait(self._backoff(run.streak + 1))

    async def _judge(
        self, call: Call, run: Attempts, response: httpx.Response
    ) -> httpx.Response | Adopted | Wait | None:
        """What an answer means: success, a refusal (raised), or a retry."""
        status = response.status_code
        if 300 <= status < 400:
            raise redirect_error(call.method, call.path, response, self.secrets())
        if status < 400:
            return response
        run.refused_since = None
        if status == 404 and call.missing_ok_on_retry and run.maybe_applied:
            return response  # the delete whose answer was lost had been applied
        if status not in RETRY_STATUSES:
            if call.find is not None and run.maybe_applied and status in DUPLICATE_STATUSES:
                found = await read_back(call.find, run.end())
                if found is not None:
                    return self._adopt(call, found)
            raise self._giveup.answer_error(call, response)
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        if status == 429:
            return self._slow_down(run, retry_after)
        run.refused_since = None
        run.maybe_applied = run.maybe_applied or status >= 500
        return Wait(retry_after if retry_after is not None else self._backoff(run.streak + 1))

    def _slow_down(self, run: Attempts, retry_after: float | None) -> Wait | None:
        """A 429 is not a failed attempt: the store is there and asks us to slow down, which
        the pacer does for the whole client. It does not move the deadline either."""
        now = time.monotonic()
        run.refused += 1
        if run.refused_since is None:
            run.refused_since = now
        delay = retry_after if retry_after is not None else 0.0
        if now + delay >= run.end():
            run.why = "deadline"
            return None
        if retry_after is not None:
            # Only a wait this request will sit out holds back the others.
            self.pacer.pause(retry_after)
        return Wait(delay, counts=False)

    async def _wait(self, call: Call, run: Attempts, wait: Wait) -> bool:
        """Count the attempt and sit out `wait`; False when the budget says to stop."""
        if wait.counts:
            run.failed += 1
            run.streak += 1
            if run.failed >= self.config.max_attempts:
                return False
        else:
            run.streak = 0 if run.response is not None else run.streak + 1
        delay = wait.delay
        if time.monotonic() + delay >= run.end():
            run.why = "deadline"
            return False
        log.info(
            "retrying %s %s after %s (%d failed attempt%s of %d) in %.2f s",
            call.method,
            call.path,
            self._giveup.what_failed(run),
            run.failed,
            "" if run.failed == 1 else "s",
            self.config.max_attempts,
            delay,
        )
        self.stats.retries += 1
        response = run.response
        if response is not None and response.headers.get("retry-after") is not None:
            self.stats.retry_after_seconds += delay
        else:
            self.stats.backoff_seconds += delay
        if delay > 0:
            await asyncio.sleep(delay)
        return True

    async def _give_up(self, call: Call, run: Attempts) -> Adopted:
        """Out of attempts or time. A write that may have been applied is checked one last
        time (if time is left), so a lost answer on the final attempt is not a failure."""
        for finder in (call.find, call.verify):
            if (
                run.maybe_applied
                and finder is not None
                and run.why != "silent"
                and run.end() > time.monotonic()
            ):
                found = await read_back(finder, run.end())
                if found is not None:
                    return self._adopt(call, found)
        raise self._giveup.error(call, run)

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with full jitter."""
        exponent = min(max(attempt - 1, 0), 30)
        cap = min(self.config.backoff_max, self.config.backoff_base * 2**exponent)
        return self._random.uniform(0, cap)

    def _adopt(self, call: Call, found: JsonObject) -> Adopted:
        self.stats.adopted += 1
        log.info(
            "%s %s: the lost answer had been applied; adopting %s %s",
            call.method,
            call.path,
            found.get("type", "object"),
            found.get("id", "?"),
        )
        return Adopted(found)
