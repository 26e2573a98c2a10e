"""Scale (issue 16): validate, plan and export of tens of thousands of fields.

Whole `provisioner` processes, as a user runs them, each measured by the kernel: CPU (user +
system, `os.wait4`'s rusage of that child alone), wall time and peak RSS. The machine is
shared, so CPU time is the figure for CPU goals and the load average is printed beside it.

- validate: 100 files of 100 fields (10,000 fields); and the examples (the pre-commit case);
- plan against an empty store (3 requests) at 1,000, 10,000 and 50,000 fields;
- plan against a converged store of 25,000 fields (250 flows of 100): the store is filled
  through its storage with exactly what an apply writes (the planner's `after` of each create),
  and the plan must show no change; its requests are counted by the store, and the wall goal is
  requests / rate + 5 s;
- export of those 25,000 fields to a directory (one file per flow);
- growth: CPU per 1,000 fields of loading + planning + rendering in-process (no process
  start-up, which would dominate the small size) at 1k, 10k and 50k; flat within 1.5x.

Stores run in their own process with the production knobs (20 ms per request, 100 requests/s).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import PRODUCTION, ROOT, Knobs, Store, store_process, table, write_scenario
from provisioner.config import load_desired
from provisioner.localstore.storage import Storage, new_id
from provisioner.model import State
from provisioner.planner import plan as make_plan
from provisioner.views.text import render_text

CLI = [sys.executable, "-m", "provisioner"]


@dataclass
class Run:
    """One whole process."""

    label: str
    cpu: float
    wall: float
    rss_mb: float
    code: int
    requests: int = 0
    goal: str = ""
    met: bool = True
    note: str = ""


def run_cli(
    args: Sequence[str], env: dict[str, str] | None = None
) -> tuple[int, float, float, float, str]:
    """(exit code, CPU s, wall s, peak RSS MB, output tail) of one CLI process.

    Through GNU time, which forks the CLI from its own small process: a child forked from this
    (large) bench process would report this process's memory as its peak."""
    started = time.perf_counter()
    result = subprocess.run(
        ["/usr/bin/time", "-f", "__rusage__ %M %U %S", *CLI, *args],
        capture_output=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        check=False,
    )
    wall = time.perf_counter() - started
    err = result.stderr.decode("utf-8", "replace")
    usage = [line for line in err.splitlines() if line.startswith("__rusage__")][-1].split()
    rss_mb, cpu = int(usage[1]) / 1024, float(usage[2]) + float(usage[3])
    tail = result.stdout.decode("utf-8", "replace")[-300:] + err.replace(" ".join(usage), "")[-300:]
    return result.returncode, cpu, wall, rss_mb, tail


def best(
    runs: int, args: Sequence[str], env: dict[str, str] | None = None
) -> tuple[int, float, float, float, str]:
    """The run with the least CPU of `runs` (the machine is shared)."""
    results = [run_cli(args, env) for _ in range(runs)]
    return min(results, key=lambda r: r[1])


def converge(store: Store, desired_path: Path) -> None:
    """Fill the store with what an apply of `desired_path` would write, through its storage."""
    desired = load_desired([desired_path])
    operations = make_plan(desired, State()).operations
    storage = Storage(store.db_path)
    flow_ids: dict[str, str] = {}
    for op in operations:
        if op.kind.value == "create_flow":
            after = dict(op.after or {})
            created = storage.create_flow({**after, "slug": op.flow_slug})
            flow_ids[op.flow_slug] = created["id"]
    with storage.transaction(write=True) as conn:
        for op in operations:
            if op.kind.value == "create_field":
                attrs = {**(op.after or {}), "slug": op.field_slug}
                storage._write_field(conn, new_id(), flow_ids[op.flow_slug], attrs)


def in_process_cpu(path: Path) -> float:
    """CPU of load + plan from empty + text rendering, in this process."""
    started = time.process_time()
    desired = load_desired([path])
    render_text(make_plan(desired, State()))
    return time.process_time() - started


