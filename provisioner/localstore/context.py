"""What one store's layers and handlers share: storage, credentials, tokens, knobs, stats.

`create_app` makes one `StoreContext` per store; the handlers reach it through `context(request)`
and the layers are given it when they are composed. `run` runs a storage call in a worker
thread; `serve_item` is the item route's shape both APIs' handlers share.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match
from starlette.types import Scope

from provisioner.localstore.auth import Tokens, ensure_credentials
from provisioner.localstore.faults import Faults
from provisioner.localstore.problems import json_response
from provisioner.localstore.settings import StoreSettings
from provisioner.localstore.storage import Storage

TOKEN_ROUTE = "/oauth/access_token"
STATS_ROUTE = "/v2/local-store/stats"


class StoreContext:
    """Everything one store's handlers and layers share."""

    def __init__(self, db_path: str | Path, settings: StoreSettings) -> None:
        self.settings = settings
        self.storage = Storage(db_path)
        credentials = ensure_credentials(self.storage, settings.client_id, settings.client_secret)
        self.client_id = credentials.client_id
        self.client_secret = credentials.client_secret
        self.tokens = Tokens(self.storage, settings.token_ttl, credentials.client_secret)
        self.faults = Faults(settings)
        self.stats: Counter[tuple[str, str, int]] = Counter()
        self.routes: list[BaseRoute] = []

    def route_of(self, scope: Scope) -> str | None:
        """The path pattern a request matches (a PARTIAL match: the method is wrong)."""
        partial = None
        for route in self.routes:
            match, _ = route.matches(scope)
            if match is Match.FULL:
                return getattr(route, "path", None)
            if match is Match.PARTIAL and partial is None:
                partial = getattr(route, "path", None)
        return partial


def context(request: Request) -> StoreContext:
    ctx: StoreContext = request.app.state.store
    return ctx


async def run(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """One storage transaction in a worker thread (SQLite calls block)."""
    return await run_in_threadpool(function, *args, **kwargs)


async def serve_item(
    request: Request,
    update: Callable[[], Awaitable[Any]],
    delete: Callable[[], Any],
    get: Callable[[], Any],
    render: Callable[[Request, Any], dict[str, Any]],
) -> Response:
    """`PUT` (`update` reads and checks the body, then stores it), `DELETE` (204) or `GET` one
    object; `delete` and `get` are storage calls, run in a worker thread."""
    if request.method == "PUT":
        found = await update()
    elif request.method == "DELETE":
        await run(delete)
        return Response(status_code=204)
    else:
        found = await run(get)
    return json_response({"data": render(request, found)})
