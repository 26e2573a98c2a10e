"""Faults: an apply through injected failures and lost answers, and an apply killed mid-way.

`run_faults`: the 100-field case (10 flows × 10 fields) applied once against a store that
answers 20% of requests with 429/500/502/503 (`fail_rate=0.2`) and commits 5% of writes but
drops their answers (`lost_write_rate=0.05`), on top of 20 ms and 100 requests/s. One run must
succeed; then the store must equal the desired state (a fresh plan is empty) with no duplicate
flow or field (the SQLite rows, and the API's lists). Figures: retries, adoptions, failed
answers, wall time against the same apply on a fault-free store. Several seeds.

`run_kills` (issue 7, "killed at random points"): `provisioner apply --auto-approve` in a child
process, SIGKILLed after a random number of completed operations plus a random delay; then a
second `apply` must exit 0, `plan --detailed-exitcode` must exit 0 (nothing left to do) and
the store must hold each flow and field exactly once.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.common import (
    PARALLELISM,
    PRODUCTION,
    Knobs,
    Store,
    store_process,
    table,
    write_scenario,
)
from provisioner.applier import apply_plan
from provisioner.config import load_desired
from provisioner.model import State
from provisioner.planner import plan as make_plan
from provisioner.reader import read_live_state

FAULT_FLOWS, FAULT_FIELDS = 10, 10


@dataclass
class FaultRun:
    label: str
    seed: int | None
    succeeded: bool
    error: str
    wall: float
    retries: int
    adopted: int
    client_requests: int
    store_requests: int
    store_failed: int
    writes: int
    replan_operations: int
    duplicates: list[str]
    rows: tuple[int, int]

    @property
    def converged(self) -> bool:
        return self.succeeded and self.replan_operations == 0 and not self.duplicates


async def _apply_once(store: Store, desired: State) -> tuple[bool, str, float, dict[str, int]]:
    """Read, plan and apply in one client, as `provisioner apply` does; never raises."""
    started = time.perf_counter()
    error = ""
    async with store.client(max_in_flight=PARALLELISM) as client:
        try:
            live = await read_live_state(client)
            await apply_plan(client, make_plan(desired, live), parallelism=PARALLELISM)
        except Exception as failure:
            error = f"{type(failure).__name__}: {failure}"
        stats = client.stats
        figures = {"retries": stats.retries, "adopted": stats.adopted, "requests": stats.total}
    return not error, error, time.perf_counter() - started, figures


async def _replan(store: Store, desired: State) -> int:
    async with store.client() as client:
        return len(make_plan(desired, await read_live_state(client)).operations)


def fault_run(directory: Path, desired: State, knobs: Knobs, label: str) -> FaultRun:
    with store_process(directory, knobs, label) as store:
        store.reset_stats()
        ok, error, wall, figures = asyncio.run(_apply_once(store, desired))
        counts = store.counts()
        replan = asyncio.run(_replan(store, desired))
        return FaultRun(
            label=label,
            seed=knobs.seed,
            succeeded=ok,
            error=error,
            wall=wall,
            retries=figures["retries"],
            adopted=figures["adopted"],
            client_requests=figures["requests"],
            store_requests=counts.total,
            store_failed=counts.failed,
            writes=counts.writes,
            replan_operations=replan,
            duplicates=store.duplicates(),
            rows=store.table_counts(),
        )


def run_faults(
    workdir: Path,
    seeds: tuple[int, ...] = (1, 2, 3, 4, 5),
    flows: int = FAULT_FLOWS,
    fields: int = FAULT_FIELDS,
    log: Callable[[str], None] = print,
) -> list[FaultRun]:
    directory = workdir / "faults"
    desired = load_desired([write_scenario(directory, flows, fields)])
    log("  fault-free reference ...")
    runs = [fault_run(directory, desired, PRODUCTION, "fault-free")]
    for seed in seeds:
        log(f"  faults, seed {seed} ...")
        knobs = Knobs(
            latency_ms=PRODUCTION.latency_ms,
            rate_limit=PRODUCTION.rate_limit,
            fail_rate=0.2,
            lost_write_rate=0.05,
            seed=seed,
        )
        runs.append(fault_run(directory, desired, knobs, f"faults-{seed}"))
    return runs


def faults_table(runs: list[FaultRun], flows: int, fields: int) -> str:
    reference = runs[0].wall
    rows = [
        [
            r.label,
            "yes" if r.succeeded else f"no ({r.error[:60]})",
            r.replan_operations,
            len(r.duplicates),
            f"{r.rows[0]}/{r.rows[1]}",
            r.client_requests,
            r.store_failed,
            r.retries,
            r.adopted,
            r.writes,
            f"{r.wall:.2f}",
            f"{r.wall / reference:.2f}",
        ]
        for r in runs
    ]
    return table(
        f"Apply of {flows}×{fields} with fail_rate=0.2, lost_write_rate=0.05 (one run each)",
        [
            "run",
            "one run ok",
            "re-plan ops",
            "duplicates",
            f"flows/fields (want {flows}/{flows * fields})",
            "requests",
            "failed answers",
            "retries",
            "adopted",
            "writes",
            "wall s",
            "vs fault-free",
        ],
        rows,
    )


# ------------------------------------------------------------------------------ kills


@dataclass
class KillRun:
    index: int
    kill_after_ops: int
    extra_delay: float
    ops_done_at_kill: int
    killed: bool
    second_exit: int
    second_output: str
    plan_exit: int
    duplicates: list[str]
    rows: tuple[int, int]
    second_writes: int

    @property
    def converged(self) -> bool:
        return self.second_exit == 0 and self.plan_exit == 0 and not self.duplicates


def _cli(args: list[str], store: Store, cwd: Path) -> list[str]:
    return [sys.executable, "-m", "provisioner", *args]


def _child_env(store: Store) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "EPCC_RATE_LIMIT")}
    env.update(store.env())
    env["NO_COLOR"] = "1"
    env["PYTHONUNBUFFERED"] = "1"  # progress lines reach the watcher as they are printed
    return env


def kill_run(
    directory: Path, path: Path, index: int, rng: random.Random, total_ops: int
) -> KillRun:
    kill_after = rng.randint(0, total_ops - 1)
    delay = rng.uniform(0.0, 0.05)
    with store_process(directory, PRODUCTION, f"kill-{index:02d}") as store:
        env = _child_env(store)
        process = subprocess.Popen(
            _cli(["apply", "--auto-approve", str(path)], store, directory),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            cwd=directory,
        )
        assert process.stdout is not None
        done = 0
        reached = threading.Event()

        def watch() -> None:
            nonlocal done
            assert process.stdout is not None
            for line in process.stdout:
                if line.rstrip().endswith("... done"):
                    done += 1
                # kill_after == 0: once the plan is printed (the apply is about to start)
                if (kill_after == 0 and line.startswith("Plan:")) or (
                    kill_after and done >= kill_after
                ):
                    reached.set()
            reached.set()  # the process ended first

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        reached.wait(timeout=120)
        time.sleep(delay)
        killed = process.poll() is None
        if killed:
            process.send_signal(signal.SIGKILL)
        process.wait()
        watcher.join(timeout=10)
        process.stdout.close()
        ops_at_kill = done
        store.reset_stats()

        def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                _cli([*args, str(path)], store, directory),
                capture_output=True,
                text=True,
                env=env,
                cwd=directory,
                check=False,
            )

        second = run_cli("apply", "--auto-approve")
        second_writes = store.counts().writes
        check = run_cli("plan", "--detailed-exitcode")
        return KillRun(
            index=index,
            kill_after_ops=kill_after,
            extra_delay=delay,
            ops_done_at_kill=ops_at_kill,
            killed=killed,
            second_exit=second.returncode,
            second_output=(second.stdout + second.stderr)[-400:],
            plan_exit=check.returncode,
            duplicates=store.duplicates(),
            rows=store.table_counts(),
            second_writes=second_writes,
        )


def run_kills(
    workdir: Path,
    count: int = 20,
    flows: int = FAULT_FLOWS,
    fields: int = FAULT_FIELDS,
    seed: int = 7,
    log: Callable[[str], None] = print,
) -> list[KillRun]:
    directory = workdir / "kills"
    path = write_scenario(directory, flows, fields)
    rng = random.Random(seed)
    runs = []
    for index in range(count):
        run = kill_run(directory, path, index, rng, flows + flows * fields)
        log(
            f"  kill {index + 1}/{count}: after {run.ops_done_at_kill} ops -> second apply "
            f"exit {run.second_exit}, plan exit {run.plan_exit}, rows {run.rows}"
        )
        runs.append(run)
    return runs


def kills_table(runs: list[KillRun], flows: int, fields: int) -> str:
    rows = [
        [
            r.index + 1,
            r.kill_after_ops,
            f"{r.extra_delay * 1000:.0f}",
            r.ops_done_at_kill,
            "yes" if r.killed else "no (had finished)",
            r.second_writes,
            r.second_exit,
            r.plan_exit,
            len(r.duplicates),
            f"{r.rows[0]}/{r.rows[1]}",
        ]
        for r in runs
    ]
    return table(
        f"apply of {flows}×{fields} SIGKILLed at random points, then apply again",
        [
            "#",
            "kill after ops",
            "+ms",
            "ops done at kill",
            "killed",
            "2nd apply writes",
            "2nd apply exit",
            "plan exit",
            "duplicates",
            "flows/fields",
        ],
        rows,
    )
