"""Environments at scale (issue 13): N environments on N local stores, each in its own process.

    python bench/environments.py [--environments 20] [--flows 10] [--fields 100]

Every store runs at 20 ms per request and 100 requests/s (`PRODUCTION`), and the project file
gives each environment `rate_limit = 100`. Measured through the real CLI, each command in a
fresh Python process (the command's own wall time is measured inside it, start-up apart):

- single: `apply --env` of one environment from empty, on two stores of their own (the
  slowest is the reference), then `plan --env` of one filled store;
- all: `apply --all` from empty on the N stores, then `plan --all` on them filled, with the
  requests every store served (store statistics) and the peak memory of the `plan --all`
  process (ru_maxrss).

Targets (the issue's): plan --all at most 1.5 x one plan; requests exactly N x the
single-store minimum; apply --all at most 1.3 x the slowest single apply. The figures are
printed with their ratios; a missed target is reported, not hidden.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):  # run as `python bench/environments.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (
    PRODUCTION,
    Store,
    minimum_plan_requests,
    store_process,
    table,
    write_scenario,
)

# Runs the CLI in-process and writes the command's own wall time (imports and interpreter
# start-up excluded: they are the same for every row, and dominate small runs on a busy
# machine) and the process's peak RSS (KiB on Linux) to the file named first.
_RUNNER = (
    "import resource, sys, time\n"
    "from provisioner.cli import main\n"
    "out = sys.argv.pop(1)\n"
    "started = time.perf_counter()\n"
    "try:\n"
    "    main(sys.argv[1:])\n"
    "finally:\n"
    "    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
    "    open(out, 'w').write(f'{time.perf_counter() - started} {peak}')\n"
)


@dataclass(frozen=True)
class Run:
    """One CLI run: the command's wall time (and the process's), exit code, peak memory (MiB)
    and the requests the stores served."""

    label: str
    wall: float
    process_wall: float
    code: int
    peak_mib: float
    requests: int
    writes: int


def write_project(directory: Path, stores: dict[str, Store], flows: Path) -> Path:
    lines = [f'paths = ["{flows.relative_to(directory).as_posix()}/"]', ""]
    for name, store in stores.items():
        upper = name.upper()
        lines += [
            f"[environments.{name}]",
            f'base_url = "{store.base_url}"',
            f'client_id_env = "{upper}_ID"',
            f'client_secret_env = "{upper}_SECRET"',
            f"rate_limit = {PRODUCTION.rate_limit:g}",
            "",
        ]
    path = directory / f"{'-'.join(sorted(stores))[:40]}.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def variables(stores: dict[str, Store]) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("EPCC_") and key not in ("CI", "NO_COLOR")
    }
    for name, store in stores.items():
        env[f"{name.upper()}_ID"] = store.client_id
        env[f"{name.upper()}_SECRET"] = store.client_secret
    return env


def run_cli(label: str, args: list[str], stores: dict[str, Store], cwd: Path) -> Run:
    for store in stores.values():
        store.reset_stats()
    peak_file = cwd / "peak.txt"
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", _RUNNER, str(peak_file), *args],
        cwd=cwd,
        env=variables(stores),
        capture_output=True,
        text=True,
        check=False,
    )
    process_wall = time.perf_counter() - started
    if result.returncode not in (0, 2):
        print(result.stdout[-2000:], result.stderr[-2000:], file=sys.stderr)
    counts = [store.counts() for store in stores.values()]
    wall, peak_kib = (float(x) for x in peak_file.read_text().split())
    peak_file.unlink()
    return Run(
        label,
        wall,
        process_wall,
        result.returncode,
        peak_kib / 1024,
        sum(c.total for c in counts),
        sum(c.writes for c in counts),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--environments", type=int, default=20)
    parser.add_argument("--flows", type=int, default=10)
    parser.add_argument("--fields", type=int, default=100)
    args = parser.parse_args(argv)
    n, flows, fields = args.environments, args.flows, args.fields
    failures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-envs-") as tmp, ExitStack() as stack:
        workdir = Path(tmp)
        shared = write_scenario(workdir / "shared", flows, fields, split=True)
        print(f"starting {n + 2} stores ...", flush=True)
        every = {
            f"env{i:02d}": stack.enter_context(store_process(workdir, PRODUCTION, f"env{i:02d}"))
            for i in range(n)
        }
        solos = {
            f"solo{i}": stack.enter_context(store_process(workdir, PRODUCTION, f"solo{i}"))
            for i in range(2)
        }
        all_project = write_project(workdir, every, shared)
        solo_project = write_project(workdir, solos, shared)
        runs: list[Run] = []
        for name in solos:
            print(f"apply --env {name} ...", flush=True)
            runs.append(
                run_cli(
                    f"apply --env {name} (1 store, from empty)",
                    ["apply", "--project", str(solo_project), "--env", name, "--auto-approve"],
                    {name: solos[name]},
                    workdir,
                )
            )
        print("plan --env solo0 ...", flush=True)
        single_plan = run_cli(
            "plan --env solo0 (1 store, filled)",
            ["plan", "--project", str(solo_project), "--env", "solo0"],
            {"solo0": solos["solo0"]},
            workdir,
        )
        runs.append(single_plan)
        print(f"apply --all ({n} stores) ...", flush=True)
        apply_all = run_cli(
            f"apply --all ({n} stores, from empty)",
            ["apply", "--project", str(all_project), "--all", "--auto-approve"],
            every,
            workdir,
        )
        runs.append(apply_all)
        print(f"plan --all ({n} stores) ...", flush=True)
        plan_all = run_cli(
            f"plan --all ({n} stores, filled)",
            ["plan", "--project", str(all_project), "--all", "--detailed-exitcode"],
            every,
            workdir,
        )
        runs.append(plan_all)
        filled = [store.table_counts() for store in every.values()]

    minimum = minimum_plan_requests(flows, flows * fields)
    slowest = max(r.wall for r in runs if r.label.startswith("apply --env"))
    print(
        table(
            f"Environments: {n} stores at {PRODUCTION.latency_ms:g} ms, "
            f"{PRODUCTION.rate_limit:g} req/s each, {flows} flows x {fields} fields",
            ["run", "command s", "process s", "exit", "requests", "writes", "peak MiB"],
            [
                [
                    r.label,
                    f"{r.wall:.2f}",
                    f"{r.process_wall:.2f}",
                    r.code,
                    r.requests,
                    r.writes,
                    f"{r.peak_mib:.0f}",
                ]
                for r in runs
            ],
        )
    )
    plan_ratio = plan_all.wall / single_plan.wall
    apply_ratio = apply_all.wall / slowest
    print(
        table(
            "Environments: targets",
            ["figure", "measured", "target", "met"],
            [
                ["plan --all / plan --env", f"{plan_ratio:.2f}x", "<= 1.5x", plan_ratio <= 1.5],
                [
                    "plan --all requests",
                    plan_all.requests,
                    f"= {n} x {minimum} = {n * minimum}",
                    plan_all.requests == n * minimum,
                ],
                [
                    "apply --all / slowest apply --env",
                    f"{apply_ratio:.2f}x",
                    "<= 1.3x",
                    apply_ratio <= 1.3,
                ],
                ["plan --all peak memory", f"{plan_all.peak_mib:.0f} MiB", "reported", True],
            ],
        )
    )
    if any(counts != (flows, flows * fields) for counts in filled):
        failures.append(f"apply --all did not fill every store: {filled}")
    if plan_all.code != 0 or apply_all.code != 0:
        failures.append(f"exit codes: apply --all {apply_all.code}, plan --all {plan_all.code}")
    if plan_all.requests != n * minimum:
        failures.append(f"plan --all made {plan_all.requests} requests, not {n * minimum}")
    for failure in failures:
        print(f"FAILED: {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
