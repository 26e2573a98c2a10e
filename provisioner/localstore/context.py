"""What one store's layers and handlers share: storage, credentials, tokens, knobs, stats.

`create_app` makes one `StoreContext` per store; the handlers reach it through `context(request)`
and the layers are given it when they are composed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.routing import BaseRoute, Match
from starlette.types import Scope

from provisioner.localstore.auth import Tokens, ensure_credentials
from provisioner.localstore.faults import Faults
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
