"""Adaptive pacing (issue 11): applies against rate-limited stores, shared stores, far stores.

Each run starts a fresh store in its own process (`store_process`, 20 ms latency unless said)
and does what `provisioner apply` does with one client of default settings (the pace ceiling
as given, `--parallelism` 32): read, plan, apply. Then it plans again: a run "completed in one
apply" when that second plan is empty. Requests and 429s are counted by the store itself.

- limits: store limits 2, 5, 10, 25 req/s, client ceilings 20 and 100 (above the store's);
  1 x 30 fields at 2 req/s, 10 x 10 fields otherwise. Goal: one apply, 429s <= 5% of
  requests, wall <= 1.3 x requests / store limit.
- shared: a second client (`bench/loadgen.py`, its own process) keeps sending GETs at half the
  store's limit for the whole run; ours is reported against requests / (limit / 2).
- far: a store 150 ms away allowing 100 req/s, 10 x 100 fields, `EPCC_RATE_LIMIT=100`. Goal:
  wall <= 1.2 x requests / 100; beside it the same with 8 requests in flight at most (the old
  fixed bound), to show what following the latency buys.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.common import ROOT, Clock, Knobs, Store, store_process, table, write_scenario
from provisioner.applier import apply_plan
from provisioner.client import DEFAULT_MAX_IN_FLIGHT, DEFAULT_RATE_LIMIT, Client, ClientConfig
from provisioner.config import load_desired
from provisioner.planner import plan as make_plan
from provisioner.reader import read_live_state

LIMIT_CASES: tuple[tuple[float, int, int], ...] = (
    (2, 1, 30),
    (5, 10, 10),
    (10, 10, 10),
    (25, 10, 10),
)
CEILINGS: tuple[float, ...] = (20.0, 100.0)
SHARED_CASES: tuple[tuple[float, int, int], ...] = ((10, 10, 10), (25, 10, 10))
QUICK_LIMIT_CASES: tuple[tuple[float, int, int], ...] = ((5, 1, 3),)
QUICK_CEILINGS: tuple[float, ...] = (100.0,)


@dataclass
class PacedRun:
    """One apply against one store."""

    label: str
    limit: float
    ceiling: float
    flows: int
    fields: int
    requests: int  # store-counted, ours only (the load generator's are subtracted)
    refused: int  # 429s answered to us
    wall: float  # read + plan + apply
    converged: bool  # a second plan is empty
    failed: str  # the error, if the apply failed
    lowest: float  # the lowest pace reached
    effective: float  # our requests / wall
    waited: float  # seconds requests waited for the pace (summed)
    planned: float = 0.0  # the read + plan part of `wall`
    other_ok: int = 0  # the load generator's accepted requests
    other_refused: int = 0
    store_cpu: float = 0.0  # CPU seconds the store's process used during the run
    client_cpu: float = 0.0  # CPU seconds this (the client's) process used during the run
    load: float = 0.0  # the machine's 1-minute load average at the end of the run
    decreases: int = 0  # times 429s lowered the pace
    peak_in_flight: int = 0
    in_flight_waited: float = 0.0  # seconds requests waited for a place in flight (summed)
    latency: float = 0.0  # the client's latency estimate at the end, seconds
    changes: tuple[str, ...] = ()  # every decrease: "t=s before->after (accepted a)"

    @property
    def bound(self) -> float:
        """Seconds the requests take at the store's limit or the client's ceiling if lower."""
        return self.requests / min(self.limit, self.ceiling)

    @property
    def refused_share(self) -> float:
        return self.refused / self.requests if self.requests else 0.0


def _client(store: Store, ceiling: float, max_in_flight: int) -> Client:
    return Client(
        ClientConfig(
            base_url=store.base_url,
            client_id=store.client_id,
            client_secret=store.client_secret,
            rate_limit=ceiling,
            max_in_flight=max_in_flight,
        )
    )


async def _apply(
    store: Store, folder: Path, ceiling: float, max_in_flight: int
) -> tuple[Clock, float, str, Client]:
    """(read + plan + apply wall/CPU, read + plan seconds, error or "", the client)."""
    desired = load_desired([folder])
    failed = ""
    planned = 0.0
    with Clock() as clock:
        async with _client(store, ceiling, max_in_flight) as client:
            try:
                started = time.perf_counter()
                live = await read_live_state(client)
                plan = make_plan(desired, live)
                planned = time.perf_counter() - started
                await apply_plan(client, plan, parallelism=max_in_flight)
            except Exception as error:  # recorded, and the run counts as not converged
                failed = f"{type(error).__name__}: {str(error).splitlines()[0][:80]}"
    return clock, planned, failed, client


async def _converged(store: Store, folder: Path) -> bool:
    desired = load_desired([folder])
    async with _client(store, 1000.0, DEFAULT_MAX_IN_FLIGHT) as client:
        return make_plan(desired, await read_live_state(client)).is_empty


@contextmanager
def load_generator(store: Store, rate: float) -> Iterator[Callable[[], tuple[int, int]]]:
    """`bench/loadgen.py` at `rate` req/s against `store`; yields a reader of (ok, refused)."""
    command = [
        sys.executable,
        str(ROOT / "bench" / "loadgen.py"),
        store.base_url,
        store.client_id,
        f"{rate:g}",
    ]
    process = subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={"EPCC_CLIENT_SECRET": store.client_secret, "PATH": ""},
    )
    assert process.stdout is not None
    assert process.stdin is not None
    ready = process.stdout.readline()
    if not ready.startswith("ready"):
        raise RuntimeError(f"the load generator did not start: {ready!r}")
    result: list[tuple[int, int]] = []

    def counts() -> tuple[int, int]:
        return result[0] if result else (0, 0)

    try:
        yield counts
    finally:
        process.stdin.close()
        line = process.stdout.readline().split()
        process.wait(timeout=30)
        process.stdout.close()
        if len(line) == 2:
            result.append((int(line[0]), int(line[1])))


def paced_run(
    workdir: Path,
    name: str,
    knobs: Knobs,
    ceiling: float,
    flows: int,
    fields: int,
    *,
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
    load: float = 0.0,
    settle: float = 1.0,
) -> PacedRun:
    """One run; `settle` seconds let the store's bucket fill (and the other client start)."""
    folder = write_scenario(workdir / name / "files", flows, fields)
    with store_process(workdir / name, knobs) as store:
        time.sleep(settle * 1.1)  # the store's bucket is full: every run starts alike
        store.reset_stats()
        other = (0, 0)
        if load:
            with load_generator(store, load) as other_counts:
                time.sleep(settle)  # the other client is already at it when we start
                store_cpu = store.cpu_seconds()
                outcome = asyncio.run(_apply(store, folder, ceiling, max_in_flight))
                store_cpu = store.cpu_seconds() - store_cpu
            other = other_counts()
        else:
            store_cpu = store.cpu_seconds()
            outcome = asyncio.run(_apply(store, folder, ceiling, max_in_flight))
            store_cpu = store.cpu_seconds() - store_cpu
        clock, planned, failed, client = outcome
        pacer_started = client.stats.first_at or 0.0
        wall = clock.wall
        stats = client.stats
        pacer = client.pacer
        converged = not failed and asyncio.run(_converged(store, folder))
    assert knobs.rate_limit is not None
    requests = stats.total
    return PacedRun(
        label=name,
        limit=knobs.rate_limit,
        ceiling=ceiling,
        flows=flows,
        fields=fields,
        requests=requests,
        refused=stats.rate_limited,
        wall=wall,
        converged=converged,
        failed=failed,
        lowest=stats.lowest_rate if stats.lowest_rate is not None else ceiling,
        effective=requests / wall if wall else 0.0,
        waited=stats.throttled_seconds,
        planned=planned,
        other_ok=other[0],
        other_refused=other[1],
        store_cpu=store_cpu,
        client_cpu=clock.cpu,
        load=os.getloadavg()[0],
        decreases=len(pacer.decreases),
        peak_in_flight=pacer.peak_in_flight,
        in_flight_waited=pacer.in_flight_waited_seconds,
        latency=pacer.latency,
        changes=tuple(
            f"t={d.at - pacer_started:.2f} {d.before:.3g}->{d.after:.3g}"
            f" (accepted {d.accepted:.3g})"
            for d in pacer.decreases
        ),
    )


