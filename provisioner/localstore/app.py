"""The local store's HTTP API: `create_app(db_path, settings)` builds one store.

The pieces, each in its module:

- `layers`: the middleware, one ASGI layer per job (request id, stats, latency, rate limit,
  injected failures, auth, lost writes, last-resort 500), composed in one documented order;
- `handlers` (flows, fields, entries, customers, token, stats) and `extensions_routes`
  (Commerce Extensions): parse and check the request, run one storage transaction in a worker
  thread, render the answer;
- `problems.error_answer`: the one place domain errors (`errors`) and `Problem`s become the
  error body of the API the request belongs to.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from provisioner.localstore import handlers as h
from provisioner.localstore.context import STATS_ROUTE, TOKEN_ROUTE, StoreContext
from provisioner.localstore.errors import StoreError
from provisioner.localstore.extensions_routes import routes as extension_routes
from provisioner.localstore.layers import middleware
from provisioner.localstore.problems import Problem, error_answer, error_response
from provisioner.localstore.settings import DEFAULT_SETTINGS, StoreSettings

__all__ = ["STATS_ROUTE", "TOKEN_ROUTE", "create_app"]

ITEM = ["GET", "PUT", "DELETE"]
COLLECTION = ["GET", "POST"]


def routes() -> list[BaseRoute]:
    entry = "/v2/flows/{flow_slug}/entries/{entry_id}"
    return [
        Route(TOKEN_ROUTE, h.token_endpoint, methods=["POST"]),
        Route(STATS_ROUTE, h.stats_endpoint, methods=["GET", "DELETE"]),
        Route("/v2/flows", h.collection_endpoint(h.FLOWS), methods=COLLECTION),
        Route("/v2/flows/{flow_id}", h.item_endpoint(h.FLOWS), methods=ITEM),
        Route("/v2/flows/{flow_slug}/fields", h.collection_endpoint(h.FIELDS), methods=["GET"]),
        Route("/v2/fields", h.collection_endpoint(h.FIELDS), methods=COLLECTION),
        Route("/v2/fields/{field_id}", h.item_endpoint(h.FIELDS), methods=ITEM),
        Route("/v2/flows/{flow_slug}/entries", h.entries_endpoint, methods=COLLECTION),
        Route(entry, h.entry_endpoint, methods=ITEM),
        Route(
            entry + "/relationships/{field_slug}",
            h.relationships_endpoint,
            methods=["POST", "PUT", "DELETE"],
        ),
        Route("/v2/customers", h.collection_endpoint(h.CUSTOMERS), methods=COLLECTION),
        Route("/v2/customers/{customer_id}", h.item_endpoint(h.CUSTOMERS), methods=ITEM),
        *extension_routes(),  # Commerce Extensions (epcc-api.md 10)
    ]


async def on_error(request: Request, exc: Exception) -> Response:
    """A domain error or a `Problem`, in the words of the API the request belongs to."""
    assert isinstance(exc, StoreError | Problem)
    return error_answer(exc, request.url.path)


async def on_http_exception(request: Request, exc: Exception) -> Response:
    """Starlette's own 404/405 (unknown route, wrong method) with the standard error body."""
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        detail = f"No such route: {request.method} {request.url.path}"
    elif exc.status_code == 405:
        detail = f"{request.method} is not allowed on {request.url.path}"
    else:
        detail = str(exc.detail)
    return error_response(exc.status_code, detail, headers=exc.headers, path=request.url.path)


def create_app(db_path: str | Path, settings: StoreSettings = DEFAULT_SETTINGS) -> Starlette:
    """A local store over the SQLite database at `db_path` (created if missing)."""
    ctx = StoreContext(db_path, settings)
    handlers: Mapping[Any, Callable[[Request, Exception], Awaitable[Response]]] = {
        Problem: on_error,
        StoreError: on_error,
        HTTPException: on_http_exception,
    }
    app = Starlette(
        routes=routes(),
        middleware=middleware(ctx),
        exception_handlers=dict(handlers),
    )
    app.router.redirect_slashes = False
    ctx.routes = list(app.router.routes)
    app.state.store = ctx
    return app