def run_scale(
    workdir: Path, quick: bool, log: Callable[[str], None]
) -> tuple[list[Run], list[list[Any]], list[str]]:
    """The runs, the growth rows and the failed checks."""
    big, mid, small = (600, 300, 100) if quick else (50_000, 25_000, 10_000)
    repeat = 1 if quick else 3
    runs: list[Run] = []
    failures: list[str] = []
    scenarios: dict[int, Path] = {}
    for fields in sorted({1000 if not quick else 50, small, mid, big}):
        flows = max(1, fields // 100)
        scenarios[fields] = write_scenario(
            workdir / f"s{fields}", flows, min(100, fields), split=True
        )

    log(f"  validate {small} fields ...")
    code, cpu, wall, rss, tail = best(repeat, ["validate", str(scenarios[small])])
    runs.append(
        Run(
            f"validate {small} fields in {small // 100} files",
            cpu,
            wall,
            rss,
            code,
            goal="CPU <= 1.0 s",
            met=cpu <= 1.0,
        )
    )
    code, cpu, wall, rss, tail = best(5 if not quick else 1, ["validate", "examples/"])
    runs.append(
        Run(
            "validate examples/ (pre-commit)",
            cpu,
            wall,
            rss,
            code,
            goal="wall <= 0.25 s",
            met=wall <= 0.25,
        )
    )
    code, cpu, wall, rss, tail = best(repeat, ["--version"])
    runs.append(Run("--version", cpu, wall, rss, code))

    with store_process(workdir / "empty", PRODUCTION, "empty") as store:
        for fields in sorted(scenarios):
            if fields == mid:
                continue
            log(f"  plan {fields} fields against an empty store ...")
            store.reset_stats()
            code, cpu, wall, rss, tail = best(
                repeat if fields < big else 1, ["plan", str(scenarios[fields])], store.env()
            )
            requests = store.counts().total // (repeat if fields < big else 1)
            run = Run(f"plan {fields} fields, empty store", cpu, wall, rss, code, requests)
            if fields == big:
                run.goal = "CPU <= 5 s; RSS <= 200 MB"
                run.met = cpu <= 5.0 and rss <= 200
            if code != 2 and code != 0:
                failures.append(f"plan {fields}: exit {code}: {tail}")
            runs.append(run)

    knobs = Knobs(latency_ms=PRODUCTION.latency_ms, rate_limit=PRODUCTION.rate_limit)
    with store_process(workdir / "converged", knobs, "converged") as store:
        log(f"  converging a store of {mid} fields ...")
        converge(store, scenarios[mid])
        log(f"  plan {mid} fields against the converged store ...")
        store.reset_stats()
        code, cpu, wall, rss, tail = run_cli(
            ["plan", str(scenarios[mid]), "--detailed-exitcode"], store.env()
        )
        requests = store.counts().total
        bound = requests / (knobs.rate_limit or 100.0) + 5.0
        runs.append(
            Run(
                f"plan {mid} fields, converged store",
                cpu,
                wall,
                rss,
                code,
                requests,
                goal=f"CPU <= 5 s; wall <= {bound:.1f} s",
                met=cpu <= 5.0 and wall <= bound,
                note="exit 0: no changes" if code == 0 else tail,
            )
        )
        if code != 0:
            failures.append(f"converged plan of {mid} fields is not empty (exit {code}): {tail}")
        log(f"  export {mid} fields ...")
        store.reset_stats()
        out = workdir / "export" / "flows"
        code, cpu, wall, rss, tail = run_cli(
            ["export", "-o", f"{out}{os.sep}", "--force"], store.env()
        )
        requests = store.counts().total
        runs.append(
            Run(
                f"export {mid} fields to a directory",
                cpu,
                wall,
                rss,
                code,
                requests,
                goal="CPU <= 5 s",
                met=cpu <= 5.0,
            )
        )
        if code != 0:
            failures.append(f"export of {mid} fields failed (exit {code}): {tail}")
        else:
            exported = len(list(out.glob("*.yaml")))
            if exported != mid // 100:
                failures.append(f"export wrote {exported} files for {mid // 100} flows")

    log("  growth ...")
    growth: list[list[Any]] = []
    for fields in sorted({1000 if not quick else 50, small, big}):
        cpu = min(in_process_cpu(scenarios[fields]) for _ in range(1 if fields == big else repeat))
        growth.append([fields, f"{cpu:.3f}", f"{cpu / fields * 1000:.3f}"])
    per = [float(row[2]) for row in growth]
    ratio = max(per) / min(per)
    growth.append(["max / min", "", f"{ratio:.2f}"])
    if not quick and ratio > 1.5:
        failures.append(f"CPU per 1,000 fields varies {ratio:.2f}x (goal: within 1.5x)")
    return runs, growth, failures


def scale_tables(runs: Sequence[Run], growth: Sequence[Sequence[Any]]) -> str:
    load = os.getloadavg()
    rows = [
        [
            r.label,
            r.code,
            f"{r.cpu:.2f}",
            f"{r.wall:.2f}",
            f"{r.rss_mb:.0f}",
            r.requests or "",
            r.goal,
            ("met" if r.met else "NOT met") if r.goal else "",
        ]
        for r in runs
    ]
    first = table(
        f"Scale: whole processes (load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f})",
        ["run", "exit", "CPU s", "wall s", "peak RSS MB", "requests", "goal", ""],
        rows,
    )
    second = table(
        "Scale: CPU per 1,000 fields (load + plan from empty + text view, in-process)",
        ["fields", "CPU s", "CPU s per 1,000 fields"],
        growth,
    )
    return first + second


def as_json(runs: Sequence[Run]) -> str:
    return json.dumps([r.__dict__ for r in runs], indent=2)
