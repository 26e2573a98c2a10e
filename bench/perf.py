"""Speed: plan, apply, re-plan and re-apply against a store, ours beside the baseline; planner.

For each size (flows × fields) two fresh stores with the same knobs (20 ms per request, 100
requests/s by default) are started, one for `provisioner` and one for the baseline
(`bench/baseline.py`), and each runs: plan from empty, apply from empty, plan again, apply
again. Ours goes through the same library calls as `provisioner apply` (reader, planner,
applier, one `Client` with its rate limit set to the store's and 8 requests in flight), so the
phases can be timed apart. Requests and writes are counted by the store itself.

The apply figure is compared with issue 7's lower bound, max(writes / rate, writes × latency /
parallelism), and with the best schedule the dependencies allow (`ideal_apply_seconds`): a
field needs its flow's ID, so no field can start before its flow's create has answered, and
the last request still takes one latency after it starts.

The pure planner is measured on 10,000 fields with no network: CPU time (`time.process_time`,
best of several runs) and peak memory (`tracemalloc`, a separate run).
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import heapq
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.baseline import Baseline
from bench.common import (
    PARALLELISM,
    PRODUCTION,
    Clock,
    Knobs,
    Store,
    apply_lower_bound,
    minimum_plan_requests,
    store_process,
    table,
    write_scenario,
)
from provisioner.applier import apply_plan
from provisioner.config import load_desired
from provisioner.model import State
from provisioner.plan import Plan
from provisioner.planner import plan as make_plan
from provisioner.reader import read_live_state

SIZES: tuple[tuple[int, int], ...] = ((1, 10), (10, 10), (10, 100))
QUICK_SIZES: tuple[tuple[int, int], ...] = ((1, 3), (2, 3))


@dataclass
class Phase:
    """One measured phase of one tool on one size."""

    requests: int  # counted by the store
    writes: int  # counted by the store
    wall: float
    operations: int = 0
    client_requests: int = 0  # counted by our client (ours only)
    throttled: float = 0.0  # seconds our token bucket held requests back (ours only)
    read_wall: float = 0.0  # the read + plan part of an apply (ours only)
    refused: int = 0  # answers >= 400 (429s from the store's rate limit), store-counted


@dataclass
class SizeResult:
    flows: int
    fields: int
    ours: dict[str, Phase]
    baseline: dict[str, Phase]

    @property
    def label(self) -> str:
        return f"{self.flows}×{self.fields}"


# ------------------------------------------------------------------------------ ours


async def _ours(store: Store, desired: State, *, apply: bool) -> tuple[Phase, Plan]:
    """Read, plan and (`apply`) apply with one client, as `provisioner apply` does."""
    store.reset_stats()
    started = time.perf_counter()
    async with store.client(max_in_flight=PARALLELISM) as client:
        live = await read_live_state(client)
        plan = make_plan(desired, live)
        planned = time.perf_counter()
        if apply and not plan.is_empty:
            await apply_plan(client, plan, parallelism=PARALLELISM)
        finished = time.perf_counter()
        stats = client.stats
    counts = store.counts()
    phase = Phase(
        requests=counts.total,
        writes=counts.writes,
        wall=(finished - planned) if apply else (finished - started),
        operations=len(plan.operations),
        client_requests=stats.total,
        throttled=stats.throttled_seconds,
        read_wall=planned - started,
        refused=counts.failed,
    )
    return phase, plan


def run_ours(store: Store, desired: State) -> dict[str, Phase]:
    phases: dict[str, Phase] = {}
    phases["plan"], _ = asyncio.run(_ours(store, desired, apply=False))
    phases["apply"], _ = asyncio.run(_ours(store, desired, apply=True))
    phases["replan"], again = asyncio.run(_ours(store, desired, apply=False))
    if not again.is_empty:
        raise AssertionError(f"re-plan after apply is not empty: {again.summary()}")
    phases["reapply"], _ = asyncio.run(_ours(store, desired, apply=True))
    return phases


def run_baseline(store: Store, desired: State) -> dict[str, Phase]:
    tool = Baseline(store.base_url, store.client_id, store.client_secret)
    phases: dict[str, Phase] = {}
    try:
        for name, apply in (("plan", False), ("apply", True), ("replan", False), ("reapply", True)):
            store.reset_stats()
            result = tool.run(desired, apply=apply)
            counts = store.counts()
            phases[name] = Phase(counts.total, counts.writes, result.wall, refused=counts.failed)
    finally:
        tool.close()
    return phases


# ------------------------------------------------------------------------------ bounds


def ideal_apply_seconds(
    flows: int, fields: int, rate: float, latency: float, parallelism: int
) -> float:
    """The finish time of the best greedy schedule of `flows` creates then their fields.

    Requests start at most `rate` per second (evenly spaced, as our bucket paces them), at
    most `parallelism` at once, each takes `latency`; a flow's fields become ready when its
    create has answered. This is what a perfect applier would reach on this store.
    """
    interval = 1.0 / rate
    ready: list[tuple[float, int, int]] = [(0.0, i, -1) for i in range(flows)]  # (t, flow, -1)
    heapq.heapify(ready)
    in_flight: list[float] = []  # finish times
    next_slot = 0.0
    finish = 0.0
    while ready:
        ready_at, flow, kind = heapq.heappop(ready)
        start = max(ready_at, next_slot)
        while in_flight and in_flight[0] <= start:
            heapq.heappop(in_flight)
        if len(in_flight) >= parallelism:
            start = max(start, heapq.heappop(in_flight))
        next_slot = start + interval
        done = start + latency
        heapq.heappush(in_flight, done)
        finish = max(finish, done)
        if kind == -1:
            for j in range(fields):
                heapq.heappush(ready, (done, flow, j))
    return finish


# ------------------------------------------------------------------------------ suites


def run_sizes(
    workdir: Path,
    sizes: tuple[tuple[int, int], ...] = SIZES,
    knobs: Knobs = PRODUCTION,
    log: Callable[[str], None] = print,
) -> list[SizeResult]:
    results = []
    for flows, fields in sizes:
        directory = workdir / f"size-{flows}x{fields}"
        desired = load_desired([write_scenario(directory, flows, fields)])
        log(f"  {flows}×{fields}: ours ...")
        with store_process(directory, knobs, "ours") as store:
            ours = run_ours(store, desired)
            if store.duplicates():
                raise AssertionError(f"duplicates after apply: {store.duplicates()}")
        log(f"  {flows}×{fields}: baseline ...")
        with store_process(directory, knobs, "baseline") as store:
            baseline = run_baseline(store, desired)
        results.append(SizeResult(flows, fields, ours, baseline))
    return results


def plan_table(results: list[SizeResult]) -> str:
    rows = []
    for r in results:
        minimum = minimum_plan_requests(r.flows, r.flows * r.fields)
        ours, base = r.ours, r.baseline
        rows.append(
            [
                r.label,
                "empty store",
                ours["plan"].requests,
                minimum_plan_requests(0, 0),
                f"{ours['plan'].wall:.3f}",
                base["plan"].requests,
                f"{base['plan'].wall:.3f}",
            ]
        )
        rows.append(
            [
                r.label,
                "after apply",
                ours["replan"].requests,
                minimum,
                f"{ours['replan'].wall:.3f}",
                base["replan"].requests,
                f"{base['replan'].wall:.3f}",
            ]
        )
    return table(
        "Plan: requests (store-counted) and wall time",
        ["size", "store", "requests", "minimum", "wall s", "baseline req", "baseline wall s"],
        rows,
    )


def apply_table(results: list[SizeResult], knobs: Knobs = PRODUCTION) -> str:
    rate = knobs.rate_limit or 1000.0
    latency = knobs.latency_ms / 1000.0
    rows = []
    for r in results:
        apply, base = r.ours["apply"], r.baseline["apply"]
        bound = apply_lower_bound(apply.writes, rate, latency, PARALLELISM)
        ideal = ideal_apply_seconds(r.flows, r.fields, rate, latency, PARALLELISM)
        total = apply.read_wall + apply.wall
        rows.append(
            [
                r.label,
                apply.writes,
                f"{apply.wall:.3f}",
                f"{bound:.3f}",
                f"{apply.wall / bound:.2f}",
                f"{ideal:.3f}",
                f"{apply.wall / ideal:.2f}",
                f"{apply.throttled:.2f}",
                apply.refused,
                f"{total:.3f}",
                base.writes,
                f"{base.wall:.3f}",
                f"{base.wall / total:.1f}×",
            ]
        )
    return table(
        "Apply from empty: wall time against the bounds, and the baseline",
        [
            "size",
            "writes",
            "apply s",
            "bound s",
            "ratio",
            "ideal s",
            "vs ideal",
            "throttled s",
            "429s",
            "read+plan+apply s",
            "baseline writes",
            "baseline s",
            "baseline/ours",
        ],
        rows,
    )


def converged_table(results: list[SizeResult]) -> str:
    rows = []
    for r in results:
        ours, base = r.ours, r.baseline
        rows.append(
            [
                r.label,
                ours["replan"].operations,
                ours["reapply"].requests,
                ours["reapply"].writes,
                f"{ours['reapply'].read_wall + ours['reapply'].wall:.3f}",
                base["reapply"].requests,
                base["reapply"].writes,
                f"{base['reapply'].wall:.3f}",
            ]
        )
    return table(
        "Re-plan and re-apply after convergence (target: 0 writes)",
        [
            "size",
            "operations",
            "re-apply requests",
            "writes",
            "wall s",
            "baseline req",
            "baseline writes",
            "baseline wall s",
        ],
        rows,
    )


# ------------------------------------------------------------------------------ planner


@dataclass
class PlannerFigure:
    case: str
    operations: int
    cpu: float
    peak_mib: float


def _with_ids(state: State) -> State:
    """A live copy of `state`: the same objects with IDs, as the reader builds them."""
    flows = {}
    for slug, flow in state.flows.items():
        fields = {
            s: dataclasses.replace(f, id=f"id-{slug}-{s}", location=None)
            for s, f in flow.fields.items()
        }
        flows[slug] = dataclasses.replace(flow, id=f"id-{slug}", fields=fields, location=None)
    return State(flows=flows)


def _changed(state: State, every: int) -> State:
    """`state` with the name of every `every`-th field changed (an update each)."""
    flows = {}
    for slug, flow in state.flows.items():
        fields = {
            s: dataclasses.replace(f, name=f.name + " (old)") if i % every == 0 else f
            for i, (s, f) in enumerate(flow.fields.items())
        }
        flows[slug] = dataclasses.replace(flow, fields=fields)
    return State(flows=flows)


def _measure(function: Callable[[], Any], repeat: int) -> tuple[Any, float, float]:
    """(result, best CPU seconds of `repeat` runs, peak MiB of one traced run)."""
    best = float("inf")
    result: Any = None
    for _ in range(repeat):
        with Clock() as clock:
            result = function()
        best = min(best, clock.cpu)
    tracemalloc.start()
    try:
        function()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, best, peak / (1024 * 1024)


def run_planner(
    workdir: Path, flows: int = 100, fields: int = 100, repeat: int = 3
) -> list[PlannerFigure]:
    path = write_scenario(workdir / f"planner-{flows}x{fields}", flows, fields, split=True)
    figures = []
    desired, cpu, peak = _measure(lambda: load_desired([path]), 1)
    label = f"load + validate YAML ({flows} files, {flows * fields} fields)"
    figures.append(PlannerFigure(label, 0, cpu, peak))
    live = _with_ids(desired)
    cases = [
        ("plan from empty", State()),
        ("plan in sync", live),
        ("plan with 10% of fields changed", _changed(live, 10)),
    ]
    for name, live_state in cases:
        plan, cpu, peak = _measure(functools.partial(make_plan, desired, live_state), repeat)
        figures.append(PlannerFigure(name, len(plan.operations), cpu, peak))
    return figures


def planner_table(figures: list[PlannerFigure], fields: int) -> str:
    rows = [[f.case, f.operations, f"{f.cpu:.3f}", f"{f.peak_mib:.1f}"] for f in figures]
    return table(
        f"Pure planner on {fields} fields, no network",
        ["case", "operations", "CPU s", "peak MiB"],
        rows,
    )
