"""Helpers shared by the tests that drive the CLI against a local store.

The `cli` fixture (tests/conftest.py) runs `provisioner.cli.main` in-process and returns a
`CliResult`; `store_env` is the environment that points the CLI at a running local store.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

# Variables that select a store or change output; every CLI run starts with them unset.
STORE_VARIABLES = (
    "EPCC_API_BASE_URL",
    "EPCC_CLIENT_ID",
    "EPCC_CLIENT_SECRET",
    "EPCC_RATE_LIMIT",
    "CI",
    "NO_COLOR",
)


@dataclass(frozen=True)
class CliResult:
    code: int
    out: str
    err: str


Cli = Callable[..., CliResult]


def store_env(base_url: str, client_id: str, client_secret: str | None = None) -> dict[str, str]:
    """Point the CLI at a store; without a secret the client uses the implicit grant."""
    env = {
        "EPCC_API_BASE_URL": base_url,
        "EPCC_CLIENT_ID": client_id,
        # The local store has no rate limit; the client's default (20/s) would only slow tests.
        "EPCC_RATE_LIMIT": "1000",
    }
    if client_secret is not None:
        env["EPCC_CLIENT_SECRET"] = client_secret
    return env


def shared_file(*parts: str) -> Path:
    """A file of the read-only references (`shared/` beside the repository, or beside a parent
    directory holding it, as for a git worktree under `wt/`); the first candidate if none."""
    here = Path(__file__).resolve().parent.parent
    candidates = [parent / "shared" / Path(*parts) for parent in here.parents]
    return next((c for c in candidates if c.is_file()), candidates[0])
