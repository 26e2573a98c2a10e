"""The one module that speaks HTTP to a store, real or local: `Client` and its domain methods.

Everything else talks to a store through `Client`'s domain methods (list flows, create a field,
...), which return the API's raw `data` objects. Underneath, every request goes through the same
machinery, built so that a run against a production store in CI can be trusted:

- authentication by `provisioner.auth.TokenAuth` (one shared token, refreshed before expiry and
  after a 401); with no client secret the implicit grant, and every write refused up front with
  `ReadOnlyError` (epcc-api.md §1.1, §1.3);
- a token bucket shared by all concurrent requests (`rate_limit` per second, the epcc-cli
  default of 20, §2.5) and a semaphore bounding requests in flight;
- retries of 429, 500, 502, 503, 504, timeouts and connection errors with exponential backoff and
  full jitter, honouring `Retry-After` in seconds or as an HTTP date, bounded by `max_attempts`
  and a total `deadline`; no other 4xx is ever retried (§2.5, §9);
- no duplicates: POST is not idempotent and the API has no idempotency keys (§2.7), so before
  re-sending a create whose answer was lost, the client reads back whether the object now exists
  (a flow by slug, a field by flow and slug) and adopts it; a "duplicate" refusal after a lost
  attempt is adopted the same way (§0, §3.6, §4.7);
- concurrent writers: a flow or field create refused as a duplicate although none of our
  attempts can have applied it was created by another writer (another apply of the same files,
  say): the object is read back and adopted when it already holds the attributes we sent
  (converged), else `ConcurrentChangeError` says that another writer changed the store and to
  plan again;
- lists paginated with `page[limit]=100`: the first page gives `meta.results.total`, the other
  pages are requested concurrently (within the rate limit) and the records must add up to the
  total, else `IncompleteListError`; a list reaching past the `page[offset]` maximum of 10,000
  raises `ListTooLongError` up front (the reader then lists per flow); without a total, pages
  follow one another until one comes back short, empty or repeated; a reply without `meta` is
  the whole list (§2.2, issue 16);
- errors parsed leniently into the typed exceptions of `provisioner.errors` by status (§2.4);
- no token, secret or Authorization header in any error, log line or repr: log records of this
  module, httpx and httpcore pass a redacting filter while a client is open;
- `RequestStats`: requests by method and status, retries, adoptions, time spent throttled.
"""

from __future__ import annotations

import asyncio
import contextvars
import email.utils
import json
import logging
import math
import random
import re
import socket
import ssl
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote, urlsplit

import httpx

from provisioner import __version__
from provisioner.auth import TOKEN_PATH, TokenAuth
from provisioner.epcc import flows as api
from provisioner.errors import (
    ApiError,
    AuthError,
    ConcurrentChangeError,
    ConflictError,
    NotFoundError,
    ProvisionerError,
    RateLimitedError,
    ReadOnlyError,
    ServerError,
    TargetError,
    TransportError,
    ValidationApiError,
)
from provisioner.normalize import (
    field_attributes,
    field_from_api,
    flow_attributes,
    flow_from_api,
)
from provisioner.pacing import InFlight, Pacer

log = logging.getLogger(__name__)

JsonObject = dict[str, Any]

DEFAULT_BASE_URL = "https://euwest.api.elasticpath.com"
# The legacy alias of EU West still answers; epcc-cli warns about it (epcc-api.md §1.5).
DEPRECATED_BASE_URL = "https://api.moltin.com"
# The default pace ceiling, in requests per second: a development store's documented limit
# (§2.5: 25; production stores allow 100), which the adaptive pace lowers on any 429.
DEFAULT_RATE_LIMIT = 25.0
# The most requests in flight at once; the pacer keeps it near rate x latency below that.
DEFAULT_MAX_IN_FLIGHT = 32
# `--verbose` says so when the ceiling held a run back for longer than this (seconds).
CEILING_NOTE_SECONDS = 3.0
PAGE_LIMIT = 100  # the documented maximum of page[limit] (§2.2)
MAX_PAGES = 10_000  # a runaway guard only, for lists without a total
# §2.2: "The maximum records you can offset is 10,000" (flows and Commerce Extensions specs).
MAX_PAGE_OFFSET = 10_000
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# Statuses a duplicate create is refused with: 422 locally, 400 or 409 plausibly (§0).
DUPLICATE_STATUSES = frozenset({400, 409, 422})
# Transport failures that happen before the request left: it cannot have been applied.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_RETRYABLE_TRANSPORT = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)
# A read-back that failed this way is one failed attempt of its operation, tried again.
_READ_BACK_RETRYABLE = (ServerError, RateLimitedError, TransportError)
# Once the store has answered, a refused or reset connection is retried for this long at most
# between two delays of at most RECONNECT_BACKOFF_MAX: a store restarting does not fail a run.
RECONNECT_DEADLINE = 60.0
RECONNECT_BACKOFF_MAX = 2.0
# The deadline of the operation a read-back belongs to (monotonic seconds), if any.
_OPERATION_END: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "provisioner_operation_end", default=None
)
# Loggers whose records pass the redacting filter while a client is open. httpcore logs through
# its sub-modules' loggers, and a logger's filters only see that logger's own records.
_REDACTED_LOGGERS = (
    __name__,
    "provisioner.auth",
    "httpx",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
)
# A bearer credential: 20+ token characters, or 6+ with a digit or a token-only symbol. Plain
# words are left alone ("A bearer access token is required" is a sentence, not a token).
_BEARER = re.compile(
    r"(?i)(bearer\s+)"
    r"(?:[A-Za-z0-9._~+/=-]{20,}|(?=[A-Za-z._~+/=-]*[0-9._~+/=])[A-Za-z0-9._~+/=-]{6,})"
    r"(?![A-Za-z0-9._~+/=-])"
)
_SECRET_FIELD = re.compile(r"(?i)(client_secret[\"']?\s*[=:]\s*[\"']?)[^\s'\"&,;}]+")
REDACTED = "***"


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with every known secret value and anything shaped like a credential masked."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    text = _BEARER.sub(rf"\g<1>{REDACTED}", text)
    return _SECRET_FIELD.sub(rf"\g<1>{REDACTED}", text)


# --------------------------------------------------------------------------- configuration


def _env_text(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name)
    if value is None or not value.strip():
        return None
    return value.strip()


# EPCC_RATE_LIMIT / --rate-limit: below 0.1 a run would crawl (1e-9 never finishes), above
# 10,000 the number means nothing (a production store allows 100, epcc-api.md 2.5).
MIN_RATE_LIMIT = 0.1
MAX_RATE_LIMIT = 10_000.0
_PORT = re.compile(r"^(?:\[[^\]]*\]|[^:\[\]]*)(?::(?P<port>.*))?$")


