"""`provisioner serve`: run the local store over HTTP (issue 3).

Binds to loopback unless told otherwise and keeps its data in SQLite, so it survives restarts.
Credentials come from `EPCC_CLIENT_ID`/`EPCC_CLIENT_SECRET` when set; otherwise a pair is
generated on first start, kept in the database and printed once with the export lines to copy
(`--print-credentials` prints them again on demand). The fault knobs are off unless given.
"""

from __future__ import annotations

import ipaddress
import math
import os
import socket
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from click.core import ParameterSource

from provisioner.project import DEFAULT_DB_PATH

if TYPE_CHECKING:
    from provisioner.localstore.auth import Credentials

DEFAULT_PORT = 8710
DEFAULT_HOST = "127.0.0.1"
# The address the store was last served on, kept in its database for --print-credentials.
SERVED_URL_KEY = "served_base_url"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _credentials(db_path: Path, client_id: str | None, client_secret: str | None) -> Credentials:
    """The store's credentials (generated on first use); a database that cannot be used is a
    clean error, not a traceback."""
    from provisioner.localstore.auth import ensure_credentials
    from provisioner.localstore.storage import Storage

    try:
        return ensure_credentials(Storage(db_path), client_id, client_secret)
    except (OSError, sqlite3.Error) as error:
        raise click.ClickException(f"cannot open the database {db_path}: {error}") from error


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to `host:port` and listening, with TCP_NODELAY.

    Created with `IPPROTO_TCP` explicitly: asyncio turns Nagle's algorithm off only on sockets
    whose `proto` says TCP, and an accepted connection inherits the listener's. With `proto` 0
    every answer written in two parts (headers, then body) waited for the client's delayed
    ACK: about 40 ms per request on a kept-alive connection (issue 10).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((host, port))
        sock.listen(128)
    except (OSError, OverflowError) as error:
        sock.close()
        raise click.ClickException(f"cannot listen on {host}:{port}: {error}") from error
    return sock


def _base_url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _served_url(db_path: Path) -> str | None:
    """The address this database was last served on, if any (never fails: a hint only)."""
    from provisioner.localstore.storage import Storage

    try:
        storage = Storage(db_path)
        with storage.transaction(write=False) as conn:
            return storage.get_setting(conn, SERVED_URL_KEY)
    except (OSError, sqlite3.Error):
        return None


def _remember_url(db_path: Path, base_url: str) -> None:
    """Keep the address for `--print-credentials`; a read-only database is served without it
    (reads, tokens, `plan` and `export` work; writes are answered 503 naming the cause)."""
    from provisioner.localstore.errors import StoreFailure
    from provisioner.localstore.storage import Storage

    try:
        storage = Storage(db_path)
        with storage.transaction(write=True) as conn:
            storage.set_setting(conn, SERVED_URL_KEY, base_url)
    except StoreFailure as error:
        if error.kind != "read-only":
            raise click.ClickException(f"cannot open the database {db_path}: {error}") from error
        click.echo(
            f"Warning: the database {db_path} is read-only: serving reads only (writes are "
            "answered 503).",
            err=True,
        )
    except (OSError, sqlite3.Error) as error:
        raise click.ClickException(f"cannot open the database {db_path}: {error}") from error


def _export_lines(base_url: str, client_id: str, client_secret: str) -> str:
    return (
        f"  export EPCC_API_BASE_URL={base_url}\n"
        f"  export EPCC_CLIENT_ID={client_id}\n"
        f"  export EPCC_CLIENT_SECRET={client_secret}"
    )


class _Knob(click.FloatRange):
    """A knob's number: within its range and finite (`nan` passes every comparison)."""

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number


