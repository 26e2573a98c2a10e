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
    """The state of one call's attempts."""

    started: float
    outer_end: float | None  # a read-back shares its operation's deadline
    deadline: float
    budget_from: float = 0.0  # the deadline counts from here; a 429 (an answer) moves it
    maybe_applied: bool = False
    response: httpx.Response | None = None
    failure: BaseException | None = None
    failed: int = 0  # failed attempts: what max_attempts bounds
    sent: int = 0  # attempts made
    streak: int = 0  # consecutive failures, for the backoff
    why: str = ""  # why the loop gave up, beyond the attempts

    def end(self) -> float:
        own = self.budget_from + self.deadline
        return own if self.outer_end is None else min(own, self.outer_end)

    def timed_out(self, wire: Wire, error: TimeoutError) -> None:
        """The deadline ran out during an attempt (waiting, the token call or the answer)."""
        self.maybe_applied = self.maybe_applied or wire.sent
        if self.response is not None or (self.failure is not None and not wire.sent):
            # The store answered (or failed) an earlier attempt: that stands.
            if not wire.sent:
                self.sent -= 1
        else:
            self.response, self.failure = None, error
        self.why = "deadline"


@dataclass(frozen=True)
class Wait:
    """Try again after `delay` seconds; `counts` when the attempt was a failed one."""

    delay: float
    counts: bool = True
