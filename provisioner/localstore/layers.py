"""The local store's middleware: one ASGI layer per job, composed in one place (`LAYERS`).

Every request passes the layers in this order, outermost first; its answer goes back through
them in reverse:

1. `RequestId`: names the request (an id, its route pattern) for the layers below and stamps
   `X-Moltin-Request-Id` on every answer (2.6).
2. `Stats`: counts every answer by method, route pattern and status, for the stats route.
3. `Latency`: `latency_ms` added before anything else happens.
4. `RateLimit`: beyond the token bucket, 429 at once (`Retry-After` only when configured).
5. `InjectedFailures`: `fail_rate` of the requests answered 500/502/503/429, with no effect.
6. `Auth`: `/v2` routes need a valid bearer token; implicit tokens only read (8.2, 8.3, 1.3).
7. `LostWrites`: `lost_write_rate` of the successful writes committed, then the answer dropped.
8. `LastResort`: an unexpected exception becomes a 500 with the error body; a client that went
   away mid-body gets no answer (nothing was written: bodies are read before a transaction).

Exemptions (a choice, documented in README "The local store"): the stats route skips 3, 4, 5
and 7 and is never counted, so tests can rely on it; the token route gets latency and the rate
limit, like every call to the real API (2.5), but no injected failure or lost answer: it
changes nothing, and `fail_rate` stays a statement about API calls. A seeded store draws in a
fixed order per request (failure, then lost answer), on the event loop only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from dataclasses import dataclass

from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from provisioner.epcc.flows import CORE_FLOW_SLUGS
from provisioner.localstore.context import STATS_ROUTE, TOKEN_ROUTE, StoreContext
from provisioner.localstore.faults import LostWrite
from provisioner.localstore.problems import error_response

log = logging.getLogger(__name__)

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
UNMATCHED_ROUTE = "(unmatched)"
_CALL = "local_store_call"  # where RequestId leaves the `Call` in the scope's state


@dataclass(frozen=True)
class Call:
    """One request as the layers see it."""

    request_id: str
    method: str
    path: str
    route: str | None  # the route pattern it matches, None when it matches none

    @property
    def exempt(self) -> bool:
        """The stats route: exempt from every knob and never counted."""
        return self.route == STATS_ROUTE


class Layer:
    """An ASGI middleware doing one job for HTTP requests (others pass through untouched)."""

    def __init__(self, app: ASGIApp, ctx: StoreContext) -> None:
        self.app = app
        self.ctx = ctx

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.handle(scope["state"][_CALL], scope, receive, send)

    async def handle(self, call: Call, scope: Scope, receive: Receive, send: Send) -> None:
        raise NotImplementedError


class RequestId(Layer):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        call = Call(str(uuid.uuid4()), scope["method"], scope["path"], self.ctx.route_of(scope))
        scope.setdefault("state", {})[_CALL] = call
        header = (b"x-moltin-request-id", call.request_id.encode("ascii"))

        async def stamped(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), header]
            await send(message)

        await self.app(scope, receive, stamped)


class Stats(Layer):
    async def handle(self, call: Call, scope: Scope, receive: Receive, send: Send) -> None:
        if call.exempt:
            await self.app(scope, receive, send)
            return
        stats = self.ctx.stats

        async def counted(message: Message) -> None:
            if message["type"] == "http.response.start":
                stats[(call.method, call.route or UNMATCHED_ROUTE, int(message["status"]))] += 1
            await send(message)

        await self.app(scope, receive, counted)


class Latency(Layer):
    async def handle(self, call: Call, scope: Scope, receive: Receive, send: Send) -> None:
        seconds = self.ctx.faults.latency_seconds
        if seconds and not call.exempt:
            await asyncio.sleep(seconds)
        await self.app(scope, receive, send)


class RateLimit(Layer):
    async def handle(self, call: Call, scope: Scope, receive: Receive, send: Send) -> None:
        faults = self.ctx.faults
        if not call.exempt and faults.rate_limited():
            response = error_response(
                429, "Rate limit exceeded", headers=faults.retry_after_header(), path=call.path
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


class InjectedFailures(Layer):
    async def handle(self, call: Call, scope: Scope, receive: Receive, send: Send) -> None:
        faults = self.ctx.faults
        status = None
        if not call.exempt and call.route != TOKEN_ROUTE:
            status = faults.injected_failure()
        if status is None:
            await self.app(scope, receive, send)
            return
        response = error_response(
            status,
            "Injected failure (local store fail_rate)",
            headers=faults.retry_after_header() if status == 429 else None,
            request_id=call.request_id,
            path=call.path,
        )
        await response(scope, receive, send)


class Auth(Layer):
    async def handle(self, call: Call, scope: Scope, receive: Receive, send: Send) -> None:
        refusal = self.refusal(scope, call) if call.path.startswith("/v2") else None
        if refusal is None:
            await self.app(scope, receive, send)
        else:
            await refusal(scope, receive, send)

    def refusal(self, scope: Scope, call: Call) -> Response | None:
        """8.2/8.3: a valid bearer token; implicit tokens only read flows and fields."""
        headers = dict(scope.get("headers") or [])
        header = headers.get(b"authorization", b"").decode("latin-1").strip()
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return error_response(
                401,
                "A bearer access token is required.",
                "Unable to validate access token",
                path=call.path,
            )
        grant = self.ctx.tokens.grant_of(token)
        if grant is None:
            return error_response(
                401,
                "The access token is invalid or has expired.",
                "Unable to validate access token",
                path=call.path,
            )
        scope["state"]["grant"] = grant
        if grant == "implicit" and not implicit_allowed(call.method, call.path):
            return error_response(
                403,
                "An implicit token can only read flows and fields.",
                "Forbidden",
                path=call.path,
            )
        return None


def implicit_allowed(method: str, path: str) -> bool:
    """1.3: implicit tokens read `/flows` (and fields); core-flow entries are resource data."""
    if path == STATS_ROUTE:
        return True
    if method not in ("GET", "HEAD"):
        return False
    parts = path.strip("/").split("/")
    if parts[:2] == ["v2", "fields"]:
        return True
    if parts[:2] != ["v2", "flows"]:
        return False
    return not (len(parts) >= 4 and parts[3] == "entries" and parts[2] in CORE_FLOW_SLUGS)


class LostWrites(Layer):
    async def handle(self, call: Call, scope: Scope, receive: Receive, send: Send) -> None:
        lose = (
            call.method in WRITE_METHODS
            and call.path.startswith("/v2")
            and not call.exempt
            and self.ctx.faults.lose_answer()
        )
        if not lose:
            await self.app(scope, receive, send)
            return

        async def dropping(message: Message) -> None:
            status = int(message.get("status", 0))
            if message["type"] == "http.response.start" and 200 <= status < 300:
                await drop_answer(call, message, send)
            await send(message)

        await self.app(scope, receive, dropping)


async def drop_answer(call: Call, start: Message, send: Send) -> None:
    """The write is committed: send the status line and drop the connection before the body,
    so the client never sees a complete answer (issue 3: lost writes)."""
    if start["status"] == 204:
        # A 204 is complete with its status line, so none is sent. ASGI cannot close a
        # connection unanswered (raising first makes the server answer 500), but a header name
        # HTTP forbids makes uvicorn (h11 and httptools) refuse the start before writing a
        # byte; the LostWrite below then closes the connection.
        start = {**start, "headers": [*start.get("headers", []), (b"lost answer", b"")]}
        with contextlib.suppress(Exception):
            await send(start)
    else:
        await send(start)
    raise LostWrite(f"{call.method} {call.path}: answer dropped after commit (lost_write_rate)")


class LastResort(Layer):
    async def handle(self, call: Call, scope: Scope, receive: Receive, send: Send) -> None:
        messages: list[Message] = []

        async def capture(message: Message) -> None:
            messages.append(message)

        try:
            await self.app(scope, receive, capture)
        except ClientDisconnect:
            # The client went away mid-body (e.g. a killed apply): nobody to answer, and
            # nothing was written (the body is read before any transaction starts).
            log.debug("local store: client disconnected during %s %s", call.method, call.path)
            return
        except Exception:
            log.exception("local store: unexpected error on %s %s", call.method, call.path)
            messages.clear()
            response = error_response(
                500,
                "There was an internal server error, you can report with your request id.",
                request_id=call.request_id,
                path=call.path,
            )
            await response(scope, receive, capture)
        for message in messages:  # outside the try: a dropped answer is no internal error
            await send(message)


# The layers, outermost first (the order the module docstring explains).
LAYERS: tuple[type[Layer], ...] = (
    RequestId,
    Stats,
    Latency,
    RateLimit,
    InjectedFailures,
    Auth,
    LostWrites,
    LastResort,
)


def middleware(ctx: StoreContext) -> list[Middleware]:
    """The store's middleware stack for starlette, in `LAYERS` order."""
    return [Middleware(layer, ctx=ctx) for layer in LAYERS]
