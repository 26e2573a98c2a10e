"""The local store: an EPCC-compatible API server on SQLite (issue 3).

It is the other side of the wire: it imports nothing from the planner, applier or client, only
the API's facts (`provisioner.epcc`), the rules and the errors. Public API (interface 2 of the
team brief):

- `StoreSettings`: the knobs (latency, rate limit, failures, lost answers, token lifetime).
- `create_app(db_path, settings)`: the starlette app.
- `local_credentials(db_path)`: the client id and secret the store accepts.
- `embedded_transport(db_path, settings)`: an in-process httpx transport (the CLI default).
- `running_server(db_path, settings, host, port)`: uvicorn in a thread; yields the base URL.

The names are loaded on first use, so a caller that needs only the checks
(`provisioner.localstore.validation`) or the storage imports neither starlette nor uvicorn.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from provisioner.localstore.app import create_app
    from provisioner.localstore.auth import local_credentials
    from provisioner.localstore.context import STATS_ROUTE, TOKEN_ROUTE
    from provisioner.localstore.server import embedded_transport, running_server
    from provisioner.localstore.settings import StoreSettings

# Each public name and the module that defines it.
_PUBLIC = {
    "STATS_ROUTE": "provisioner.localstore.context",
    "TOKEN_ROUTE": "provisioner.localstore.context",
    "StoreSettings": "provisioner.localstore.settings",
    "create_app": "provisioner.localstore.app",
    "embedded_transport": "provisioner.localstore.server",
    "local_credentials": "provisioner.localstore.auth",
    "running_server": "provisioner.localstore.server",
}

__all__ = [
    "STATS_ROUTE",
    "TOKEN_ROUTE",
    "StoreSettings",
    "create_app",
    "embedded_transport",
    "local_credentials",
    "running_server",
]


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