def display_url(url: str) -> str:
    """`url` as it may be shown: any `user:password@` becomes `***@` (never echoed)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    if "@" in rest:
        rest = REDACTED + "@" + rest.rsplit("@", 1)[1]
    return f"{scheme}{sep}{rest}"


def check_base_url(url: str, source: str = "the base URL") -> str:
    """The store's API root from `url` (stripped, without a trailing `/`), or a `TargetError`
    naming `source` (`EPCC_API_BASE_URL`, `--base-url`) and what was expected.

    A base URL is `http(s)://host[:port]` and nothing more: the client adds `/v2/...` and
    `/oauth/access_token` itself (epcc-api.md 1.5), so a path (`/v2`) would send every request
    to the wrong place and read as bad credentials. It never carries `user:password@`, and
    such a URL is never repeated with its userinfo.
    """
    text = url.strip()
    base = text.rstrip("/")  # TF's default ends in "/" (§1.5)
    shown = display_url(base)
    expected = "expected http(s)://host[:port], e.g. https://euwest.api.elasticpath.com"
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in base):
        raise TargetError(f"invalid store URL {shown!r} ({source}): {expected}")
    try:
        parts = urlsplit(base)
    except ValueError as error:
        raise TargetError(f"invalid store URL {shown!r} ({source}): {error}; {expected}") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise TargetError(f"invalid store URL {shown!r} ({source}): {expected}")
    if "@" in parts.netloc or "@" in base.partition("://")[2]:
        raise TargetError(
            f"the store URL {shown!r} ({source}) holds a user name or password: give the API "
            "root alone; the credentials go in EPCC_CLIENT_ID and EPCC_CLIENT_SECRET"
        )
    match = _PORT.match(parts.netloc)
    port = match.group("port") if match else ""
    if not match or not parts.hostname:
        raise TargetError(f"invalid store URL {shown!r} ({source}): no host; {expected}")
    if port is not None and not (port.isascii() and port.isdigit() and 1 <= int(port) <= 65535):
        raise TargetError(
            f"invalid store URL {shown!r} ({source}): the port {port!r} is not a number "
            "from 1 to 65535"
        )
    if parts.path or parts.query or parts.fragment:
        given = parts.path + (f"?{parts.query}" if parts.query else "")
        given += f"#{parts.fragment}" if parts.fragment else ""
        root = f"{parts.scheme}://{parts.netloc}"
        raise TargetError(
            f"the store URL ({source}) should be the API root, {root}, without a path: "
            f"{given!r} was given (provisioner adds /v2/... and /oauth/... itself)"
        )
    try:
        httpx.URL(base)
    except httpx.InvalidURL as error:
        raise TargetError(f"invalid store URL {shown!r} ({source}): {error}") from None
    return base


def parse_rate_limit(value: str | float, source: str = "rate_limit") -> float:
    """Requests per second from `value`, within [0.1, 10,000]; else a `TargetError` naming
    `source` (`EPCC_RATE_LIMIT` or `--rate-limit`)."""
    expected = f"a number of requests per second from {MIN_RATE_LIMIT:g} to {MAX_RATE_LIMIT:,.0f}"
    try:
        rate = float(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError):
        raise TargetError(f"{source} must be {expected}, not {value!r}") from None
    if not (math.isfinite(rate) and MIN_RATE_LIMIT <= rate <= MAX_RATE_LIMIT):
        raise TargetError(f"{source} must be {expected}, not {value!r}")
    return rate


@dataclass(frozen=True)
class ClientConfig:
    """How to reach one store. The secret never shows in the repr.

    `client_secret=None` selects the implicit grant: reads work, writes raise `ReadOnlyError`.
    `backoff_base` and `backoff_max` shape the retry delays: attempt n waits a uniformly random
    time in [0, min(backoff_max, backoff_base * 2**(n-1))] ("full jitter") unless the store
    said `Retry-After`. The id and the secret are stripped of surrounding whitespace (a
    variable read from a file often ends in a newline).
    """

    base_url: str
    client_id: str
    client_secret: str | None = field(default=None, repr=False)
    rate_limit: float = DEFAULT_RATE_LIMIT
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT
    max_attempts: int = 6
    deadline: float = 120.0
    timeout: float = 30.0
    backoff_base: float = 0.5
    backoff_max: float = 20.0
    reconnect_deadline: float = RECONNECT_DEADLINE

    def __post_init__(self) -> None:
        base_url = check_base_url(self.base_url)
        object.__setattr__(self, "base_url", base_url)
        if base_url.lower() == DEPRECATED_BASE_URL:
            log.warning(
                "The API endpoint %s is deprecated, please use %s instead",
                DEPRECATED_BASE_URL,
                DEFAULT_BASE_URL,
            )
        object.__setattr__(self, "client_id", (self.client_id or "").strip())
        if not self.client_id:
            raise TargetError("no client id: set EPCC_CLIENT_ID (or --client-id)")
        secret = self.client_secret.strip() if self.client_secret is not None else None
        object.__setattr__(self, "client_secret", secret or None)
        checks = {
            "rate_limit": self.rate_limit > 0 and math.isfinite(self.rate_limit),
            "max_in_flight": self.max_in_flight >= 1,
            "max_attempts": self.max_attempts >= 1,
            "deadline": self.deadline > 0,
            "reconnect_deadline": self.reconnect_deadline > 0,
            "timeout": self.timeout > 0,
            "backoff_base": self.backoff_base >= 0,
            "backoff_max": self.backoff_max >= 0,
        }
        for name, ok in checks.items():
            if not ok:
                raise TargetError(f"invalid client setting {name}={getattr(self, name)!r}")

    @property
    def read_only(self) -> bool:
        """True without a client secret: the implicit grant can only read flows (§1.3)."""
        return self.client_secret is None

    @classmethod
    def from_env(cls, env: Mapping[str, str], **overrides: Any) -> ClientConfig:
        """Settings from the epcc-cli environment variables, overridden by non-None keywords.

        `EPCC_API_BASE_URL` (default EU West), `EPCC_CLIENT_ID`, `EPCC_CLIENT_SECRET` (absent:
        implicit grant) and `EPCC_RATE_LIMIT` (the pace ceiling, requests per second, default
        25) (§1.6). CLI
        options pass their values as keywords; a keyword given as None means "not given".
        """
        values: dict[str, Any] = {
            "base_url": _env_text(env, "EPCC_API_BASE_URL") or DEFAULT_BASE_URL,
            "client_id": _env_text(env, "EPCC_CLIENT_ID") or "",
            "client_secret": _env_text(env, "EPCC_CLIENT_SECRET"),
        }
        rate = _env_text(env, "EPCC_RATE_LIMIT")
        if rate is not None:
            values["rate_limit"] = parse_rate_limit(rate, "EPCC_RATE_LIMIT")
        values.update({key: value for key, value in overrides.items() if value is not None})
        return cls(**values)


# --------------------------------------------------------------------------- statistics


@dataclass
class RequestStats:
    """What one client did on the wire, for `--verbose` and the end of `apply`.

    Every request sent counts, the token calls and the re-sends after a 401 included, so the
    figures match the store's own statistics.
    """

    requests: Counter[tuple[str, int]] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)
    retries: int = 0
    adopted: int = 0
    converged: int = 0  # creates refused as duplicates: another writer had made them as sent
    throttled_seconds: float = 0.0  # waiting for the pace (summed over requests)
    retry_after_seconds: float = 0.0  # waiting because the store sent Retry-After
    backoff_seconds: float = 0.0  # other waits before a retry
    ceiling: float | None = None  # the configured pace ceiling (EPCC_RATE_LIMIT)
    lowest_rate: float | None = None  # the lowest pace 429s brought it down to
    ceiling_held_seconds: float = 0.0  # wall time the ceiling (not a 429) held requests back
    first_at: float | None = None  # monotonic time the first request started
    last_at: float | None = None  # ... and the last one ended

    @property
    def rate_limited(self) -> int:
        """Requests the store answered 429."""
        return self.count(status=429)

    @property
    def effective_rate(self) -> float | None:
        """Requests per second from the first start to the last answer (None: too short)."""
        if self.first_at is None or self.last_at is None:
            return None
        span = self.last_at - self.first_at
        return self.total / span if span >= 0.05 else None

    @property
    def held_by_ceiling(self) -> bool:
        """True when the ceiling held the run back for more than a few seconds."""
        return self.ceiling_held_seconds > CEILING_NOTE_SECONDS

    @property
    def total(self) -> int:
        """Requests that got an answer plus those that failed in transport."""
        return sum(self.requests.values()) + sum(self.failures.values())

    def count(self, method: str | None = None, status: int | None = None) -> int:
        """Answered requests, optionally only those of one method and/or status."""
        return sum(
            n
            for (m, s), n in self.requests.items()
            if (method is None or m == method) and (status is None or s == status)
        )

    def summary(self) -> str:
        """One line, e.g. `12 requests (GET 200 ×9, POST 201 ×3), 1 retry, throttled 0.4 s`."""
        parts = [f"{m} {s} ×{n}" for (m, s), n in sorted(self.requests.items())]
        parts += [f"{kind} ×{n}" for kind, n in sorted(self.failures.items())]
        noun = "request" if self.total == 1 else "requests"
        text = f"{self.total} {noun}"
        if parts:
            text += f" ({', '.join(parts)})"
        if self.retries:
            text += f", {self.retries} retr{'y' if self.retries == 1 else 'ies'}"
        if self.adopted:
            text += f", {self.adopted} adopted after a lost answer"
        if self.converged:
            text += f", {self.converged} already made as desired by another writer"
        throttled = self.throttled_seconds + self.retry_after_seconds
        if throttled >= 0.05:
            text += (
                f", throttled {throttled:.1f} s (rate limit {self.throttled_seconds:.1f} s,"
                f" Retry-After {self.retry_after_seconds:.1f} s)"
            )
        if self.backoff_seconds >= 0.05:
            text += f", backoff {self.backoff_seconds:.1f} s"
        return text + self.pacing_summary()

    def pacing_summary(self) -> str:
        """`, 9.8 req/s effective, pace lowered to 1.8 req/s (ceiling 25)`, or ``.

        The 429s are in the count by method and status already.
        """
        text = ""
        rate = self.effective_rate
        if rate is not None:
            text += f", {rate:.3g} req/s effective"
        if (
            self.ceiling is not None
            and self.lowest_rate is not None
            and self.lowest_rate < self.ceiling
        ):
            text += f", pace lowered to {self.lowest_rate:.3g} req/s (ceiling {self.ceiling:g})"
        return text

    def ceiling_note(self) -> str | None:
        """For `--verbose`: a sentence when the ceiling held the run back, else None."""
        if not self.held_by_ceiling or self.ceiling is None:
            return None
        return (
            f"The pace ceiling of {self.ceiling:g} requests/s held this run back for"
            f" {self.ceiling_held_seconds:.1f} s; if the store allows more, raise"
            " EPCC_RATE_LIMIT (a production store allows 100)."
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready copy; `requests` has the shape of the local store's statistics."""
        rate = self.effective_rate
        return {
            "total": self.total,
            "requests": [
                {"method": m, "status": s, "count": n}
                for (m, s), n in sorted(self.requests.items())
            ],
            "failures": dict(sorted(self.failures.items())),
            "retries": self.retries,
            "adopted": self.adopted,
            "converged": self.converged,
            "throttled_seconds": round(self.throttled_seconds, 3),
            "retry_after_seconds": round(self.retry_after_seconds, 3),
            "backoff_seconds": round(self.backoff_seconds, 3),
            "pacing": {
                "ceiling": self.ceiling,
                "effective_rate": None if rate is None else round(rate, 3),
                "rate_limited": self.rate_limited,
                "waiting_for_pace_seconds": round(self.throttled_seconds, 3),
                "lowest_rate": None if self.lowest_rate is None else round(self.lowest_rate, 3),
                "held_by_ceiling_seconds": round(self.ceiling_held_seconds, 3),
            },
        }


