"""`provisioner serve`: run the local store over HTTP (issue 3).

Binds to loopback unless told otherwise and keeps its data in SQLite, so it survives restarts.
Credentials come from `EPCC_CLIENT_ID`/`EPCC_CLIENT_SECRET` when set; otherwise a pair is
generated on first start, kept in the database and printed once with the export lines to copy
(`--print-credentials` prints them again on demand). The fault knobs are off unless given.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from provisioner.localstore.auth import Credentials

DEFAULT_PORT = 8710


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


def _export_lines(base_url: str, client_id: str, client_secret: str) -> str:
    return (
        f"  export EPCC_API_BASE_URL={base_url}\n"
        f"  export EPCC_CLIENT_ID={client_id}\n"
        f"  export EPCC_CLIENT_SECRET={client_secret}"
    )


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=int, help="0: any free port.")
@click.option(
    "--db",
    "db_path",
    default=".provisioner/local-store.sqlite",
    show_default=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="SQLite database file (created if missing).",
)
@click.option(
    "--latency-ms", type=click.FloatRange(min=0), default=0, help="Added to every request."
)
@click.option(
    "--rate-limit", type=click.FloatRange(min=0, min_open=True), help="Requests/s; 429 beyond."
)
@click.option("--retry-after", type=click.FloatRange(min=0), help="Retry-After seconds on 429s.")
@click.option(
    "--fail-rate",
    type=click.FloatRange(0, 1),
    default=0,
    help="Fraction answered 5xx/429, no effect.",
)
@click.option(
    "--lost-write-rate",
    type=click.FloatRange(0, 1),
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
    help="Print the export lines for this store's credentials and exit.",
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

    client_id = os.environ.get("EPCC_CLIENT_ID") or None
    client_secret = os.environ.get("EPCC_CLIENT_SECRET") or None
    if print_credentials:
        credentials = _credentials(db_path, client_id, client_secret)
        click.echo(
            _export_lines(f"http://{host}:{port}", credentials.client_id, credentials.client_secret)
        )
        return 0

    # Listen first: credentials generated now are shown once, so only by a start that serves.
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise click.ClickException(f"cannot listen on {host}:{port}: {error}") from error
    sock.listen(128)
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
    bound_port = sock.getsockname()[1]
    shown_host = f"[{host}]" if family == socket.AF_INET6 else host
    base_url = f"http://{shown_host}:{bound_port}"

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
