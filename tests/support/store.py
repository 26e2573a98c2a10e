"""The local store as tests use it: a running store's handle and raw-HTTP helpers.

`LocalStore` (what the `local_store` and `local_store_factory` fixtures give): `.base_url`,
`.client_id`, `.client_secret`, `.db_path`, `.stats()` (the stats route's `data`),
`.write_count()` (POST/PUT/DELETE on `/v2`, the stats route excluded), `.reset_stats()`,
`.token()`, `.headers()` and `.env()`. The stats are read with a token minted directly in the
database, so reading them never adds a request to what they count.
"""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from provisioner.localstore import STATS_ROUTE, StoreSettings, local_credentials, running_server
from provisioner.localstore.auth import Tokens
from provisioner.localstore.storage import Storage
from provisioner.localstore.validation import FIELD_DEFAULTS
from support import store_env

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass
class LocalStore:
    """A running local store and what a test needs to talk to it."""

    base_url: str
    client_id: str
    client_secret: str = field(repr=False)
    db_path: Path
    _token: str | None = field(default=None, repr=False)

    def token(self) -> str:
        """A client_credentials token minted in the database (no HTTP request, not counted)."""
        if self._token is None:
            self._token = str(
                Tokens(Storage(self.db_path), 3600).issue("client_credentials")["access_token"]
            )
        return self._token

    def env(self, *, secret: bool = True) -> dict[str, str]:
        """The environment that points the CLI at this store (implicit grant without secret)."""
        return store_env(self.base_url, self.client_id, self.client_secret if secret else None)

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token()}"}

    def stats(self) -> dict[str, Any]:
        """`{"total": N, "requests": [{"method", "route", "status", "count"}, ...]}`."""
        response = httpx.get(self.base_url + STATS_ROUTE, headers=self.headers(), timeout=10)
        response.raise_for_status()
        data: dict[str, Any] = response.json()["data"]
        return data

    def reset_stats(self) -> None:
        httpx.delete(self.base_url + STATS_ROUTE, headers=self.headers(), timeout=10)

    def write_count(self) -> int:
        """Writes served: POST/PUT/DELETE on /v2 routes, whatever their status."""
        return sum(
            item["count"]
            for item in self.stats()["requests"]
            if item["method"] in WRITE_METHODS
            and item["route"].startswith("/v2")
            and item["route"] != STATS_ROUTE
        )


def start_store(stack: ExitStack, directory: Path, **settings_kwargs: Any) -> LocalStore:
    """Start a store over a real socket, its database in `directory`, stopped with `stack`."""
    db_path = directory / "local-store.sqlite"
    settings = StoreSettings(**settings_kwargs)
    client_id, client_secret = local_credentials(
        db_path, settings.client_id, settings.client_secret
    )
    base_url = stack.enter_context(running_server(db_path, settings))
    return LocalStore(base_url, client_id, client_secret, db_path)


# --------------------------------------------------------------------------- raw HTTP helpers


def token_for(store: LocalStore, grant: str = "client_credentials") -> str:
    """A token fetched over HTTP (counted by the store), its answer's shape checked."""
    form = {"grant_type": grant, "client_id": store.client_id}
    if grant == "client_credentials":
        form["client_secret"] = store.client_secret
    response = httpx.post(f"{store.base_url}/oauth/access_token", data=form)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["identifier"] == grant
    assert len(body["access_token"]) == 40
    return str(body["access_token"])


def flow_body(slug: str, **extra: Any) -> dict[str, Any]:
    data = {"type": "flow", "name": slug.title(), "slug": slug, "description": "", "enabled": True}
    return {"data": {**data, **extra}}


def field_body(flow_id: str, slug: str, field_type: str = "string", **extra: Any) -> dict[str, Any]:
    data = {
        "type": "field",
        "name": slug,
        "slug": slug,
        "field_type": field_type,
        "description": "",
        "required": False,
        "relationships": {"flow": {"data": {"type": "flow", "id": flow_id}}},
    }
    return {"data": {**data, **extra}}


def create_flow(api: httpx.Client, slug: str) -> dict[str, Any]:
    response = api.post("/v2/flows", json=flow_body(slug))
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def assert_error(response: httpx.Response, status: int, title: str | None = None) -> None:
    assert response.status_code == status, response.text
    error = response.json()["errors"][0]
    assert error["status"] == status
    assert error["detail"]
    if title is not None:
        assert error["title"] == title
    assert response.headers["x-moltin-request-id"]


def add_fields_directly(store: LocalStore, flow_id: str, count: int) -> None:
    """Fill a flow quickly through the storage layer (the HTTP path is tested elsewhere)."""
    storage = Storage(store.db_path)
    for index in range(count):
        attrs = {**FIELD_DEFAULTS, "name": "n", "slug": f"f{index}", "field_type": "string"}
        storage.create_field(flow_id, attrs)
