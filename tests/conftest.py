"""Shared fixtures: local stores over a real socket (owner: H-store).

- `local_store`: a fresh, healthy store (every knob off) in a temporary directory.
- `local_store_factory(**settings_kwargs)`: stores with knobs (`StoreSettings` keywords), each
  stopped at the end of the test.

Both give a `LocalStore`: `.base_url`, `.client_id`, `.client_secret`, `.db_path`, `.stats()`
(the stats route's `data`), `.write_count()` (POST/PUT/DELETE on `/v2`, the stats route
excluded), `.reset_stats()` and `.token()`. The fixture reads the stats with a token minted
directly in the database, so reading them never adds a request to what they count.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from support import STORE_VARIABLES, Cli, CliResult, store_env

from provisioner.cli import main
from provisioner.localstore import STATS_ROUTE, StoreSettings, local_credentials, running_server
from provisioner.localstore.auth import Tokens
from provisioner.localstore.storage import Storage

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


@pytest.fixture
def local_store_factory(tmp_path: Path) -> Iterator[Callable[..., LocalStore]]:
    """Start stores with knobs: `local_store_factory(fail_rate=0.3, seed=1)`."""
    with ExitStack() as stack:
        count = 0

        def start(**settings_kwargs: Any) -> LocalStore:
            nonlocal count
            count += 1
            db_path = tmp_path / f"store-{count}" / "local-store.sqlite"
            settings = StoreSettings(**settings_kwargs)
            client_id, client_secret = local_credentials(
                db_path, settings.client_id, settings.client_secret
            )
            base_url = stack.enter_context(running_server(db_path, settings))
            return LocalStore(base_url, client_id, client_secret, db_path)

        yield start


@pytest.fixture
def local_store(local_store_factory: Callable[..., LocalStore]) -> LocalStore:
    """A fresh store over a real socket, every knob off."""
    return local_store_factory()


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Cli:
    """Run the CLI in-process: `cli(*args, env={...})` -> CliResult; store variables start unset."""

    def run(*args: Any, env: Mapping[str, str] | None = None) -> CliResult:
        with monkeypatch.context() as patch:
            for name in STORE_VARIABLES:
                patch.delenv(name, raising=False)
            for name, value in (env or {}).items():
                patch.setenv(name, value)
            capsys.readouterr()
            with pytest.raises(SystemExit) as exited:
                main([str(arg) for arg in args])
        out, err = capsys.readouterr()
        code = exited.value.code
        return CliResult(code if isinstance(code, int) else 1, out, err)

    return run
