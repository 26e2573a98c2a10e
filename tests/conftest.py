"""Shared fixtures (the helpers behind them are in tests/support/).

- `local_store`: a fresh, healthy store (every knob off) over a real socket, in a temporary
  directory.
- `local_store_factory(**settings_kwargs)`: stores with knobs (`StoreSettings` keywords), each
  stopped at the end of the test.
- `api`: an `httpx.Client` on `local_store`, authorised with a token minted in the database
  (so the store's statistics count only the test's own requests).
- `cli(*args, env={...})`: the CLI run in-process -> `CliResult`; store variables start unset.

The stores are `support.store.LocalStore` objects: `.base_url`, `.client_id`,
`.client_secret`, `.db_path`, `.stats()`, `.write_count()`, `.reset_stats()`, `.token()`,
`.headers()`, `.env()`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from support import STORE_VARIABLES, Cli, CliResult
from support.store import LocalStore, start_store

from provisioner.cli import main


@pytest.fixture
def local_store_factory(tmp_path: Path) -> Iterator[Callable[..., LocalStore]]:
    """Start stores with knobs: `local_store_factory(fail_rate=0.3, seed=1)`."""
    with ExitStack() as stack:
        count = 0

        def start(**settings_kwargs: Any) -> LocalStore:
            nonlocal count
            count += 1
            return start_store(stack, tmp_path / f"store-{count}", **settings_kwargs)

        yield start


@pytest.fixture
def local_store(local_store_factory: Callable[..., LocalStore]) -> LocalStore:
    """A fresh store over a real socket, every knob off."""
    return local_store_factory()


@pytest.fixture
def api(local_store: LocalStore) -> Iterator[httpx.Client]:
    """A client of `local_store`'s raw API, with a token the store's statistics do not count."""
    with httpx.Client(
        base_url=local_store.base_url, headers=local_store.headers(), timeout=30
    ) as client:
        yield client


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
