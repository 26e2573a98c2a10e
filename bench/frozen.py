"""A frozen store (issue 17.4): `provisioner apply` against a store stopped with SIGSTOP.

The store answers once (so it is known to be up), is frozen for 150 s, and an apply runs
against it: the time from the freeze to the apply's exit, and its error (documented: at most
120 s per request, `the store did not answer within 120 s`).
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from bench.common import PRODUCTION, store_process, table, write_scenario
from bench.resilience import _last_error, _run


@dataclass
class FrozenRun:
    frozen_for: float
    exit_code: int
    seconds_to_error: float
    error: str


def frozen_run(
    workdir: Path, frozen_for: float = 150.0, flows: int = 10, fields: int = 10
) -> FrozenRun:
    """`apply` against a store frozen (SIGSTOP) for `frozen_for` s right after it started.

    The store answers a token request first (so the client is past its start-up), then is
    stopped; the apply is timed from its start to its exit, and the store is resumed after
    `frozen_for` seconds or when the apply ended, whichever is later (as a stuck store would).
    """
    directory = workdir / "frozen"
    directory.mkdir(parents=True, exist_ok=True)
    path = write_scenario(directory / f"files-{flows}x{fields}", flows, fields)
    with store_process(directory, PRODUCTION, "frozen") as store:
        store.counts()  # the store answers
        assert store.pid is not None
        os.kill(store.pid, signal.SIGSTOP)
        stopped = time.perf_counter()
        try:
            result = _run(store, directory, "apply", "--auto-approve", str(path))
            elapsed = time.perf_counter() - stopped
        finally:
            remaining = frozen_for - (time.perf_counter() - stopped)
            if remaining > 0:
                time.sleep(remaining)
            os.kill(store.pid, signal.SIGCONT)
        return FrozenRun(frozen_for, result.returncode, elapsed, _last_error(result))


def frozen_table(runs: list[FrozenRun]) -> str:
    rows = [
        [f"{r.frozen_for:.0f}", r.exit_code, f"{r.seconds_to_error:.1f}", r.error or "-"]
        for r in runs
    ]
    return table(
        "A frozen store (SIGSTOP): apply of 10 x 10 until it gives up (documented: 120 s)",
        ["frozen s", "exit", "s to the error", "error"],
        rows,
    )