def run_limits(workdir: Path, quick: bool, log: Callable[[str], None]) -> list[PacedRun]:
    cases = QUICK_LIMIT_CASES if quick else LIMIT_CASES
    ceilings = QUICK_CEILINGS if quick else CEILINGS
    runs = []
    for limit, flows, fields in cases:
        for ceiling in ceilings:
            name = f"limit{limit:g}-ceiling{ceiling:g}-{flows}x{fields}"
            log(f"  {name}")
            knobs = Knobs(latency_ms=20.0, rate_limit=limit)
            runs.append(
                paced_run(
                    workdir, name, knobs, ceiling, flows, fields, settle=0.0 if quick else 1.0
                )
            )
    return runs


def run_shared(workdir: Path, quick: bool, log: Callable[[str], None]) -> list[PacedRun]:
    cases = QUICK_LIMIT_CASES if quick else SHARED_CASES
    runs = []
    for limit, flows, fields in cases:
        for ceiling in (25.0,) if not quick else (100.0,):
            name = f"shared{limit:g}-ceiling{ceiling:g}-{flows}x{fields}"
            log(f"  {name}")
            knobs = Knobs(latency_ms=20.0, rate_limit=limit)
            runs.append(
                paced_run(
                    workdir,
                    name,
                    knobs,
                    ceiling,
                    flows,
                    fields,
                    load=limit / 2,
                    settle=0.2 if quick else 1.0,
                )
            )
    return runs


