"""The error a request gives up with, and the attempts it counts.

Out of attempts or time, a request fails with the store's last answer (a typed `ApiError`) or
a `TransportError` saying what it ran into: a frozen store, a store unreachable for
`reconnect_deadline` seconds, a deadline spent waiting for its turn or for an answer. Each
ends with `gave up after N attempts in S s`, naming those that were not failures (429s,
reconnections): the README bounds the failed ones (`max_attempts`), not those.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from provisioner.client.calls import Attempts, Call, parse_retry_after
from provisioner.client.failures import classify_transport_error, failure_kind
from provisioner.client.redaction import redact
from provisioner.client.responses import answer_error
from provisioner.client.settings import ClientConfig
from provisioner.client.transport import Liveness
from provisioner.client.watchdog import Watchdog
from provisioner.errors import RateLimitedError, TransportError
from provisioner.pacing import Pacer


@dataclass(eq=False, repr=False)
class GiveUp:
    """Words the failures of one client's requests (`Sender` decides when to give up)."""

    config: ClientConfig
    pacer: Pacer
    liveness: Liveness
    watchdog: Watchdog
    secrets: Callable[[], tuple[str, ...]]

    def __post_init__(self) -> None:
        self._where = urlsplit(self.config.base_url).netloc

    def error(self, call: Call, run: Attempts) -> Exception:
        """The error `call` fails with when `run` is out of attempts or time."""
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
            error = self.answer_error(call, run.response, note)
            if isinstance(error, RateLimitedError):
                error.retry_after = parse_retry_after(run.response.headers.get("retry-after"))
            return error
        failure = run.failure
        if run.why == "deadline" and isinstance(failure, TimeoutError | httpx.TimeoutException):
            if run.sent == 0 and not self.watchdog.frozen():
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

    def what_failed(self, run: Attempts) -> str:
        """What the last attempt of `run` ran into, for the retry's log line."""
        if run.response is not None:
            return str(run.response.status_code)
        failure = run.failure
        if failure is not None and not isinstance(failure, TimeoutError):
            return classify_transport_error(failure, self._where).cause
        return failure_kind(failure)

    def answer_error(self, call: Call, response: httpx.Response, note: str = "") -> Exception:
        """The store's refusal of `call` as a typed exception, secrets masked."""
        return answer_error(
            call.method,
            call.path,
            response,
            token_call=call.token_call,
            secrets=self.secrets(),
            note=note,
            credential_hint=self.config.credential_hint,
        )
