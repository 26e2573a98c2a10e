"""Which store a command talks to: the shared click options and `open_client`.

`plan`, `apply` and `export` take the same options (`store_options`) and open their client
with `open_client`. A store is configured by `EPCC_API_BASE_URL` (or `--base-url`) and the
client credentials (`epcc-api.md` 1.6); with none, the commands use the embedded local store
in-process (no port, a SQLite file at `.provisioner/local-store.sqlite`) and say so on the first
line of stderr, so nobody mistakes it for a real store. With `CI` set and no store configured
they refuse unless `--local` is given: a pipeline must never "succeed" against the wrong store.

Which store is used never surprises (issue 10, README "Which store"): client credentials
without a base URL are refused (they mean a real store was intended), `--db` beside a
configured store is refused (it would be ignored), and the line naming the store names its
host or the embedded database. Every value is checked before that line and before any
request: a bad URL, port, rate limit or database is one line naming the value and its source.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
from click.core import ParameterSource

from provisioner.errors import TargetError
from provisioner.project import DEFAULT_DB_PATH

if TYPE_CHECKING:  # imported when a client is opened: `validate` never needs httpx (issue 16)
    from provisioner.client import Client

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
    db: Path = DEFAULT_DB_PATH
    verbose: bool = False
    db_given: bool = False
    # Where each value came from, for messages: "EPCC_CLIENT_ID" or "--client-id".
    sources: Mapping[str, str] = field(default_factory=dict)
    # Under `--env`: the project's variables, named in messages instead of EPCC_* (a 401:
    # "check PROD_EPCC_CLIENT_ID and PROD_EPCC_CLIENT_SECRET"; a write without a secret).
    credential_hint: str | None = None
    secret_hint: str | None = None

    def source(self, name: str) -> str:
        """Where the value of `name` came from: its variable or option, else its name."""
        return self.sources.get(name, "the " + name.replace("_", " "))

    @property
    def embedded(self) -> bool:
        """True when the command runs on the embedded local store."""
        return self.local or not self.base_url


def _ci(env: Mapping[str, str]) -> bool:
    return env.get("CI", "").strip().lower() not in ("", "0", "false", "no")


_VARIABLES = {
    "base_url": "EPCC_API_BASE_URL",
    "client_id": "EPCC_CLIENT_ID",
    "client_secret": "EPCC_CLIENT_SECRET",
}


def _clean(value: str | None) -> str | None:
    """Surrounding whitespace never counts (a secret pasted with its newline); blank = unset."""
    if value is None:
        return None
    return value.strip() or None


def rate_limit_option(
    _context: click.Context, _param: click.Parameter, value: str | None
) -> float | None:
    """`--rate-limit`: a number of requests per second within the client's bounds."""
    if value is None:
        return None
    try:
        from provisioner.storeurl import parse_rate_limit  # the bound the project file uses

        return parse_rate_limit(value, "--rate-limit")
    except TargetError as error:
        raise click.BadParameter(str(error).removeprefix("--rate-limit ")) from None


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
        context = click.get_current_context()
        sources = {}
        for name, variable in _VARIABLES.items():
            source = context.get_parameter_source(name)
            if source == ParameterSource.ENVIRONMENT:
                sources[name] = variable
            elif source == ParameterSource.COMMANDLINE:
                sources[name] = "--" + name.replace("_", "-")
        target = Target(
            base_url=_clean(base_url),
            client_id=_clean(client_id),
            client_secret=_clean(client_secret),
            rate_limit=rate_limit,
            local=local,
            db=db,
            verbose=verbose,
            db_given=context.get_parameter_source("db") != ParameterSource.DEFAULT,
            sources=sources,
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
            callback=rate_limit_option,
            metavar="RPS",
            help="Requests per second at most, 0.1 to 10000 (env EPCC_RATE_LIMIT).",
        ),
        click.option(
            "--local",
            is_flag=True,
            help="Use the embedded local store even if a store is configured (or CI is set).",
        ),
        click.option(
            "--db",
            type=click.Path(dir_okay=False, path_type=Path),
            default=DEFAULT_DB_PATH,
            show_default=True,
            help="The embedded local store's SQLite file (not with a configured store).",
        ),
        click.option("--verbose", "-v", is_flag=True, help="Show request statistics."),
    ]
    decorated: Any = wrapper
    for option in reversed(options):
        decorated = option(decorated)
    return decorated  # type: ignore[no-any-return]


def describe(target: Target) -> str:
    """The first line of output: which store this run talks to (its host, or the database)."""
    if target.embedded:
        return (
            f"Using the embedded local store at {target.db} "
            "(set EPCC_API_BASE_URL to use a real store)."
        )
    assert target.base_url is not None
    from provisioner.client import display_url

    return f"Using the store at {display_url(target.base_url)}."