def run_far(workdir: Path, quick: bool, log: Callable[[str], None]) -> list[PacedRun]:
    """Not in a quick run (its point is the wall time of a long apply)."""
    if quick:
        return []
    flows, fields = 10, 100
    runs = []
    for max_in_flight in (DEFAULT_MAX_IN_FLIGHT, 8):
        name = f"far-150ms-inflight{max_in_flight}-{flows}x{fields}"
        log(f"  {name}")
        knobs = Knobs(latency_ms=150.0, rate_limit=100.0)
        runs.append(
            paced_run(workdir, name, knobs, 100.0, flows, fields, max_in_flight=max_in_flight)
        )
    return runs


def run_defaults(workdir: Path, quick: bool, log: Callable[[str], None]) -> list[PacedRun]:
    """The plan/apply sizes on a production-like store, default ceiling and matched one (not in
    a quick run: the plan and apply suites' quick runs cover the same apply)."""
    if quick:
        return []
    sizes = ((1, 10), (10, 10), (10, 100))
    runs = []
    for flows, fields in sizes:
        for ceiling in (DEFAULT_RATE_LIMIT, 100.0):
            name = f"default-ceiling{ceiling:g}-{flows}x{fields}"
            log(f"  {name}")
            knobs = Knobs(latency_ms=20.0, rate_limit=100.0)
            runs.append(paced_run(workdir, name, knobs, ceiling, flows, fields))
    return runs


CPU_HEADERS = ("store CPU s", "client CPU s", "load")


def cpu_cells(r: PacedRun) -> list[object]:
    """The store's and the client's CPU seconds during the run, and the 1-minute load average:
    on a shared machine a process gets about CPUs / load of a core, so a run whose store or
    client needs more than that at the pace is held back by the machine, not by the pace."""
    return [f"{r.store_cpu:.2f}", f"{r.client_cpu:.2f}", f"{r.load:.1f}"]


def defaults_table(runs: list[PacedRun]) -> str:
    rows = [
        [
            f"{r.flows}×{r.fields}",
            f"{r.ceiling:g}" + (" (default)" if r.ceiling == DEFAULT_RATE_LIMIT else ""),
            "yes" if r.converged else f"no {r.failed}".strip(),
            r.requests,
            r.refused,
            r.planned,
            r.wall - r.planned,
            r.wall,
            r.bound,
            f"{r.wall / r.bound:.2f}",
            r.peak_in_flight,
            *cpu_cells(r),
        ]
        for r in runs
    ]
    headers = [
        "size",
        "ceiling",
        "one apply",
        "requests",
        "429s",
        "read+plan s",
        "apply s",
        "total s",
        "requests/min(ceiling, limit) s",
        "ratio",
        "peak in flight",
        *CPU_HEADERS,
    ]
    return table(
        "Plan + apply from empty on a production-like store (20 ms, 100 req/s), parallelism 32",
        headers,
        rows,
    )