# --------------------------------------------------------------------------- wire machinery


@dataclass
class _Wire:
    """Set by the transport when an attempt got its turn and went on the wire."""

    sent: bool = False


_WIRE: contextvars.ContextVar[_Wire | None] = contextvars.ContextVar(
    "provisioner_wire", default=None
)


@dataclass
class _Liveness:
    """When the store last answered, and last accepted a request (monotonic seconds)."""

    reached: bool = False  # the store answered at least once
    last_answer: float = -math.inf
    last_success: float = -math.inf  # an answer other than 429 or 5xx
    silent_mark: float | None = None  # set when a request gave up on a silent store


class _ThrottledTransport(httpx.AsyncBaseTransport):
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
        liveness: _Liveness,
    ) -> None:
        self._inner = inner
        self._pacer = pacer
        self._in_flight = in_flight
        self._stats = stats
        self._liveness = liveness

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await self._in_flight.acquire()
        try:
            waited, epoch = await self._pacer.wait()
            wire = _WIRE.get()
            if wire is not None:
                wire.sent = True
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
                stats.failures[_failure_kind(error)] += 1
                stats.last_at = time.monotonic()
                log.debug("%s %s -> %s", request.method, request.url.path, type(error).__name__)
                raise
        finally:
            self._in_flight.release()
        now = time.monotonic()
        status = response.status_code
        refused = status == 429
        if self._pacer.answered(epoch, refused=refused, latency=None if refused else now - started):
            change = self._pacer.decreases[-1]
            log.info(
                "the store answered 429 (it accepted %.3g req/s): pace lowered from %.3g to %.3g"
                " req/s",
                change.accepted,
                change.before,
                change.after,
            )
        stats.lowest_rate = self._pacer.lowest
        stats.last_at = now
        liveness = self._liveness
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


def _kind(error: BaseException | None) -> str:
    if isinstance(error, TimeoutError):
        return "timeout"
    return "no answer" if error is None else _failure_kind(error)


def connection_failure(error: BaseException) -> bool:
    """True for a connection the store refused or could not take: what a store restarting
    causes (a store that is up refuses nothing).

    Nothing was sent, so nothing can have been applied. A connection dropped after the request
    was sent (a lost answer) is not one of these: it is a failed attempt like any other.
    """
    return isinstance(error, httpx.ConnectError)


def _failure_kind(error: BaseException) -> str:
    if isinstance(error, httpx.TimeoutException):
        return "timeout"
    if isinstance(error, httpx.NetworkError | httpx.RemoteProtocolError):
        return "connection error"  # refused, reset, or dropped before the answer was complete
    return type(error).__name__


@dataclass(frozen=True)
class TransportFailure:
    """What a request that got no answer ran into, for people and for the retry policy.

    `kind` is the short word of the statistics (`timeout`, `connection error`); `cause` one
    line saying what happened (`connection refused by 127.0.0.1:8710`); `retryable` is False
    for what cannot heal within a run (a name that does not resolve, a TLS protocol or
    certificate mismatch), which is then reported at once instead of retried.
    """

    kind: str
    cause: str
    retryable: bool