def check_target(target: Target, env: Mapping[str, str]) -> None:
    """Refuse a combination of settings whose store would surprise (before any request)."""
    if target.local:
        return
    if not target.base_url:
        given = [target.source(n) for n in ("client_id", "client_secret") if getattr(target, n)]
        if given:
            names = " and ".join(given)
            verb = "are" if len(given) > 1 else "is"
            raise TargetError(
                f"{names} {verb} set but EPCC_API_BASE_URL is not: set EPCC_API_BASE_URL (or "
                "--base-url) to the store's API root, e.g. https://euwest.api.elasticpath.com, "
                "or pass --local to use the embedded local store."
            )
        if _ci(env):
            raise TargetError(
                "CI is set and no store is configured: set EPCC_API_BASE_URL, EPCC_CLIENT_ID "
                "and EPCC_CLIENT_SECRET, or pass --local to use the embedded local store on "
                "purpose."
            )
        return
    if target.db_given:
        from provisioner.client import display_url

        raise TargetError(
            f"--db {target.db} names the embedded local store, but a store is configured "
            f"({display_url(target.base_url)}, from {target.source('base_url')}): drop --db, "
            "or pass --local to use the embedded store."
        )


def _rate_limit(target: Target, env: Mapping[str, str]) -> float | None:
    """`--rate-limit`, else `EPCC_RATE_LIMIT` (checked, and named when it is wrong)."""
    if target.rate_limit is not None:
        return target.rate_limit
    value = env.get("EPCC_RATE_LIMIT")
    if value is None or not value.strip():
        return None
    from provisioner.client import parse_rate_limit

    return parse_rate_limit(value, "EPCC_RATE_LIMIT")


def _open_database(db: Path, source: str = "--db") -> tuple[str, str]:
    """The embedded store's credentials, or one clear error when `db` cannot be its database,
    naming where it was given (`source`: `--db`, or the project file's line).

    Nothing is written when it fails: a file that is not SQLite is left as it is.
    """
    import sqlite3  # here, with the local store: `validate` needs neither (issue 16)

    from provisioner.localstore import local_credentials

    for parent in (db.parent, *db.parent.parents):
        if parent.exists() or parent.is_symlink():
            if not parent.is_dir():
                raise TargetError(
                    f"cannot use {db} as the embedded store's database ({source}): {parent} is "
                    "not a directory"
                )
            break
    try:
        db.parent.mkdir(parents=True, exist_ok=True)
        return local_credentials(db)
    except sqlite3.DatabaseError as error:
        reason = str(error)
        if "not a database" in reason:
            reason = "the file is not a SQLite database"
        raise TargetError(
            f"cannot use {db} as the embedded store's database ({source}): {reason} "
            "(expected a SQLite file, or a new file in a writable directory)"
        ) from None
    except (OSError, sqlite3.Error) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        raise TargetError(
            f"cannot use {db} as the embedded store's database ({source}): {reason} "
            "(expected a SQLite file, or a new file in a writable directory)"
        ) from None


@asynccontextmanager
async def open_client(
    target: Target,
    env: Mapping[str, str] | None = None,
    *,
    announce: bool = True,
    max_in_flight: int | None = None,
    line: str | None = None,
) -> AsyncIterator[Client]:
    """A connected `Client` for the target; says which store on stderr first (`announce`:
    `line`, e.g. the environment's, else `describe(target)`).

    Every setting is checked before that line. `max_in_flight` raises the client's bound on
    concurrent requests (apply's `--parallelism`); the rate limit still applies to all of them.
    """
    from provisioner.client import Client, ClientConfig, check_base_url

    env = os.environ if env is None else env
    check_target(target, env)
    overrides: dict[str, Any] = {}
    if max_in_flight is not None:
        overrides["max_in_flight"] = max_in_flight
    rate_limit = _rate_limit(target, env)
    if rate_limit is not None:
        overrides["rate_limit"] = rate_limit
    if target.embedded:
        # Imported here: only the embedded path needs the store (and its starlette/sqlite).
        from provisioner.localstore import embedded_transport

        client_id, client_secret = _open_database(target.db, target.sources.get("db", "--db"))
        config = ClientConfig(
            **{
                "rate_limit": EMBEDDED_RATE_LIMIT,
                **overrides,
                "base_url": EMBEDDED_BASE_URL,
                "client_id": client_id,
                "client_secret": client_secret,
            }
        )
        if announce:
            click.echo(line or describe(target), err=True)
        with pacing_log(target.verbose):
            async with Client(config, transport=embedded_transport(target.db)) as client:
                yield client
        return
    assert target.base_url is not None
    base_url = check_base_url(target.base_url, target.source("base_url"))
    if target.client_id:
        overrides["client_id"] = target.client_id
    if target.client_secret:
        overrides["client_secret"] = target.client_secret
    if target.credential_hint:
        overrides["credential_hint"] = target.credential_hint
    if target.secret_hint:
        overrides["secret_hint"] = target.secret_hint
    plain_env = {k: v for k, v in env.items() if k != "EPCC_RATE_LIMIT"}
    config = ClientConfig.from_env(plain_env, base_url=base_url, **overrides)
    if announce:
        click.echo(line or describe(target), err=True)
    with pacing_log(target.verbose):
        async with Client(config) as client:
            yield client


class _Echo(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        click.echo(self.format(record), err=True)


@contextmanager
def pacing_log(verbose: bool) -> Iterator[None]:
    """With --verbose: the client's pacing decisions on stderr as they happen (a 429 lowered
    the pace; 429s taken as the store's background), README "Rate limits"."""
    if not verbose:
        yield
        return
    logger = logging.getLogger("provisioner.client.transport")
    handler = _Echo(logging.INFO)
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
