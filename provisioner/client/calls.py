"""What one request is and the budget its attempts run in: `Call`, `Attempts`, `Wait`.

`Call` says what to send and how to check a lost write (`find` for a create, `verify` for an
update); `Attempts` counts the attempts of one call against `max_attempts` and its deadline;
`parse_retry_after` reads the store's `Retry-After` (epcc-api.md §2.5).
"""

from __future__ import annotations

import email.utils
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

import httpx

from provisioner.client.responses import JsonObject
from provisioner.client.transport import Wire

Finder = Callable[[], Awaitable[JsonObject | None]]


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header: delay-seconds or an HTTP date (§2.5)."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if not math.isfinite(seconds):
        return None
    return max(seconds, 0.0)


@dataclass(frozen=True)
class Adopted:
    """A write whose lost answer had been applied: the object found in the store."""

    data: JsonObject


@dataclass(frozen=True)
class Call:
    """One request to send. `form` marks the token call (no bearer token, any failure an
    `AuthError`); `find` makes a create retry-safe; `verify` checks a lost update."""

    method: str
    path: str
    params: Mapping[str, str] | None = None
    json_body: JsonObject | None = None
    form: Mapping[str, str] | None = None
    find: Finder | None = None
    verify: Finder | None = None
    missing_ok_on_retry: bool = False

    @property
    def token_call(self) -> bool:
        return self.form is not None


@dataclass
class Attempts:
    """The state of one call's attempts, and what its error message counts.

    `end` is fixed when the call starts (its start + the deadline, or the end of the operation
    a read-back belongs to): nothing moves it, a 429 included. `failed` is what `max_attempts`
    bounds, counted as the README counts: a 5xx, a timeout or a lost connection after sending,
    and a create's read-back that failed (as a whole). `sent` is every attempt: the failed
    ones, the ones answered 429 (`refused`) and the refused connections while a store that
    answered before restarts (`reconnects`), which are not failures.
    """

    started: float
    end_at: float
    maybe_applied: bool = False
    response: httpx.Response | None = None
    failure: BaseException | None = None
    failed: int = 0  # failed attempts: what max_attempts bounds
    sent: int = 0  # attempts made (failed + refused + reconnects)
    refused: int = 0  # answered 429: not a failure
    reconnects: int = 0  # a refused connection while the store restarts: not a failure
    streak: int = 0  # consecutive failures, for the backoff
    refused_since: float | None = None  # when the current run of 429s began
    why: str = ""  # why the loop gave up, beyond the attempts
    silenced: bool = False  # another request found the store silent: this one was cut

    def end(self) -> float:
        return self.end_at

    def timed_out(self, wire: Wire, error: TimeoutError) -> None:
        """The deadline ran out during an attempt (waiting, the token call or the answer)."""
        self.maybe_applied = self.maybe_applied or wire.sent
        if wire.sent:
            self.failed += 1  # sent and not answered in time: a failed attempt
        else:
            self.sent -= 1  # never on the wire: not an attempt
        if self.response is None and (self.failure is None or wire.sent):
            self.failure = error  # else the store's answer to an earlier attempt stands
        self.why = "deadline"


@dataclass(frozen=True)
class Wait:
    """Try again after `delay` seconds; `counts` when the attempt was a failed one."""

    delay: float
    counts: bool = True