@click.command("serve")
@click.option("--host", default=DEFAULT_HOST, show_default=True, help="Interface to bind.")
@click.option(
    "--port",
    default=DEFAULT_PORT,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="0: any free port.",
)
@click.option(
    "--db",
    "db_path",
    default=DEFAULT_DB_PATH,
    show_default=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="SQLite database file (created if missing).",
)
@click.option(
    "--latency-ms",
    type=_Knob(0, 60_000),
    default=0,
    help="Added to every request (at most a minute).",
)
@click.option("--rate-limit", type=_Knob(min=0, min_open=True), help="Requests/s; 429 beyond.")
@click.option("--retry-after", type=_Knob(0, 3600), help="Retry-After seconds on 429s.")
@click.option(
    "--fail-rate",
    type=_Knob(0, 1),
    default=0,
    help="Fraction answered 5xx/429, no effect.",
)
@click.option(
    "--lost-write-rate",
    type=_Knob(0, 1),
    default=0,
    help="Fraction of writes committed, then the connection dropped.",
)
@click.option(
    "--token-ttl",
    type=click.IntRange(min=1),
    default=3600,
    show_default=True,
    help="Lifetime of issued tokens, in seconds.",
)
@click.option("--seed", type=int, help="Seed for the knobs' random draws (reproducible runs).")
@click.option(
    "--print-credentials",
    is_flag=True,
    help="Print the export lines for this store's credentials and exit (with the address it "
    "was last served on, unless --host/--port say otherwise).",
)
def command(
    host: str,
    port: int,
    db_path: Path,
    latency_ms: float,
    rate_limit: float | None,
    retry_after: float | None,
    fail_rate: float,
    lost_write_rate: float,
    token_ttl: int,
    seed: int | None,
    print_credentials: bool,
) -> int:
    """Run the local store: an EPCC-compatible API on SQLite, for trying things out and tests.

    \b
    Examples:
      provisioner serve                                 http://127.0.0.1:8710
      provisioner serve --port 0 --db /tmp/store.sqlite
      provisioner serve --latency-ms 20 --rate-limit 100 --fail-rate 0.1 --seed 1
    It prints its credentials once (export lines to copy); --print-credentials shows them again.
    """
    import uvicorn

    from provisioner.localstore import StoreSettings, create_app
    from provisioner.localstore.server import quiet_lost_writes

    # Whitespace around a variable's value never counts (as for plan, apply and export).
    client_id = os.environ.get("EPCC_CLIENT_ID", "").strip() or None
    client_secret = os.environ.get("EPCC_CLIENT_SECRET", "").strip() or None
    if print_credentials:
        credentials = _credentials(db_path, client_id, client_secret)
        # The address the store runs on: --host/--port when they name one, else where this
        # database was last served (`serve --port 0` picks a free port and records it).
        context = click.get_current_context()
        explicit = port != 0 and any(
            context.get_parameter_source(name) != ParameterSource.DEFAULT
            for name in ("host", "port")
        )
        served = None if explicit else _served_url(db_path)
        if served is None and port == 0:
            raise click.ClickException(
                f"{db_path} has not been served yet, and --port 0 names no port: give the "
                "port the store runs on (--port N)"
            )
        base_url = served or _base_url(host, port)
        click.echo(_export_lines(base_url, credentials.client_id, credentials.client_secret))
        return 0

    # Listen first: credentials generated now are shown once, so only by a start that serves.
    sock = listening_socket(host, port)
    try:
        credentials = _credentials(db_path, client_id, client_secret)
    except click.ClickException:
        sock.close()
        raise
    settings = StoreSettings(
        latency_ms=latency_ms,
        rate_limit=rate_limit,
        retry_after=retry_after,
        fail_rate=fail_rate,
        lost_write_rate=lost_write_rate,
        token_ttl=token_ttl,
        seed=seed,
        client_id=credentials.client_id,
        client_secret=credentials.client_secret,
    )
    base_url = _base_url(host, sock.getsockname()[1])
    try:
        _remember_url(db_path, base_url)
    except click.ClickException:
        sock.close()
        raise

    if not _is_loopback(host):
        click.echo(f"Warning: serving on {host}, reachable from other machines.", err=True)
    click.echo(f"Local store on {base_url} (database: {db_path})")
    if credentials.generated:
        click.echo(
            "Credentials generated for this store (kept in its database, shown only now):\n"
            + _export_lines(base_url, credentials.client_id, credentials.client_secret)
        )
    elif client_id and client_secret:
        click.echo("Credentials: EPCC_CLIENT_ID / EPCC_CLIENT_SECRET from the environment.")
    else:
        click.echo(
            f"Client id: {credentials.client_id} (the secret is kept in the database; "
            "`provisioner serve --print-credentials` prints the export lines)."
        )
    knobs = {
        name: value
        for name, value in (
            ("latency-ms", latency_ms),
            ("rate-limit", rate_limit),
            ("retry-after", retry_after),
            ("fail-rate", fail_rate),
            ("lost-write-rate", lost_write_rate),
        )
        if value
    }
    if knobs:
        click.echo("Knobs: " + ", ".join(f"--{k} {v:g}" for k, v in knobs.items()))
    click.echo("Press Ctrl+C to stop.")

    quiet_lost_writes()
    config = uvicorn.Config(
        create_app(db_path, settings), log_level="warning", access_log=False, lifespan="off"
    )
    uvicorn.Server(config).run(sockets=[sock])
    return 0
