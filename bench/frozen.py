"""A frozen store (issue 17.4): `provisioner apply` against a store stopped with SIGSTOP.

`frozen_run`: the store answers once (so it is known to be up), is frozen for 150 s, and an
apply runs against it: the time from the freeze to the apply's exit, and its error
(documented: at most 120 s per request, `the store did not answer within 120 s`).

`frozen_mid_apply_run`: the store freezes in the middle of an apply, with operations on the
wire, queued for an in-flight place and waiting to start: the time from the freeze to the
exit (documented: the run stops 120 s after the store went quiet, later requests not sent),
and how many requests the store served on waking (those on the wire at the freeze).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import PRODUCTION, Store, store_process, table, write_scenario
from bench.resilience import _last_error, _run, _start
from provisioner.localstore import STATS_ROUTE


@contextmanager
def _frozen(pid: int, frozen_for: float) -> Iterator[float]:
    """Stop the process `pid` (SIGSTOP) and give the time it stopped (`time.perf_counter`);
    on leaving, resume it (SIGCONT) `frozen_for` s after the stop, or at once if later (as a
    stuck store would)."""
    os.kill(pid, signal.SIGSTOP)
    stopped = time.perf_counter()
    try:
        yield stopped
    finally:
        remaining = frozen_for - (time.perf_counter() - stopped)
        if remaining > 0:
            time.sleep(remaining)
        os.kill(pid, signal.SIGCONT)


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
        with _frozen(store.pid, frozen_for) as stopped:
            result = _run(store, directory, "apply", "--auto-approve", str(path))
            elapsed = time.perf_counter() - stopped
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


@dataclass
class MidApplyRun:
    """An apply whose store froze while it was writing, operations queued behind the freeze."""

    frozen_for: float
    exit_code: int
    seconds_to_error: float
    fields_at_freeze: int
    sent_after_freeze: int  # requests the store served on waking, the stats' own excluded
    failures: int  # operations failed, as the apply's summary lists them
    not_sent: int  # of which never sent (the store was already known to be frozen)
    error: str
    output: str = field(default="", repr=False)  # the apply's stdout and stderr


def _served(store: Store) -> int:
    return sum(int(i["count"]) for i in store.stats() if i["route"] != STATS_ROUTE)


def _settled(store: Store) -> int:
    """What the store served, once it has answered what queued while it was frozen (the
    same count twice, 0.5 s apart, at most 10 s)."""
    served = _served(store)
    for _ in range(20):
        time.sleep(0.5)
        again = _served(store)
        if again == served:
            break
        served = again
    return served


def frozen_mid_apply_run(
    workdir: Path, frozen_for: float = 150.0, flows: int = 20, fields: int = 10
) -> MidApplyRun:
    """`apply` of `flows` x `fields` against a store frozen (SIGSTOP) once it holds a quarter
    of the fields: 32 operations in flight or queued for a place, more waiting to start.

    Timed from the freeze to the apply's exit. The store is resumed after `frozen_for`
    seconds (or when the apply ended, if later); the requests it then serves are those that
    were on the wire at the freeze or sent while it was frozen.
    """
    directory = workdir / "frozen-mid-apply"
    directory.mkdir(parents=True, exist_ok=True)
    path = write_scenario(directory / f"files-{flows}x{fields}", flows, fields)
    with store_process(directory, PRODUCTION, "frozen") as store:
        assert store.pid is not None
        applying = _start(store, directory, "apply", "--auto-approve", str(path))
        try:
            at_freeze = 0
            while at_freeze < flows * fields // 4:
                if applying.poll() is not None:
                    raise RuntimeError("the apply ended before the store was frozen")
                time.sleep(0.05)
                at_freeze = store.table_counts()[1]
            before = _served(store)
            with _frozen(store.pid, frozen_for) as stopped:
                out, err = applying.communicate()
                elapsed = time.perf_counter() - stopped
        finally:
            if applying.poll() is None:
                applying.kill()
                applying.wait()
        after = _settled(store)
    lines = (out + err).splitlines()  # one "... FAILED: <error>" line per failed operation
    failed = [line for line in lines if "FAILED:" in line and "did not answer within" in line]
    result = subprocess.CompletedProcess(applying.args, applying.returncode or 0, out, err)
    return MidApplyRun(
        frozen_for,
        applying.returncode,
        elapsed,
        at_freeze,
        after - before,
        len(failed),
        sum("not sent" in line for line in failed),
        _last_error(result),
        out + err,
    )


def mid_apply_table(runs: list[MidApplyRun]) -> str:
    rows = [
        [
            f"{r.frozen_for:.0f}",
            r.fields_at_freeze,
            r.exit_code,
            f"{r.seconds_to_error:.1f}",
            r.sent_after_freeze,
            r.failures,
            r.not_sent,
            r.error or "-",
        ]
        for r in runs
    ]
    return table(
        "A store frozen (SIGSTOP) in the middle of an apply of 20 x 10 (documented: 120 s)",
        [
            "frozen s",
            "fields at freeze",
            "exit",
            "s to the error",
            "served on waking",
            "failed: 'did not answer'",
            "of which not sent",
            "error",
        ],
        rows,
    )
