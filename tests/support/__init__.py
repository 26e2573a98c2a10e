"""Shared test support: one place for what several test modules need.

- `support` (this module): running the CLI in-process (`CliResult`, `Cli`, `STORE_VARIABLES`),
  `store_env`, `shared_file` (the read-only references beside the repository), `REPO`.
- `support.store`: `LocalStore` (what the `local_store`/`local_store_factory` fixtures of
  tests/conftest.py give), `start_store`, and the raw-HTTP helpers of the local store tests
  (`token_for`, `flow_body`, `field_body`, `create_flow`, `assert_error`,
  `add_fields_directly`).
- `support.seed`: the YAML documents several tests start from (`CUSTOMERS`, `WISHLISTS`,
  `write`).
- `support.savedplan`: `save_plan` (`plan --out`, read back) and `apply_edited` (write an
  edited saved plan, apply it).
- `support.httpstub`: `http_server`, `QuietHandler`, `TOKEN`: a small HTTP server for what
  the local store cannot be made to say.
- `support.strategies`: hypothesis strategies for the API's values.
- `support.api`: `ApiClient`, a `Client` with the entry helpers only tests use.

Fixtures live in tests/conftest.py: `local_store`, `local_store_factory`, `api` (an
`httpx.Client` on a fresh store, authorised with a token minted in the database) and `cli`.
Tests import from here, never from another test module; `bench` is importable as a package
(pytest's `pythonpath` puts the repository root on `sys.path`).
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

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
    candidates = [parent / "shared" / Path(*parts) for parent in REPO.parents]
    return next((c for c in candidates if c.is_file()), candidates[0])


def interrupt_after_done(
    args: Sequence[str], cwd: Path, env: Mapping[str, str], done: int
) -> tuple[int, str, str]:
    """Run `python -m provisioner ARGS`, send SIGINT once `done` operations printed
    `... done`; return its exit code, everything it printed, and its stderr."""
    process = subprocess.Popen(
        [sys.executable, "-m", "provisioner", *args],
        cwd=cwd,
        env=dict(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    lines: list[str] = []
    try:
        for line in process.stdout:
            lines.append(line)
            if sum(seen.endswith("... done\n") for seen in lines) == done:
                process.send_signal(signal.SIGINT)
                break
        out, err = process.communicate(timeout=60)
    finally:
        process.kill()
    return process.returncode, "".join(lines) + out + err, err
