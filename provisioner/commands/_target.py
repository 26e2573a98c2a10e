"""Which store a command talks to: the shared click options and `open_client`.

`plan`, `apply` and `export` take the same options (`store_options`) and open their client
with `open_client`. A store is configured by `EPCC_API_BASE_URL` (or `--base-url`) and the
client credentials (`epcc-api.md` 1.6); with none, the commands use the embedded local store
in-process (no port, a SQLite file at `.provisioner/local-store.sqlite`) and say so on the first
line of stderr, so nobody mistakes it for a real store. With `CI` set and no store configured
they refuse unless `--local` is given: a pipeline must never "succeed" against the wrong store.
"""

from __future__ import annotations

import functools
import os
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import click

from provisioner.client import Client, ClientConfig
from provisioner.errors import TargetError

DEFAULT_DB = Path(".provisioner") / "local-store.sqlite"
# The embedded store has no rate limit of its own; the client's default (sized for the real
# API, epcc-api.md 2.5) would only slow it down.
EMBEDDED_RATE_LIMIT = 1000.0
EMBEDDED_BASE_URL = "http://local-store.invalid"

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Target:
    """The store options of one command invocation."""

    base_url: str | None = None
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    rate_limit: float | None = None
    local: bool = False
    db: Path = DEFAULT_DB
    verbose: bool = False

    @property
    def embedded(self) -> bool:
        """True when the command runs on the embedded local store."""
        return self.local or not self.base_url


def _ci(env: Mapping[str, str]) -> bool:
    return env.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def store_options(func: F) -> F:
    """Add the store options to a click command; it receives them as `target: Target`."""

    @functools.wraps(func)
    def wrapper(
        *args: Any,
        base_url: str | None,
        client_id: str | None,
        client_secret: str | None,
        rate_limit: float | None,
        local: bool,
        db: Path,
        verbose: bool,
        **kwargs: Any,
    ) -> Any:
        target = Target(
            base_url=base_url or None,
            client_id=client_id or None,
            client_secret=client_secret or None,
            rate_limit=rate_limit,
            local=local,
            db=db,
            verbose=verbose,
        )
        return func(*args, target=target, **kwargs)

    options = [
        click.option(
            "--base-url",
            envvar="EPCC_API_BASE_URL",
            metavar="URL",
            help="API base URL of the store (env EPCC_API_BASE_URL). "
            "Without it: the embedded local store.",
        ),
        click.option(
            "--client-id", envvar="EPCC_CLIENT_ID", metavar="ID", help="Env EPCC_CLIENT_ID."
        ),
        click.option(
            "--client-secret",
            envvar="EPCC_CLIENT_SECRET",
            metavar="SECRET",
            show_default=False,
            show_envvar=False,
            help="Env EPCC_CLIENT_SECRET (prefer the variable: arguments show in `ps`).",
        ),
        click.option(
            "--rate-limit",
            envvar="EPCC_RATE_LIMIT",
            type=click.FloatRange(min=0, min_open=True),
            metavar="RPS",
            help="Requests per second at most (env EPCC_RATE_LIMIT).",
        ),
        click.option(
            "--local",
            is_flag=True,
            help="Use the embedded local store even if a store is configured (or CI is set).",
        ),
        click.option(
            "--db",
            type=click.Path(dir_okay=False, path_type=Path),
            default=DEFAULT_DB,
            show_default=True,
            help="The embedded local store's SQLite file.",
        ),
        click.option("--verbose", "-v", is_flag=True, help="Show request statistics."),
    ]
    decorated: Any = wrapper
    for option in reversed(options):
        decorated = option(decorated)
    return decorated  # type: ignore[no-any-return]


def describe(target: Target) -> str:
    """The first line of output: which store this run talks to."""
    if target.embedded:
        return (
            f"Using the embedded local store at {target.db} "
            "(set EPCC_API_BASE_URL to use a real store)."
        )
    return f"Using the store at {target.base_url}."


@asynccontextmanager
async def open_client(
    target: Target,
    env: Mapping[str, str] | None = None,
    *,
    announce: bool = True,
    max_in_flight: int | None = None,
) -> AsyncIterator[Client]:
    """A connected `Client` for the target; says which store on stderr first (`announce`).

    `max_in_flight` raises the client's bound on concurrent requests (apply's `--parallelism`);
    the rate limit still applies to all of them.
    """
    env = os.environ if env is None else env
    if not target.base_url and not target.local and _ci(env):
        raise TargetError(
            "CI is set and no store is configured: set EPCC_API_BASE_URL, EPCC_CLIENT_ID and "
            "EPCC_CLIENT_SECRET, or pass --local to use the embedded local store on purpose."
        )
    if announce:
        click.echo(describe(target), err=True)
    overrides: dict[str, Any] = {}
    if max_in_flight is not None:
        overrides["max_in_flight"] = max_in_flight
    if target.rate_limit is not None:
        overrides["rate_limit"] = target.rate_limit
    if target.embedded:
        # Imported here: only the embedded path needs the store (and its starlette/sqlite).
        from provisioner.localstore import embedded_transport, local_credentials

        target.db.parent.mkdir(parents=True, exist_ok=True)
        client_id, client_secret = local_credentials(target.db)
        config = ClientConfig(
            **{
                "rate_limit": EMBEDDED_RATE_LIMIT,
                **overrides,
                "base_url": EMBEDDED_BASE_URL,
                "client_id": client_id,
                "client_secret": client_secret,
            }
        )
        async with Client(config, transport=embedded_transport(target.db)) as client:
            yield client
        return
    if target.client_id:
        overrides["client_id"] = target.client_id
    if target.client_secret:
        overrides["client_secret"] = target.client_secret
    config = ClientConfig.from_env(env, base_url=target.base_url, **overrides)
    async with Client(config) as client:
        yield client
