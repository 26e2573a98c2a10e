"""The store's access token, as an `httpx.Auth`: fetched once, shared, refreshed, never shown.

`TokenAuth` puts `Authorization: Bearer <token>` on every API request. One token serves every
concurrent request: the first request to need one fetches it under an `asyncio.Lock` and the
others wait for that same token, or share its error if the call fails (epcc-api.md §1.2).
It is refreshed 60 s before it expires (the epcc-cli rule, §1.2), and when a request is
answered 401 anyway (a revoked token, clock trouble) the token is refreshed once and the
request sent again (the js-sdk `reauth` rule, §1.2).

Fetching is delegated to a coroutine supplied by `provisioner.client.session`, so the token
call goes through the same rate limit, retries and error mapping as every other request. The
token value never appears in a repr, an error or a log line: `TokenAuth.secrets()` lists the
values the client's log redaction must hide.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from provisioner.errors import AuthError

TOKEN_PATH = "/oauth/access_token"
# epcc-cli refreshes while `now + 60 >= expires` (epcc-api.md §1.2).
REFRESH_MARGIN = 60.0
# "Authentication tokens ... expire within 1 hour" (§1.2): the lifetime assumed when a token
# response gives none.
DEFAULT_LIFETIME = 3600.0
# How many past token values stay on the redaction list after a refresh.
_REMEMBERED_TOKENS = 8

TokenFetcher = Callable[[], Awaitable[Mapping[str, Any]]]


@dataclass(frozen=True)
class Token:
    """An access token and the moment (on the monotonic clock) we stop using it."""

    value: str = field(repr=False)
    refresh_at: float
    identifier: str


def _number(value: object) -> float | None:
    """A JSON number or numeric string as a float; anything else (bool included) as None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def parse_token(
    body: Mapping[str, Any],
    *,
    sent_at: float,
    monotonic_now: float,
    wall_now: float,
    refresh_margin: float = REFRESH_MARGIN,
) -> Token:
    """Read a token response: top-level fields (§1.2), or defensively a `data` wrapper.

    The lifetime is the shorter of `expires_in` (counted from when the request was sent, so
    network time only shortens it) and `expires` (an epoch, read against our wall clock). The
    refresh margin is 60 s, but never more than half the lifetime, so a short-lived token
    (a test store's `token_ttl`) is still used for a while before it is refreshed.
    """
    payload: Mapping[str, Any] = body
    wrapped = body.get("data")
    if "access_token" not in body and isinstance(wrapped, Mapping):
        payload = wrapped
    value = payload.get("access_token")
    if not isinstance(value, str) or not value:
        raise AuthError(
            "POST",
            TOKEN_PATH,
            200,
            "Malformed token response",
            "the token endpoint answered without an access_token",
        )
    lifetimes: list[float] = []
    expires_in = _number(payload.get("expires_in"))
    if expires_in is not None:
        lifetimes.append(expires_in - (monotonic_now - sent_at))
    expires = _number(payload.get("expires"))
    if expires is not None:
        lifetimes.append(expires - wall_now)
    lifetime = min(lifetimes) if lifetimes else DEFAULT_LIFETIME
    lifetime = max(lifetime, 0.0)
    margin = min(refresh_margin, lifetime / 2)
    identifier = payload.get("identifier")
    return Token(
        value=value,
        refresh_at=monotonic_now + lifetime - margin,
        identifier=identifier if isinstance(identifier, str) else "",
    )


class TokenAuth(httpx.Auth):
    """Bearer-token authentication shared by every request of one client (async only).

    `fetch` performs the token call and returns its decoded JSON body; it raises `AuthError`
    when the store refuses the credentials. `clock` is the monotonic clock used for expiry
    (a test may freeze it to make the store see an expired token).
    """

    def __init__(
        self,
        fetch: TokenFetcher,
        *,
        refresh_margin: float = REFRESH_MARGIN,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._fetch = fetch
        self._refresh_margin = refresh_margin
        self.clock = clock
        self.wall_clock = wall_clock
        self._token: Token | None = None
        self._lock = asyncio.Lock()
        # Token calls finished, and the error of the last one if it failed: requests that
        # waited for a failing call share its error instead of each calling again in turn.
        self._calls = 0
        self._failure: Exception | None = None
        self._seen: list[str] = []
        self.fetches = 0

    def __repr__(self) -> str:
        state = "no token" if self._token is None else f"token {self._token.identifier or 'set'}"
        return f"TokenAuth({state})"

    def secrets(self) -> tuple[str, ...]:
        """Token values handed out so far (recent ones), for log redaction."""
        return tuple(self._seen)

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response]:
        raise RuntimeError("TokenAuth is async only: use it with httpx.AsyncClient")

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token = await self.token()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            # A token we believed valid was refused: refresh once and send again (§1.2, §9).
            # A second 401 goes back to the caller, which reports it as an AuthError.
            fresh = await self.refresh(stale=token)
            request.headers["Authorization"] = f"Bearer {fresh}"
            yield request

    async def token(self) -> str:
        """The current token, fetched (once, for all waiters) when missing or about to expire."""
        current = self._token
        if current is not None and self.clock() < current.refresh_at:
            return current.value
        calls = self._calls
        async with self._lock:
            current = self._token
            if current is not None and self.clock() < current.refresh_at:
                return current.value
            return await self._fetch_locked(calls)

    async def refresh(self, stale: str) -> str:
        """Replace `stale` with a new token, unless a concurrent request already did."""
        calls = self._calls
        async with self._lock:
            current = self._token
            if current is not None and current.value != stale:
                return current.value
            return await self._fetch_locked(calls)

    async def _fetch_locked(self, calls_seen: int) -> str:
        """Fetch a token, unless a call made while this request waited failed: share that."""
        if self._calls != calls_seen and self._failure is not None:
            raise self._failure
        self._failure = None  # a cancelled call leaves none: its waiters then call again
        sent_at = self.clock()
        try:
            body = await self._fetch()
            token = parse_token(
                body,
                sent_at=sent_at,
                monotonic_now=self.clock(),
                wall_now=self.wall_clock(),
                refresh_margin=self._refresh_margin,
            )
        except Exception as error:
            self._failure = error
            raise
        finally:
            self._calls += 1
        self.fetches += 1
        self._token = token
        self._seen.append(token.value)
        del self._seen[:-_REMEMBERED_TOKENS]
        return token.value
