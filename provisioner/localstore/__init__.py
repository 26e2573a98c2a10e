"""The local store: an EPCC-compatible API server on SQLite (issue 3).

It is the other side of the wire: it imports nothing from the planner, applier or client, only
`provisioner.model`'s vocabularies. Public API (interface 2 of the team brief):

- `StoreSettings`: the knobs (latency, rate limit, failures, lost answers, token lifetime).
- `create_app(db_path, settings)`: the starlette app.
- `local_credentials(db_path)`: the client id and secret the store accepts.
- `embedded_transport(db_path, settings)`: an in-process httpx transport (the CLI default).
- `running_server(db_path, settings, host, port)`: uvicorn in a thread; yields the base URL.
"""

from provisioner.localstore.app import STATS_ROUTE, TOKEN_ROUTE, create_app
from provisioner.localstore.auth import local_credentials
from provisioner.localstore.server import embedded_transport, running_server
from provisioner.localstore.settings import StoreSettings

DEFAULT_DB_PATH = ".provisioner/local-store.sqlite"  # issue 3: in the working directory

__all__ = [
    "DEFAULT_DB_PATH",
    "STATS_ROUTE",
    "TOKEN_ROUTE",
    "StoreSettings",
    "create_app",
    "embedded_transport",
    "local_credentials",
    "running_server",
]