def limits_table(runs: list[PacedRun]) -> str:
    rows = [
        [
            f"{r.limit:g}",
            f"{r.ceiling:g}",
            f"{r.flows}×{r.fields}",
            "yes" if r.converged else f"no {r.failed}".strip(),
            r.requests,
            r.refused,
            f"{100 * r.refused_share:.1f}%",
            r.wall,
            r.bound,
            f"{r.wall / r.bound:.2f}",
            f"{r.lowest:.3g}",
            f"{r.effective:.3g}",
            *cpu_cells(r),
        ]
        for r in runs
    ]
    headers = [
        "store req/s",
        "ceiling",
        "size",
        "one apply",
        "requests",
        "429s",
        "429 %",
        "wall s",
        "requests/min(limit, ceiling) s",
        "ratio",
        "lowest pace",
        "effective req/s",
        *CPU_HEADERS,
    ]
    return table(
        "Apply against rate-limited stores (20 ms; goal: one apply, 429s <= 5%, ratio <= 1.3)",
        headers,
        rows,
    )


def shared_table(runs: list[PacedRun]) -> str:
    rows = [
        [
            f"{r.limit:g}",
            f"{r.limit / 2:g}",
            f"{r.ceiling:g}",
            f"{r.flows}×{r.fields}",
            "yes" if r.converged else f"no {r.failed}".strip(),
            r.requests,
            r.refused,
            r.wall,
            r.requests / (r.limit / 2),
            f"{r.wall / (r.requests / (r.limit / 2)):.2f}",
            f"{r.lowest:.3g}",
            f"{r.other_ok}/{r.other_refused}",
            *cpu_cells(r),
        ]
        for r in runs
    ]
    headers = [
        "store req/s",
        "other client req/s",
        "ceiling",
        "size",
        "one apply",
        "requests",
        "429s",
        "wall s",
        "requests/(limit/2) s",
        "ratio",
        "lowest pace",
        "other: ok/429",
        *CPU_HEADERS,
    ]
    return table("Apply while another client uses half the store's limit", headers, rows)


def far_table(runs: list[PacedRun]) -> str:
    rows = [
        [
            r.label.split("-")[2].removeprefix("inflight"),
            f"{r.flows}×{r.fields}",
            "yes" if r.converged else f"no {r.failed}".strip(),
            r.requests,
            r.refused,
            r.wall,
            r.requests / 100,
            f"{r.wall / (r.requests / 100):.2f}",
            f"{r.effective:.3g}",
            r.peak_in_flight,
            f"{1000 * r.latency:.0f}",
            *cpu_cells(r),
        ]
        for r in runs
    ]
    headers = [
        "max in flight",
        "size",
        "one apply",
        "requests",
        "429s",
        "wall s",
        "requests/100 s",
        "ratio",
        "effective req/s",
        "peak in flight",
        "latency estimate ms",
        *CPU_HEADERS,
    ]
    return table(
        "A store 150 ms away allowing 100 req/s, EPCC_RATE_LIMIT=100 (goal: ratio <= 1.2)",
        headers,
        rows,
    )


def checks(runs: list[PacedRun]) -> list[str]:
    """Correctness only: every run completes in one apply (speed goals are in the tables)."""
    return [f"{r.label}: {r.failed or 'not converged'}" for r in runs if not r.converged]


def main(argv: list[str] | None = None) -> int:
    """`python -m bench.pacing LIMIT CEILING FLOWS FIELDS RUNS`: one row, many fresh runs."""
    import argparse
    import tempfile

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("limit", type=float)
    parser.add_argument("ceiling", type=float)
    parser.add_argument("flows", type=int)
    parser.add_argument("fields", type=int)
    parser.add_argument("runs", type=int)
    args = parser.parse_args(argv)
    shares = []
    with tempfile.TemporaryDirectory() as tmp:
        for index in range(args.runs):
            name = f"repeat{args.limit:g}-ceiling{args.ceiling:g}-{index}"
            knobs = Knobs(latency_ms=20.0, rate_limit=args.limit)
            run = paced_run(Path(tmp), name, knobs, args.ceiling, args.flows, args.fields)
            shares.append(run.refused_share)
            print(
                f"run {index}: {run.refused}/{run.requests} refused"
                f" ({100 * run.refused_share:.1f}%), wall {run.wall:.2f} s"
                f" ({run.wall / run.bound:.2f} x requests/limit),"
                f" {'one apply' if run.converged else 'NOT converged ' + run.failed},"
                f" load {run.load:.1f}, peak in flight {run.peak_in_flight},"
                f" latency estimate {1000 * run.latency:.0f} ms;"
                f" decreases: {'; '.join(run.changes) or '-'}",
                flush=True,
            )
    print(
        f"429 share: max {100 * max(shares):.1f}%, mean {100 * sum(shares) / len(shares):.1f}%"
        f" over {len(shares)} runs"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