def _causes(error: BaseException) -> list[BaseException]:
    """`error` and the exceptions it wraps (httpx -> httpcore -> OSError / ssl.SSLError)."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and all(current is not seen for seen in chain):
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _reason(error: BaseException) -> str:
    if isinstance(error, ssl.SSLError) and error.reason:
        return str(error.reason).replace("_", " ").lower()
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error) or type(error).__name__


def classify_transport_error(error: BaseException, where: str = "the store") -> TransportFailure:
    """The one place that says what a failed exchange ran into (`where` is `host:port`).

    Used for the message (one line, with or without `--debug`) and for the retry decision:
    a name that does not resolve and a TLS mismatch are not retried; a temporary resolver
    failure (EAI_AGAIN), a refused or reset connection and a timeout are.
    """
    kind = _failure_kind(error)
    for cause in _causes(error):
        if isinstance(cause, ssl.SSLCertVerificationError):
            why = cause.verify_message or _reason(cause)
            return TransportFailure(
                kind, f"TLS certificate verification failed for {where}: {why}", False
            )
        if isinstance(cause, ssl.SSLError):
            hint = ""
            if "wrong version number" in _reason(cause) or "record layer" in _reason(cause):
                hint = " (is it a plain http:// server?)"
            return TransportFailure(
                kind, f"TLS handshake failed with {where}: {_reason(cause)}{hint}", False
            )
        if isinstance(cause, socket.gaierror):
            host = where.rsplit(":", 1)[0] if where.count(":") == 1 else where
            temporary = cause.errno == socket.EAI_AGAIN
            return TransportFailure(
                kind,
                f"name resolution failed for {host}: {_reason(cause)}"
                + (" (temporary)" if temporary else ""),
                temporary,
            )
        if isinstance(cause, ConnectionRefusedError):
            return TransportFailure(kind, f"connection refused by {where}", True)
        if isinstance(cause, ConnectionResetError):
            return TransportFailure(kind, f"connection reset by {where}", True)
    if isinstance(error, httpx.ConnectTimeout):
        return TransportFailure(kind, f"timed out connecting to {where}", True)
    if isinstance(error, httpx.TimeoutException):
        return TransportFailure(kind, f"timed out waiting for {where} to answer", True)
    if isinstance(error, httpx.RemoteProtocolError):
        return TransportFailure(
            kind, f"{where} closed the connection before the answer was complete", True
        )
    if isinstance(error, httpx.ConnectError):
        return TransportFailure(
            kind, f"cannot connect to {where}: {_reason(_causes(error)[-1])}", True
        )
    return TransportFailure(kind, f"{_reason(_causes(error)[-1])}", True)


class _RedactingFilter(logging.Filter):
    """Masks the secret, the tokens and credential-shaped text in every record it sees."""

    def __init__(self, secrets: Callable[[], Iterable[str]]) -> None:
        super().__init__()
        self._secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message, self._secrets())
        if clean != message:
            record.msg = clean
            record.args = None
        return True


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


# --------------------------------------------------------------------------- errors


_ERROR_TYPES: dict[int, type[ApiError]] = {
    400: ValidationApiError,
    401: AuthError,
    403: AuthError,
    404: NotFoundError,
    409: ConflictError,
    422: ValidationApiError,
    429: RateLimitedError,
}


def _text(value: object) -> str:
    if value is None or isinstance(value, bool):
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, Mapping):  # a JSON:API `source` object, e.g. {"pointer": "/data/x"}
        return ", ".join(_text(v) for v in value.values() if _text(v))
    if isinstance(value, list):
        return "; ".join(_text(v) for v in value if _text(v))
    return str(value)


def _snippet(content: bytes, limit: int = 200) -> str:
    """A short readable excerpt of a body that is not JSON (an HTML error page, say)."""
    text = content.decode("utf-8", errors="replace")
    text = re.sub(r"<[^>]*>", " ", text)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def error_from_response(
    method: str,
    path: str,
    response: httpx.Response,
    *,
    error_type: type[ApiError] | None = None,
    secrets: Iterable[str] = (),
    note: str = "",
) -> ApiError:
    """The typed exception for a failed answer, parsing any error body shape seen (§2.4).

    `errors` may be a list of objects or strings, one object, or a string (the legacy 403
    `{"status": false, "errors": "Forbidden"}`); `status` inside may be an int, a string or
    absent; the 500 body puts `title`/`detail`/`request_id` at the top level. The type follows
    the HTTP status alone.
    """
    status = response.status_code
    request_id = response.headers.get("x-moltin-request-id") or ""
    titles: list[str] = []
    details: list[str] = []
    try:
        body: Any = json.loads(response.content) if response.content else None
    except ValueError:
        body = None
        details.append(_snippet(response.content))
    if isinstance(body, Mapping):
        errors = body.get("errors", body.get("error"))
        items = errors if isinstance(errors, list) else [errors]
        for item in items:
            if isinstance(item, Mapping):
                title, detail = _text(item.get("title")), _text(item.get("detail"))
                source = _text(item.get("source"))
                if title:
                    titles.append(title)
                if detail:
                    details.append(
                        f"{source}: {detail}" if source and source not in detail else detail
                    )
                elif source and title:
                    details.append(f"{source}: {title}")
                request_id = request_id or _text(item.get("request_id"))
            elif _text(item):
                titles.append(_text(item))
        if not titles and _text(body.get("title")):
            titles.append(_text(body["title"]))
        if not details and _text(body.get("detail")):
            details.append(_text(body["detail"]))
        if not titles and not details and _text(body.get("message")):
            details.append(_text(body["message"]))
        request_id = request_id or _text(body.get("request_id"))
    elif body is not None and _text(body):
        details.append(_snippet(_text(body).encode()))
    title = titles[0] if titles else (response.reason_phrase or _phrase(status))
    unique_details = list(dict.fromkeys(d for d in details if d))
    unique_details += [t for t in titles[1:] if t not in unique_details]
    detail = "; ".join(unique_details)
    if note:
        detail = f"{detail} ({note})" if detail else note
    kind = error_type or _ERROR_TYPES.get(status) or (ServerError if status >= 500 else ApiError)
    secrets = tuple(secrets)
    return kind(
        method,
        path,
        status,
        redact(title, secrets),
        redact(detail, secrets),
        redact(request_id, secrets) or None,
    )


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _malformed(method: str, path: str, status: int, why: str) -> ApiError:
    return ApiError(method, path, status, "Malformed response", why)


class ListTooLongError(ApiError):
    """A list holds more records than `page[offset]` can reach (§2.2: at most 10,000).

    Raised after the first page, before any other is asked for: the caller reads the list
    another way (the reader lists fields per flow) or reports it."""

    def __init__(self, path: str, total: int | None, max_offset: int, page_size: int) -> None:
        counted = f"{total} records" if total is not None else "more records"
        super().__init__(
            "GET",
            path,
            200,
            "List too long",
            f"the store reports {counted}, but page[offset] stops at {max_offset} (epcc-api.md "
            f"2.2), so a list can show at most {max_offset + page_size}",
        )
        self.total = total


class IncompleteListError(ApiError):
    """The records of a list do not add up to the `meta.results.total` the store reported."""

    def __init__(self, path: str, read: int, total: int) -> None:
        super().__init__(
            "GET",
            path,
            200,
            "Incomplete list",
            f"read {read} records but the store reports {total} (meta.results.total): the list "
            "changed while it was read, or the store did not serve every page; nothing is "
            "planned or written from a partial list, run again",
        )
        self.read = read
        self.total = total


def _unique_by_id(pages: Sequence[Sequence[JsonObject]]) -> list[JsonObject]:
    """The records of `pages` in order, each id once (records without an id all kept)."""
    items: list[JsonObject] = []
    seen: set[str] = set()
    for page in pages:
        for item in page:
            key = item.get("id")
            if isinstance(key, str):
                if key in seen:
                    continue
                seen.add(key)
            items.append(item)
    return items


def _str_at(mapping: Mapping[str, Any], *keys: str) -> str | None:
    node: Any = mapping
    for key in keys:
        if not isinstance(node, Mapping):
            return None
        node = node.get(key)
    return node if isinstance(node, str) else None


# --------------------------------------------------------------------------- the client


@dataclass(frozen=True)
class _Adopted:
    """A create whose lost answer had been applied: the object found in the store."""

    data: JsonObject


Finder = Callable[[], Awaitable[JsonObject | None]]
# The names of the attributes in which an object found in the store differs from a create.
Differ = Callable[[JsonObject], list[str]]


def _differences(sent: Mapping[str, Any], found: Mapping[str, Any]) -> list[str]:
    """Attribute names whose canonical values differ (both sides from `normalize`)."""
    return [key for key in sent if sent[key] != found.get(key)]


class Client:
    """An async client for one store: `async with Client(config) as client: ...`.

    `transport` replaces the network (the embedded local store, or a test's mock transport).
    Domain methods return the API's raw `data` objects; `attrs` are API attribute names without
    `type` or `id`, which the client adds.
    """

    def __init__(
        self, config: ClientConfig, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.config = config
        self.stats = RequestStats()
        self.read_only = config.read_only
        # The highest `page[offset]` a list may ask for (§2.2); a test may lower it.
        self.max_page_offset = MAX_PAGE_OFFSET
        self.auth = TokenAuth(self._fetch_token)
        self.pacer = Pacer(config.rate_limit, max_in_flight=config.max_in_flight)
        self.stats.ceiling = config.rate_limit
        self.stats.lowest_rate = config.rate_limit
        self._liveness = _Liveness()
        self._random = random.Random()
        self._redaction = _RedactingFilter(self._secrets)
        wire = _ThrottledTransport(
            transport if transport is not None else httpx.AsyncHTTPTransport(),
            self.pacer,
            InFlight(self.pacer),
            self.stats,
            self._liveness,
        )
        self._where = urlsplit(config.base_url).netloc
        self._http = httpx.AsyncClient(
            base_url=config.base_url,
            transport=wire,
            timeout=config.timeout,
            follow_redirects=False,
            headers={"Accept": "application/json", "User-Agent": f"provisioner/{__version__}"},
        )
        self._filtering = False

    def __repr__(self) -> str:
        mode = "read-only" if self.read_only else "read-write"
        return f"Client({self.config.base_url!r}, {mode})"

    async def __aenter__(self) -> Self:
        if not self._filtering:
            for name in _REDACTED_LOGGERS:
                logging.getLogger(name).addFilter(self._redaction)
            self._filtering = True
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connections and stop filtering log records."""
        await self._http.aclose()
        if self._filtering:
            for name in _REDACTED_LOGGERS:
                logging.getLogger(name).removeFilter(self._redaction)
            self._filtering = False

    def _secrets(self) -> tuple[str, ...]:
        secret = (self.config.client_secret,) if self.config.client_secret else ()
        return secret + self.auth.secrets()

    # ----------------------------------------------------------------------- flows

    async def list_flows(self) -> list[JsonObject]:
        """Every flow of the store (all pages)."""
        return await self._list("/v2/flows")

    async def get_flow(self, flow_id: str) -> JsonObject:
        """One flow by id (404 -> NotFoundError)."""
        return await self._get(f"/v2/flows/{_segment(flow_id)}")

    async def create_flow(self, attrs: Mapping[str, Any]) -> JsonObject:
        """Create a flow; adopt the flow of that slug if a lost answer had been applied."""
        slug = attrs.get("slug")

        async def find() -> JsonObject | None:
            return next((f for f in await self.list_flows() if f.get("slug") == slug), None)

        sent = _with_required(
            _without_keys(attrs), api.FLOW_CREATE_REQUIRED, api.FLOW_SERVER_DEFAULTS
        )

        def differs(found: JsonObject) -> list[str]:
            return _differences(
                flow_attributes(flow_from_api({**sent, "slug": slug})),
                flow_attributes(flow_from_api(found)),
            )

        body = {"data": {**sent, "type": "flow"}}
        if not isinstance(slug, str):
            return await self._create("/v2/flows", body, None)
        return await self._create("/v2/flows", body, find, (f"flow `{slug}`", differs))

    async def update_flow(self, flow_id: str, attrs: Mapping[str, Any]) -> JsonObject:
        """Partial update (PUT sends `id` and `type`, §3.5)."""
        body = {"data": {**_without_keys(attrs), "type": "flow", "id": flow_id}}
        return await self._put(f"/v2/flows/{_segment(flow_id)}", body)

    async def delete_flow(self, flow_id: str) -> None:
        """Delete a flow (a 404 after a lost answer means it is done)."""
        await self._delete(f"/v2/flows/{_segment(flow_id)}")

    # ----------------------------------------------------------------------- fields

    async def list_fields(self) -> list[JsonObject]:
        """Every field of every flow (GET /v2/fields, all pages)."""
        return await self._list("/v2/fields")

    async def list_flow_fields(self, flow_slug: str) -> list[JsonObject]:
        """The fields of one flow, by the flow's slug (§4.1)."""
        return await self._list(f"/v2/flows/{_segment(flow_slug)}/fields")

    async def create_field(self, flow_id: str, attrs: Mapping[str, Any]) -> JsonObject:
        """Create a field in a flow; adopt the flow's field of that slug after a lost answer."""
        slug = attrs.get("slug")

        async def find() -> JsonObject | None:
            try:
                flow = await self.get_flow(flow_id)
            except NotFoundError:
                return None
            flow_slug = flow.get("slug")
            if not isinstance(flow_slug, str):
                return None
            fields = await self.list_flow_fields(flow_slug)
            return next((f for f in fields if f.get("slug") == slug), None)

        def differs(found: JsonObject) -> list[str]:
            return _differences(
                field_attributes(field_from_api({**sent, "slug": slug})),
                field_attributes(field_from_api(found)),
            )

        relationships = {"flow": {"data": {"type": "flow", "id": flow_id}}}
        sent = _with_required(
            _without_keys(attrs), api.FIELD_CREATE_REQUIRED, api.FIELD_SERVER_DEFAULTS
        )
        data = {**sent, "type": "field", "relationships": relationships}
        if not slug:
            return await self._create("/v2/fields", {"data": data}, None)
        what = f"field `{slug}` of flow {flow_id}"
        return await self._create("/v2/fields", {"data": data}, find, (what, differs))

    async def update_field(self, field_id: str, attrs: Mapping[str, Any]) -> JsonObject:
        """Partial update of a field (never its `field_type` or flow, §4.6)."""
        body = {"data": {**_without_keys(attrs), "type": "field", "id": field_id}}
        return await self._put(f"/v2/fields/{_segment(field_id)}", body)

    async def delete_field(self, field_id: str) -> None:
        """Delete a field (its stored values go with it, §4.8)."""
        await self._delete(f"/v2/fields/{_segment(field_id)}")

    # ----------------------------------------------------------------------- customers, entries

    async def create_customer(self, attrs: Mapping[str, Any]) -> JsonObject:
        """Create a customer; after a lost answer adopt one with the same email and attributes.

        Emails need not be unique (§6), so a customer is adopted only when every attribute
        sent matches, except those it does not show: the password (never returned) and keys
        the store drops (no enabled field of the customers flow, §0) or omits (`omit_null`).
        """
        sent = _without_keys(attrs)
        email_address = sent.get("email")

        async def find() -> JsonObject | None:
            found = await self.list_customers(filter=f"eq(email,{email_address})")
            comparable = {k: v for k, v in sent.items() if k != "password"}
            return next(
                (c for c in found if all(c[k] == v for k, v in comparable.items() if k in c)),
                None,
            )

        body = {"data": {**sent, "type": "customer"}}
        usable = isinstance(email_address, str) and "," not in email_address
        return await self._create("/v2/customers", body, find if usable else None)

    async def get_customer(self, customer_id: str) -> JsonObject:
        """One customer with its custom fields flat beside the core attributes (§5.3)."""
        return await self._get(f"/v2/customers/{_segment(customer_id)}")

    async def update_customer(self, customer_id: str, attrs: Mapping[str, Any]) -> JsonObject:
        """Partial update of a customer."""
        body = {"data": {**_without_keys(attrs), "type": "customer", "id": customer_id}}
        return await self._put(f"/v2/customers/{_segment(customer_id)}", body)

    async def list_customers(self, filter: str | None = None) -> list[JsonObject]:
        """Customers, optionally filtered (`eq(email,x)`; custom fields are not filterable)."""
        params = {"filter": filter} if filter else None
        return await self._list("/v2/customers", params)

    async def create_entry(self, flow_slug: str, attrs: Mapping[str, Any]) -> JsonObject:
        """Create an entry in a custom flow; adopt it by id after a lost answer.

        The API uses an `id` sent on create (§5.1); the client sends a fresh UUID when the
        caller gave none, so a lost answer can be checked by reading that id back.
        """
        data = {k: v for k, v in attrs.items() if k != "type"}
        entry_id = data.get("id")
        if not isinstance(entry_id, str) or not entry_id:
            entry_id = str(uuid.uuid4())
            data["id"] = entry_id

        async def find() -> JsonObject | None:
            try:
                return await self.get_entry(flow_slug, entry_id)
            except NotFoundError:
                return None

        body = {"data": {**data, "type": "entry"}}
        return await self._create(f"/v2/flows/{_segment(flow_slug)}/entries", body, find)

    async def get_entry(self, flow_slug: str, entry_id: str) -> JsonObject:
        """One entry of a flow."""
        return await self._get(f"/v2/flows/{_segment(flow_slug)}/entries/{_segment(entry_id)}")

    async def list_entries(self, flow_slug: str) -> list[JsonObject]:
        """Every entry of a flow (all pages)."""
        return await self._list(f"/v2/flows/{_segment(flow_slug)}/entries")

    async def count_entries(self, flow_slug: str) -> int:
        """How many entries a flow holds: one `page[limit]=1` read of `meta.results.total`
        (§2.2, §5.1); a reply without it (§0: unpaginated) is counted in full."""
        path = f"/v2/flows/{_segment(flow_slug)}/entries"
        response = await self._request("GET", path, params={"page[limit]": "1"})
        body = _json_body("GET", path, response)
        meta = body.get("meta")
        total = _int_at(meta, "results", "total") if isinstance(meta, Mapping) else None
        if total is not None:
            return total
        data = body.get("data")
        if isinstance(data, list) and not data:
            return 0
        return len(await self.list_entries(flow_slug))

    # ----------------------------------------------------------------------- verbs

    async def _get(self, path: str) -> JsonObject:
        response = await self._request("GET", path)
        return _data_object("GET", path, response)

    async def _put(self, path: str, body: JsonObject) -> JsonObject:
        """A partial update. PUT is idempotent, so a lost answer is simply re-sent; when the
        answer to the last attempt is lost too, the object is read back and the update counts
        as done if the store holds every attribute sent (issue 10 item 4)."""
        sent = _without_keys(body.get("data") or {})

        async def verify() -> JsonObject | None:
            try:
                stored = await self._get(path)
            except ProvisionerError:
                return None  # the read-back failed too: report the PUT's own failure
            return stored if _holds(stored, sent) else None

        outcome = await self._send("PUT", path, json_body=body, verify=verify)
        if isinstance(outcome, _Adopted):
            return outcome.data
        return _data_object("PUT", path, outcome)

    async def _delete(self, path: str) -> None:
        await self._request("DELETE", path, missing_ok_on_retry=True)

    async def _create(
        self,
        path: str,
        body: JsonObject,
        find: Finder | None,
        concurrent: tuple[str, Differ] | None = None,
    ) -> JsonObject:
        """POST a create; `concurrent` (what, differs) makes a duplicate refusal cooperative.

        A duplicate refusal that `_send` did not adopt (none of our attempts can have applied
        it) means another writer created the object since our plan: it is read back and
        adopted when `differs` finds no attribute that differs from what we sent, else the
        error says that another writer changed the store.
        """
        try:
            outcome = await self._send("POST", path, json_body=body, find=find)
        except ApiError as error:
            if find is None or concurrent is None or error.status not in DUPLICATE_STATUSES:
                raise
            found = await find()
            if found is None:
                raise
            what, differs = concurrent
            different = differs(found)
            if different:
                raise ConcurrentChangeError(error, what, different) from None
            self.stats.converged += 1
            log.info(
                "POST %s: %s already exists as desired (another writer made it); adopting %s",
                path,
                what,
                found.get("id", "?"),
            )
            return found
        if isinstance(outcome, _Adopted):
            return outcome.data
        return _data_object("POST", path, outcome)

    async def _list(self, path: str, params: Mapping[str, str] | None = None) -> list[JsonObject]:
        """Every record of a list (§2.2), ids de-duplicated.

        The first page says how many records there are (`meta.results.total`); the other pages
        are then requested at once, paced by the rate limit and the in-flight bound, and the
        records read must number exactly that total, or `IncompleteListError` (the list changed
        while it was read, or the store did not serve every page): a short list is never
        returned as if it were whole. A list whose last page lies beyond the documented
        `page[offset]` maximum raises `ListTooLongError` before any further page is asked
        for. Without a total (or with a lower bound), pages are read one after the other until
        one comes back short, empty or repeated; without `meta` the reply is the whole list.
        """
        first, meta = await self._page(path, params, 0)
        if meta is None:
            return first  # an unpaginated reply is the whole list (§2.2, §0)
        total = _int_at(meta, "results", "total")
        method = _str_at(meta, "results", "total_method")
        if total is None or method not in (None, "exact"):
            return await self._list_in_sequence(path, params, first, meta)
        size = _int_at(meta, "page", "limit") or PAGE_LIMIT
        if 0 < len(first) < min(size, total):
            size = len(first)  # the server's page is smaller than it says
        offsets = range(size, total, size) if first else range(0)
        if offsets and offsets[-1] > self.max_page_offset:
            raise ListTooLongError(path, total, self.max_page_offset, size)
        pages = await asyncio.gather(*(self._page(path, params, offset) for offset in offsets))
        items = _unique_by_id([first, *(page for page, _ in pages)])
        if len(items) != total:
            raise IncompleteListError(path, len(items), total)
        return items

    async def _list_in_sequence(
        self,
        path: str,
        params: Mapping[str, str] | None,
        first: list[JsonObject],
        meta: Mapping[str, Any],
    ) -> list[JsonObject]:
        """Pages one after the other, for a list without an exact total."""
        items: list[JsonObject] = []
        seen: set[str] = set()
        page, offset = first, 0
        for _ in range(MAX_PAGES):
            fresh = 0
            for item in page:
                key = item.get("id")
                if isinstance(key, str):
                    if key in seen:
                        continue
                    seen.add(key)
                items.append(item)
                fresh += 1
            if page and not fresh:  # the same page again: the server ignores page[offset]
                log.debug("%s does not seem to support pagination", path)
                return items
            limit = _int_at(meta, "page", "limit") or PAGE_LIMIT
            offset += len(page)
            if not page or len(page) < limit:
                return items
            if offset > self.max_page_offset:
                raise ListTooLongError(path, None, self.max_page_offset, limit)
            page, next_meta = await self._page(path, params, offset)
            if next_meta is None:
                return _unique_by_id([items, page])
            meta = next_meta
        raise _malformed("GET", path, 200, f"more than {MAX_PAGES} pages")

    async def _page(
        self, path: str, params: Mapping[str, str] | None, offset: int
    ) -> tuple[list[JsonObject], Mapping[str, Any] | None]:
        """One page: its records and its `meta` (None when the reply has none)."""
        query = {**(params or {}), "page[limit]": str(PAGE_LIMIT), "page[offset]": str(offset)}
        response = await self._request("GET", path, params=query)
        body = _json_body("GET", path, response)
        data = body.get("data")
        if not isinstance(data, list):
            raise _malformed("GET", path, response.status_code, "`data` is not a list")
        if not all(isinstance(item, dict) for item in data):
            raise _malformed("GET", path, response.status_code, "a list item is not an object")
        meta = body.get("meta")
        return data, meta if isinstance(meta, Mapping) else None

    # ----------------------------------------------------------------------- sending

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: JsonObject | None = None,
        missing_ok_on_retry: bool = False,
    ) -> httpx.Response:
        outcome = await self._send(
            method,
            path,
            params=params,
            json_body=json_body,
            missing_ok_on_retry=missing_ok_on_retry,
        )
        assert isinstance(outcome, httpx.Response)  # only a create with `find` adopts
        return outcome

    async def _fetch_token(self) -> Mapping[str, Any]:
        """The token call (§1.1): client credentials with a secret, the implicit grant without."""
        form = {"grant_type": "implicit", "client_id": self.config.client_id}
        if self.config.client_secret is not None:
            form["grant_type"] = "client_credentials"
            form["client_secret"] = self.config.client_secret
        outcome = await self._send("POST", TOKEN_PATH, form=form)
        assert isinstance(outcome, httpx.Response)
        return _json_body("POST", TOKEN_PATH, outcome, error_type=AuthError)

    async def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: JsonObject | None = None,
        form: Mapping[str, str] | None = None,
        find: Finder | None = None,
        verify: Finder | None = None,
        missing_ok_on_retry: bool = False,
    ) -> httpx.Response | _Adopted:
        """Send with retries; the heart of the client.

        `form` marks the token call (no bearer token, any failure an AuthError). `find` makes
        a create retry-safe: once an attempt may have been applied (its answer was lost: a
        timeout or broken connection after sending, or a 5xx), `find` is asked before every
        re-send and after a "duplicate" refusal, and what it finds is adopted. `verify` (an
        update) is asked once, when every attempt is spent and one may have been applied: what
        it returns means the write is in the store. The read-backs are part of this request's
        budget: they run within its deadline, and a create's read-back that fails is one
        failed attempt, after which the whole is tried again (read back, then re-send if
        absent).

        The budget: at most `max_attempts` failed attempts and `deadline` seconds, end to end
        (waiting for an in-flight place and for the pace, the token call, the retries). A 429
        is not a failed attempt: the pace of the whole client slows down and the request is
        sent again at the new pace; it gives up only when no request of the client succeeded
        for `deadline` seconds. Once the store has answered, refused and reset connections are
        not failed attempts either, until the store has been silent for `reconnect_deadline`
        seconds (a store restarting).
        """
        token_call = form is not None
        if not token_call and method != "GET" and self.read_only:
            raise ReadOnlyError(
                f"{method} {path} needs client credentials: set EPCC_CLIENT_SECRET (or"
                " --client-secret); without a secret the implicit grant can only read"
            )
        config = self.config
        liveness = self._liveness
        started = time.monotonic()
        budget_from = started  # the deadline counts from here; a 429 (an answer) moves it
        outer_end = _OPERATION_END.get()  # a read-back shares its operation's deadline
        maybe_applied = False
        response: httpx.Response | None = None
        failure: BaseException | None = None
        failed = 0  # failed attempts: what max_attempts bounds
        sent = 0  # attempts made
        streak = 0  # consecutive failures, for the backoff
        why = ""  # why the loop gave up, beyond the attempts

        def end() -> float:
            own = budget_from + config.deadline
            return own if outer_end is None else min(own, outer_end)

        while True:
            if maybe_applied and find is not None:
                try:
                    found = await self._read_back(find, end())
                except _READ_BACK_RETRYABLE as error:
                    failed += 1
                    streak += 1
                    delay = self._backoff(streak)
                    if failed >= config.max_attempts or time.monotonic() + delay >= end():
                        raise
                    log.info(
                        "%s %s: reading back whether the lost answer was applied failed (%s);"
                        " trying again in %.2f s",
                        method,
                        path,
                        error,
                        delay,
                    )
                    self.stats.retries += 1
                    self.stats.backoff_seconds += delay
                    await asyncio.sleep(delay)
                    continue
                if found is not None:
                    return self._adopt(method, path, found)
            remaining = end() - time.monotonic()
            if sent > 0 and remaining <= 0:
                why = "deadline"
                break
            if liveness.silent_mark is not None and liveness.last_answer <= liveness.silent_mark:
                raise TransportError(
                    f"{method} {path} failed: timeout: the store did not answer within"
                    f" {config.deadline:g} s (another request waited that long; not sent)"
                )
            sent += 1
            retry_after: float | None = None
            counts = True  # a failed attempt, as max_attempts counts them
            wire = _Wire()
            wire_token = _WIRE.set(wire)
            try:
                async with asyncio.timeout(max(remaining, 0.001)):
                    response = await self._http.request(
                        method,
                        path,
                        params=params,
                        json=json_body,
                        data=form,
                        auth=None if token_call else self.auth,
                        timeout=max(min(config.timeout, remaining), 0.001),
                    )
                failure = None
            except TimeoutError as error:  # the deadline ran out: waiting, token call or answer
                maybe_applied = maybe_applied or wire.sent
                if response is not None or (failure is not None and not wire.sent):
                    # The store answered (or failed) an earlier attempt: that stands.
                    if not wire.sent:
                        sent -= 1
                else:
                    response, failure = None, error
                why = "deadline"
                break
            except _RETRYABLE_TRANSPORT as error:
                response, failure = None, error
                maybe_applied = maybe_applied or not isinstance(error, _NOT_SENT)
                cause = classify_transport_error(error, self._where)
                if not cause.retryable:  # cannot heal within the run: say so at once
                    raise TransportError(
                        f"{method} {path} failed: {cause.kind}: {redact(cause.cause)}"
                    ) from None
                if liveness.reached and connection_failure(error):
                    silent = time.monotonic() - liveness.last_answer
                    if silent >= config.reconnect_deadline:
                        why = "unreachable"
                        break
                    counts = False  # the store answered before: wait for it to come back
                    delay = min(RECONNECT_BACKOFF_MAX, self._backoff(streak + 1))
                else:
                    delay = self._backoff(streak + 1)
            except httpx.HTTPError as error:  # not worth retrying: a local or protocol fault
                raise TransportError(
                    f"{method} {path} failed: {type(error).__name__}: "
                    f"{redact(str(error), self._secrets())}"
                ) from None
            finally:
                _WIRE.reset(wire_token)
            if response is not None:
                status = response.status_code
                if 300 <= status < 400:
                    raise self._redirect(method, path, response)
                if status < 400:
                    return response
                if status == 404 and missing_ok_on_retry and maybe_applied:
                    return response  # the delete whose answer was lost had been applied
                if status not in RETRY_STATUSES:
                    if find is not None and maybe_applied and status in DUPLICATE_STATUSES:
                        found = await self._read_back(find, end())
                        if found is not None:
                            return self._adopt(method, path, found)
                    raise self._error(method, path, response, token_call)
                retry_after = parse_retry_after(response.headers.get("retry-after"))
                if status == 429:
                    # Not a failure: the store is there and asks us to slow down, which the
                    # pacer does for the whole client. Give up only if it refuses everything.
                    counts = False
                    now = time.monotonic()
                    budget_from = now
                    delay = retry_after if retry_after is not None else 0.0
                    refusing = now - max(started, liveness.last_success)
                    if refusing + delay >= config.deadline:
                        why = "refused"
                        break
                    if retry_after is not None:
                        # Only a wait this request will sit out holds back the others.
                        self.pacer.pause(retry_after)
                else:
                    maybe_applied = maybe_applied or status >= 500
                    delay = retry_after if retry_after is not None else self._backoff(streak + 1)
            if counts:
                failed += 1
                streak += 1
                if failed >= config.max_attempts:
                    break
            else:
                streak = 0 if response is not None else streak + 1
            if time.monotonic() + delay >= end():
                why = "deadline"
                break
            what = (
                str(response.status_code)
                if response is not None
                else (
                    classify_transport_error(failure, self._where).cause
                    if failure is not None and not isinstance(failure, TimeoutError)
                    else _kind(failure)
                )
            )
            log.info(
                "retrying %s %s after %s (%d failed attempt%s of %d) in %.2f s",
                method,
                path,
                what,
                failed,
                "" if failed == 1 else "s",
                config.max_attempts,
                delay,
            )
            self.stats.retries += 1
            if response is not None and response.headers.get("retry-after") is not None:
                self.stats.retry_after_seconds += delay
            else:
                self.stats.backoff_seconds += delay
            if delay > 0:
                await asyncio.sleep(delay)
        # Out of attempts or time. A create that may have been applied is checked one last
        # time (if time is left), so a lost answer on the final attempt is not a failure.
        if maybe_applied and find is not None and end() > time.monotonic():
            found = await self._read_back(find, end())
            if found is not None:
                return self._adopt(method, path, found)
        if maybe_applied and verify is not None and end() > time.monotonic():
            found = await self._read_back(verify, end())
            if found is not None:
                return self._adopt(method, path, found)
        elapsed = time.monotonic() - started
        note = f"gave up after {sent} attempt{'s' if sent != 1 else ''} in {elapsed:.1f} s"
        if response is not None:
            if why == "refused" and response.headers.get("retry-after") is None:
                rate = self.pacer.rate()
                note += (
                    f": the store kept refusing at {rate:.3g} req/s and no request succeeded"
                    f" for {config.deadline:g} s; set a lower EPCC_RATE_LIMIT"
                    f" (now {config.rate_limit:g} req/s)"
                )
            raise self._error(method, path, response, token_call, note)
        if why == "deadline" and isinstance(failure, TimeoutError | httpx.TimeoutException):
            if liveness.last_answer < started:
                liveness.silent_mark = liveness.last_answer
            raise TransportError(
                f"{method} {path} failed: timeout: the store did not answer within"
                f" {config.deadline:g} s ({note})"
            )
        if failure is None:
            raise TransportError(f"{method} {path} failed: no answer: {note}")
        last = classify_transport_error(failure, self._where)
        if why == "unreachable":
            raise TransportError(
                f"{method} {path} failed: {last.kind}: {redact(last.cause)}; the store could"
                f" not be reached for {config.reconnect_deadline:g} s ({note})"
            )
        raise TransportError(f"{method} {path} failed: {last.kind}: {redact(last.cause)}; {note}")

    async def _read_back(self, find: Finder, end: float) -> JsonObject | None:
        """Ask `find` whether a lost create was applied, within the operation's deadline."""
        token = _OPERATION_END.set(end)
        try:
            return await find()
        finally:
            _OPERATION_END.reset(token)

    def _redirect(self, method: str, path: str, response: httpx.Response) -> ApiError:
        """A 3xx: the API never redirects, so the base URL points at the wrong place."""
        location = response.headers.get("location", "").strip()
        where = ""
        if location:
            target = display_url(str(response.request.url.join(location)))
            where = f" to {target}"
        detail = (
            f"the store redirects{where}: set EPCC_API_BASE_URL to the API root it names "
            "(the API itself never redirects)"
        )
        return ApiError(
            method,
            path,
            response.status_code,
            response.reason_phrase or _phrase(response.status_code),
            redact(detail, self._secrets()),
            response.headers.get("x-moltin-request-id") or None,
        )

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with full jitter."""
        exponent = min(max(attempt - 1, 0), 30)
        cap = min(self.config.backoff_max, self.config.backoff_base * 2**exponent)
        return self._random.uniform(0, cap)

    def _adopt(self, method: str, path: str, found: JsonObject) -> _Adopted:
        self.stats.adopted += 1
        log.info(
            "%s %s: the lost answer had been applied; adopting %s %s",
            method,
            path,
            found.get("type", "object"),
            found.get("id", "?"),
        )
        return _Adopted(found)

    def _error(
        self,
        method: str,
        path: str,
        response: httpx.Response,
        token_call: bool,
        note: str = "",
    ) -> ApiError:
        if token_call and response.status_code in (400, 401, 403):
            hint = "check EPCC_CLIENT_ID and EPCC_CLIENT_SECRET"
            note = f"{note}; {hint}" if note else hint
        return error_from_response(
            method,
            path,
            response,
            error_type=AuthError if token_call else None,
            secrets=self._secrets(),
            note=note,
        )


# --------------------------------------------------------------------------- helpers


def _segment(value: str) -> str:
    """A path segment, escaped; PXM template slugs keep their parentheses (§3.4)."""
    return quote(value, safe="()-_.~")


def _without_keys(attrs: Mapping[str, Any]) -> JsonObject:
    return {k: v for k, v in attrs.items() if k not in ("type", "id")}


def _with_required(
    attrs: JsonObject, required: Iterable[str], defaults: Mapping[str, Any]
) -> JsonObject:
    """A create body holding every key spec 25.1201 requires: a key the caller left out takes
    the API's default (`description: ""`, `enabled: true`, `required: false`)."""
    missing = {k: defaults[k] for k in required if k not in attrs and k in defaults}
    return {**attrs, **missing}


