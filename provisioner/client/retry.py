"""Sending with retries, and adopting the writes whose answers were lost: the heart of the client.

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
import contextvars
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from provisioner.client.calls import Adopted, Attempts, Call, Finder, Wait, parse_retry_after
from provisioner.client.failures import classify_transport_error, failure_kind
from provisioner.client.redaction import redact
from provisioner.client.responses import JsonObject, answer_error, redirect_error
from provisioner.client.settings import RECONNECT_BACKOFF_MAX, ClientConfig
from provisioner.client.stats import RequestStats
from provisioner.client.transport import WIRE, Liveness, Wire
from provisioner.errors import (
    RateLimitedError,
    ReadOnlyError,
    ServerError,
    TransportError,
)
from provisioner.pacing import Pacer

log = logging.getLogger(__name__)


RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# Statuses a duplicate create is refused with: 422 locally, 400 or 409 plausibly (§0).
DUPLICATE_STATUSES = frozenset({400, 409, 422})
_RETRYABLE_TRANSPORT = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)
# A read-back that failed this way is one failed attempt of its operation, tried again.
_READ_BACK_RETRYABLE = (ServerError, RateLimitedError, TransportError)
# The deadline of the operation a read-back belongs to (monotonic seconds), if any.
_OPERATION_END: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "provisioner_operation_end", default=None
)
# A deadline's timer fires when the clock reaches it; the sum `start + deadline` may round.
_CLOCK_SLACK = 1e-3


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
        # The deadlines of the attempts under way, to cut them when the store is found silent.
        self._pending: dict[asyncio.Timeout, Attempts] = {}
        self._watchdog: asyncio.TimerHandle | None = None
        self._watchdog_loop: asyncio.AbstractEventLoop | None = None
        self._busy_since = 0.0  # requests have been under way without a break since then

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
        outer_end = _OPERATION_END.get()
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
        if self._frozen():  # not sent: the store is known to be frozen
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
                found = await self.read_back(find, run.end())
            except _READ_BACK_RETRYABLE as error:
                if self._frozen():
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
                if not self._pending:
                    self._busy_since = time.monotonic()
                self._pending[scope] = run  # cut at once when the store is found silent
                self._watch()
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
                    del self._pending[scope]
        except TimeoutError as error:  # the deadline ran out: waiting, token call or answer
            run.timed_out(wire, error)
            if run.silenced:
                run.why = "silent"
            elif self._silent(run, wire):
                self._silence()
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
                found = await self.read_back(call.find, run.end())
                if found is not None:
                    return self._adopt(call, found)
            raise self._answer_error(call, response)
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
            self._what_failed(run),
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

    def _what_failed(self, run: Attempts) -> str:
        if run.response is not None:
            return str(run.response.status_code)
        failure = run.failure
        if failure is not None and not isinstance(failure, TimeoutError):
            return classify_transport_error(failure, self._where).cause
        return failure_kind(failure)

    def _frozen(self) -> bool:
        """A request found the store silent, and it has answered nothing since."""
        mark = self.liveness.silent_mark
        return mark is not None and self.liveness.last_answer <= mark

    def _silent(self, run: Attempts, wire: Wire) -> bool:
        """True when the store answered nothing during all of `run`'s deadline although it
        had requests to answer (this one on the wire, or those holding the places and the
        token call it waited for): it is frozen. A client that sent nothing (its own pace,
        a `Retry-After` pause) is not a silent store."""
        liveness = self.liveness
        quiet = time.monotonic() - max(liveness.last_answer, run.started) + _CLOCK_SLACK
        return quiet >= self.config.deadline and (wire.sent or liveness.on_wire > 0)

    def _quiet_from(self) -> float:
        """Since when the store has had requests to answer, and answered none."""
        return max(self.liveness.last_answer, self._busy_since)

    def _watch(self) -> None:
        """Make sure the store's silence is checked when the requests under way will have
        waited a whole deadline for it (the requests' own deadlines may come later: those
        queued after the store froze)."""
        loop = asyncio.get_running_loop()
        if self._watchdog is not None and self._watchdog_loop is loop:
            return  # one is set (a handle of a loop that ended is forgotten)
        if self._pending:
            when = self._quiet_from() + self.config.deadline
            self._watchdog, self._watchdog_loop = loop.call_at(when, self._check_silence), loop

    def _check_silence(self) -> None:
        self._watchdog = None
        if not self._pending:
            return
        quiet = time.monotonic() - self._quiet_from() + _CLOCK_SLACK
        if quiet >= self.config.deadline and self.liveness.on_wire > 0:
            self._silence()
            return
        if quiet >= self.config.deadline:  # nothing sent (the pace, a pause): look again soon
            delay = min(1.0, self.config.deadline / 4)
            loop = asyncio.get_running_loop()
            self._watchdog, self._watchdog_loop = loop.call_later(delay, self._check_silence), loop
            return
        self._watch()

    def _silence(self) -> None:
        """The store answered nothing for a whole deadline: it is frozen. Every request still
        waiting (for a place, its turn, a token or an answer) is cut now, and later ones are
        not sent (`_step`): the run stops with the first deadline, not one deadline after the
        last request that queued behind the frozen ones."""
        self.liveness.silent_mark = self.liveness.last_answer
        now = asyncio.get_running_loop().time()
        for scope, other in list(self._pending.items()):
            if not scope.expired():
                other.silenced = True
                scope.reschedule(now)

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
                found = await self.read_back(finder, run.end())
                if found is not None:
                    return self._adopt(call, found)
        raise self._final_error(call, run)

    def _final_error(self, call: Call, run: Attempts) -> Exception:
        config = self.config
        name = f"{call.method} {call.path}"
        now = time.monotonic()
        elapsed = now - run.started
        note = self._note(run, elapsed)
        if run.why == "silent":
            return TransportError(
                f"{name} failed: timeout: the store did not answer within {config.deadline:g} s"
                f" (another request waited that long; {'not sent' if run.sent == 0 else note})"
            )
        if run.response is not None:
            status = run.response.status_code
            last_success = self.liveness.last_success
            if (
                status == 429
                and run.response.headers.get("retry-after") is None
                and run.refused_since is not None
                and last_success < run.refused_since
            ):
                refusing = now - max(run.started, last_success)
                note += (
                    f"; the store kept refusing at {self.pacer.rate():.3g} req/s and no request"
                    f" succeeded for {refusing:.1f} s; set a lower EPCC_RATE_LIMIT"
                    f" (now {config.rate_limit:g} req/s)"
                )
            error = self._answer_error(call, run.response, note)
            if isinstance(error, RateLimitedError):
                error.retry_after = parse_retry_after(run.response.headers.get("retry-after"))
            return error
        failure = run.failure
        if run.why == "deadline" and isinstance(failure, TimeoutError | httpx.TimeoutException):
            if run.sent == 0 and not self._frozen():
                # The store answers others: this one never got its turn (the pace, a place).
                return TransportError(
                    f"{name} failed: timeout: not sent within {config.deadline:g} s: it waited"
                    f" for its turn at {self.pacer.rate():.3g} req/s"
                )
            if run.sent == 0:  # it waited for places, a token the frozen store held
                note = f"not sent: it waited {elapsed:.1f} s behind requests it did not answer"
            return TransportError(
                f"{name} failed: timeout: the store did not answer within"
                f" {config.deadline:g} s ({note})"
            )
        if failure is None:
            if run.why == "deadline":  # a read-back after its operation's time was spent
                return TransportError(
                    f"{name} failed: timeout: its operation's {config.deadline:g} s were spent"
                    f" before it could be sent ({note})"
                )
            return TransportError(f"{name} failed: no answer: {note}")
        last = classify_transport_error(failure, self._where)
        if run.why == "unreachable":
            return TransportError(
                f"{name} failed: {last.kind}: {redact(last.cause)}; the store could"
                f" not be reached for {config.reconnect_deadline:g} s ({note})"
            )
        return TransportError(f"{name} failed: {last.kind}: {redact(last.cause)}; {note}")

    def _note(self, run: Attempts, elapsed: float) -> str:
        """`gave up after N attempts in S s`, with those that were not failures named: the
        README bounds the failed ones (`max_attempts`), not 429s nor reconnections."""
        sent = run.sent
        note = f"gave up after {sent} attempt{'s' if sent != 1 else ''} in {elapsed:.1f} s"
        others = []
        if run.refused:
            others.append(f"{run.refused} answered 429")
        if run.reconnects:
            others.append(f"{run.reconnects} refused while the store restarted")
        if others:
            note += f": {run.failed} failed, {', '.join(others)}"
        return note

    async def read_back(self, find: Finder, end: float) -> JsonObject | None:
        """Ask `find` whether a lost write was applied, within the operation's deadline."""
        token = _OPERATION_END.set(end)
        try:
            return await find()
        finally:
            _OPERATION_END.reset(token)

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

    def _answer_error(self, call: Call, response: httpx.Response, note: str = "") -> Exception:
        return answer_error(
            call.method,
            call.path,
            response,
            token_call=call.token_call,
            secrets=self.secrets(),
            note=note,
            credential_hint=self.config.credential_hint,
        )