def _holds(stored: Mapping[str, Any], sent: Mapping[str, Any]) -> bool:
    """True when an object read back holds every attribute a PUT sent.

    Null and `""` are one value (the API stores an empty default or description either way,
    4.3); a key the object does not show counts only if null was sent (`omit_null`); the
    password is never returned (6).
    """
    for key, value in sent.items():
        if key == "password":
            continue
        have = stored.get(key)
        if have == value or (value in (None, "") and have in (None, "")):
            continue
        return False
    return True


def _int_at(mapping: Mapping[str, Any], *keys: str) -> int | None:
    node: Any = mapping
    for key in keys:
        if not isinstance(node, Mapping):
            return None
        node = node.get(key)
    if isinstance(node, bool):
        return None
    if isinstance(node, int):
        return node
    if isinstance(node, str) and node.strip().isdigit():
        return int(node)
    return None


def _json_body(
    method: str,
    path: str,
    response: httpx.Response,
    *,
    error_type: type[ApiError] = ApiError,
) -> JsonObject:
    try:
        body = response.json()
    except ValueError:
        raise error_type(
            method, path, response.status_code, "Malformed response", "the body is not JSON"
        ) from None
    if not isinstance(body, dict):
        raise error_type(
            method, path, response.status_code, "Malformed response", "the body is not an object"
        )
    return body


def _data_object(method: str, path: str, response: httpx.Response) -> JsonObject:
    data = _json_body(method, path, response).get("data")
    if not isinstance(data, dict):
        raise _malformed(method, path, response.status_code, "`data` is not an object")
    return data
