"""Resilience (issue 17): heavy faults, and simultaneous applies of the same files.

`run_heavy`: `provisioner apply --auto-approve` (a real CLI process) against a store that
answers half of the requests with 429/500/502/503 (`--fail-rate 0.5`) and loses the answers of
30% of the writes it commits (`--lost-write-rate 0.3`), on top of 20 ms and 100 requests/s.
Applies are repeated until one exits 0 and the store equals the files; the figure is how many
applies that took per seed (goal: one), with the duplicates found in the store's SQLite rows
(goal: none). "Equals the files" is `plan --detailed-exitcode` exit 0 read from the store's
database without its faults (`--local --db`): a check through the faulty store could fail on
its own reads, and an apply that exits 0 must leave the store equal to the files (an exit 0
followed by a plan with changes is recorded as `0!` and counted as a failed check).

`run_concurrent`: N `provisioner apply --auto-approve` processes of the same files started at
once against one store (20 ms, 100 requests/s): their exit codes, whether the store then equals
the files (`plan --detailed-exitcode`), duplicates, and how many extra applies were needed to
converge (goal: none).

`bench/frozen.py`: a store frozen for 150 s (issue 17.4). `python -m bench.resilience
heavy|concurrent|frozen ...` runs one part alone.
"""

from __future__ import annotations

import os
import re
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import PRODUCTION, Knobs, Store, store_process, table, write_scenario

MAX_APPLIES = 10


def _env(store: Store) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "EPCC_RATE_LIMIT")}
    env.update(store.env())
    env["NO_COLOR"] = "1"
    return env


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "provisioner", *args]


def _run(store: Store, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        _command(*args), capture_output=True, text=True, env=_env(store), cwd=cwd, check=False
    )


def _start(store: Store, cwd: Path, *args: str) -> subprocess.Popen[str]:
    """`python -m provisioner ARGS` against `store`, started (stdout and stderr piped)."""
    return subprocess.Popen(
        _command(*args),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(store),
        cwd=cwd,
    )


def _last_error(result: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in result.stderr.splitlines() if line.startswith("Error")]
    if lines:
        return lines[-1][:160]
    rest = result.stderr.strip().splitlines()
    return rest[-1][:160] if rest else ""


def _check(store: Store, cwd: Path, path: Path) -> subprocess.CompletedProcess[str]:
    """`plan --detailed-exitcode` of the store's database without its faults (0: equal)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("CI", "EPCC_RATE_LIMIT") and not k.startswith("EPCC_")
    }
    env["NO_COLOR"] = "1"
    command = _command("plan", "--detailed-exitcode", "--local", "--db", str(store.db_path))
    return subprocess.run(
        [*command, str(path)], capture_output=True, text=True, env=env, cwd=cwd, check=False
    )


@dataclass
class Applies:
    """Single applies until the store equals the files."""

    codes: list[str] = field(default_factory=list)  # "1", "0", or "0!": exit 0, store unequal
    unequal_after_success: list[str] = field(default_factory=list)  # the check plans' output

    def converge(self, store: Store, cwd: Path, path: Path, limit: int) -> int:
        """Apply until converged: the number of applies, 0 when not within `limit`."""
        for _ in range(limit):
            result = _run(store, cwd, "apply", "--auto-approve", str(path))
            if result.returncode != 0:
                self.codes.append(str(result.returncode))
                continue
            check = _check(store, cwd, path)
            if check.returncode == 0:
                self.codes.append("0")
                return len(self.codes)
            self.codes.append("0!")
            self.unequal_after_success.append(check.stdout + check.stderr)
        return 0


@dataclass
class HeavyRun:
    flows: int
    fields: int
    seed: int
    applies: int  # applies until converged; 0 = not within MAX_APPLIES
    codes: list[str]
    first_error: str
    wall: float
    duplicates: list[str]
    rows: tuple[int, int]
    unequal_after_success: list[str] = field(default_factory=list)
    first: FirstApply | None = None


@dataclass(frozen=True)
class FirstApply:
    """What the first apply of a heavy run did: the store's count of the requests it
    answered, the 429s among them, the lowest pace the client reports, wall and CPU seconds."""

    requests: int
    refused: int
    lowest_pace: str
    wall: float
    client_cpu: float
    store_cpu: float
    failures: tuple[str, ...] = ()  # its "failed:" lines, each operation with its reason


_LOWEST = re.compile(r"pace lowered to ([0-9.]+) req/s")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _first_apply(
    store: Store, cwd: Path, path: Path
) -> tuple[subprocess.CompletedProcess[str], FirstApply]:
    cpu, store_cpu, started = _children_cpu(), store.cpu_seconds(), time.perf_counter()
    result = _run(store, cwd, "apply", "--auto-approve", str(path))
    wall = time.perf_counter() - started
    client_cpu, store_cpu = _children_cpu() - cpu, store.cpu_seconds() - store_cpu
    stats = store.stats()
    refused = sum(int(item["count"]) for item in stats if int(item["status"]) == 429)
    lowest = _LOWEST.findall(result.stdout + result.stderr)
    first = FirstApply(
        sum(int(item["count"]) for item in stats),
        refused,
        lowest[-1] if lowest else "ceiling",
        wall,
        client_cpu,
        store_cpu,
        tuple(
            line.strip()[:300]
            for line in (result.stdout + result.stderr).splitlines()
            if line.startswith("  failed:")
        ),
    )
    return result, first


def heavy_run(directory: Path, flows: int, fields: int, seed: int) -> HeavyRun:
    path = write_scenario(directory / f"files-{flows}x{fields}", flows, fields)
    knobs = Knobs(
        latency_ms=PRODUCTION.latency_ms,
        rate_limit=PRODUCTION.rate_limit,
        fail_rate=0.5,
        lost_write_rate=0.3,
        seed=seed,
    )
    with store_process(directory, knobs, f"heavy-{flows}x{fields}-{seed}") as store:
        started = time.perf_counter()
        first, facts = _first_apply(store, directory, path)
        runs = Applies()
        if first.returncode != 0:
            runs.codes.append(str(first.returncode))
        else:
            check = _check(store, directory, path)
            runs.codes.append("0" if check.returncode == 0 else "0!")
            if check.returncode != 0:
                runs.unequal_after_success.append(check.stdout + check.stderr)
        applies = 1 if runs.codes == ["0"] else 0
        if not applies:
            more = runs.converge(store, directory, path, MAX_APPLIES - 1)
            applies = more if more else 0
        wall = time.perf_counter() - started
        return HeavyRun(
            flows,
            fields,
            seed,
            applies,
            runs.codes,
            "" if first.returncode == 0 else _last_error(first),
            wall,
            store.duplicates(),
            store.table_counts(),
            runs.unequal_after_success,
            facts,
        )


def run_heavy(
    workdir: Path,
    sizes: tuple[tuple[int, int], ...] = ((10, 10), (50, 20)),
    seeds: tuple[int, ...] = (1, 2, 3, 4, 5),
    log: Callable[[str], None] = print,
) -> list[HeavyRun]:
    directory = workdir / "heavy"
    directory.mkdir(parents=True, exist_ok=True)
    runs = []
    for flows, fields in sizes:
        for seed in seeds:
            run = heavy_run(directory, flows, fields, seed)
            log(
                f"  heavy {flows}x{fields} seed {seed}: {run.applies or 'not converged in'} "
                f"appl{'y' if run.applies == 1 else 'ies'} (exits {run.codes}), "
                f"{run.wall:.1f} s, rows {run.rows}, duplicates {len(run.duplicates)}"
            )
            runs.append(run)
    return runs


def heavy_table(runs: list[HeavyRun]) -> str:
    rows = [
        [
            f"{r.flows} x {r.fields}",
            r.seed,
            r.applies if r.applies else f"> {MAX_APPLIES}",
            " ".join(str(c) for c in r.codes),
            f"{r.rows[0]} / {r.rows[1]}",
            len(r.duplicates),
            f"{r.wall:.1f}",
            *_first_cells(r.first),
            r.first_error or "-",
        ]
        for r in runs
    ]
    return table(
        "Heavy faults: --fail-rate 0.5 --lost-write-rate 0.3, 20 ms, 100 req/s (CLI applies until"
        " converged)",
        [
            "flows x fields",
            "seed",
            "applies needed",
            "exit codes",
            "rows flows / fields",
            "duplicates",
            "wall s",
            "1st apply: requests",
            "429s",
            "lowest pace",
            "wall s",
            "client CPU s",
            "store CPU s",
            "first apply's error",
        ],
        rows,
    )


def _first_cells(first: FirstApply | None) -> list[str]:
    if first is None:
        return ["-"] * 6
    return [
        str(first.requests),
        str(first.refused),
        first.lowest_pace,
        f"{first.wall:.1f}",
        f"{first.client_cpu:.1f}",
        f"{first.store_cpu:.1f}",
    ]


@dataclass
class ConcurrentRun:
    flows: int
    fields: int
    processes: int
    trial: int
    codes: list[int]
    equal: bool  # plan --detailed-exitcode exit 0 right after the simultaneous applies
    extra_applies: int  # single applies needed afterwards to converge (0 = none needed)
    duplicates: list[str]
    rows: tuple[int, int]
    wall: float
    errors: list[str]


def concurrent_run(
    directory: Path, flows: int, fields: int, processes: int, trial: int
) -> ConcurrentRun:
    path = write_scenario(directory / f"files-{flows}x{fields}", flows, fields)
    with store_process(
        directory, PRODUCTION, f"conc-{flows}x{fields}-{processes}-{trial}"
    ) as store:
        started = time.perf_counter()
        children = [
            _start(store, directory, "apply", "--auto-approve", str(path)) for _ in range(processes)
        ]
        results = [child.communicate() for child in children]
        wall = time.perf_counter() - started
        codes = [child.returncode for child in children]
        errors = [
            _last_error(subprocess.CompletedProcess([], code, out, err))
            for code, (out, err) in zip(codes, results, strict=True)
            if code != 0
        ]
        equal = _check(store, directory, path).returncode == 0
        extra = 0
        if not equal:
            more = Applies().converge(store, directory, path, MAX_APPLIES)
            extra = more if more else -1
        return ConcurrentRun(
            flows,
            fields,
            processes,
            trial,
            codes,
            equal,
            extra,
            store.duplicates(),
            store.table_counts(),
            wall,
            errors,
        )


def run_concurrent(
    workdir: Path,
    sizes: tuple[tuple[int, int], ...] = ((10, 10), (50, 20)),
    counts: tuple[int, ...] = (2, 4, 8),
    trials: int = 5,
    log: Callable[[str], None] = print,
) -> list[ConcurrentRun]:
    directory = workdir / "concurrent"
    directory.mkdir(parents=True, exist_ok=True)
    runs = []
    for flows, fields in sizes:
        for processes in counts:
            for trial in range(1, trials + 1):
                run = concurrent_run(directory, flows, fields, processes, trial)
                log(
                    f"  {processes} x apply {flows}x{fields} trial {trial}: exits {run.codes}, "
                    f"store equal {run.equal}, extra applies {run.extra_applies}, "
                    f"duplicates {len(run.duplicates)}, {run.wall:.1f} s"
                )
                runs.append(run)
    return runs


def concurrent_table(runs: list[ConcurrentRun]) -> str:
    rows = [
        [
            f"{r.flows} x {r.fields}",
            r.processes,
            r.trial,
            " ".join(str(c) for c in r.codes),
            "yes" if r.equal else "no",
            r.extra_applies if r.extra_applies >= 0 else f"> {MAX_APPLIES}",
            f"{r.rows[0]} / {r.rows[1]}",
            len(r.duplicates),
            f"{r.wall:.1f}",
            "; ".join(sorted(set(r.errors))) or "-",
        ]
        for r in runs
    ]
    return table(
        "Simultaneous applies of the same files (20 ms, 100 req/s store; each CLI at 100 req/s)",
        [
            "flows x fields",
            "processes",
            "trial",
            "exit codes",
            "store = files after",
            "extra applies",
            "rows flows / fields",
            "duplicates",
            "wall s",
            "errors",
        ],
        rows,
    )


def _size(text: str) -> tuple[int, int]:
    flows, _, fields = text.partition("x")
    return int(flows), int(fields)


def main(argv: list[str] | None = None) -> int:
    """`python -m bench.resilience heavy|concurrent|frozen ...`: one part of the suites, for
    measuring a size, a seed or a process count alone (bench/run.py runs them all)."""
    import argparse
    import tempfile

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("what", choices=["heavy", "concurrent", "frozen"])
    parser.add_argument("--size", type=_size, action="append", help="FLOWSxFIELDS, repeatable")
    parser.add_argument("--seed", type=int, action="append", help="heavy: repeatable")
    parser.add_argument("--processes", type=int, action="append", help="concurrent: repeatable")
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=150.0, help="frozen: how long")
    args = parser.parse_args(argv)
    sizes = tuple(args.size or [(10, 10), (50, 20)])
    failed = False
    with tempfile.TemporaryDirectory(prefix="provisioner-resilience-") as scratch:
        root = Path(scratch)
        if args.what == "heavy":
            runs = run_heavy(root, sizes, tuple(args.seed or (1, 2, 3, 4, 5)))
            print(heavy_table(runs))
            for run in runs:
                for line in run.first.failures if run.first else ():
                    print(f"{run.flows}x{run.fields} seed {run.seed}, first apply: {line}")
                for text in run.unequal_after_success:
                    print(f"seed {run.seed}: exit 0 but the store differs:\n{text}")
            failed = any(r.duplicates or r.unequal_after_success for r in runs)
        elif args.what == "concurrent":
            counts = tuple(args.processes or (2, 4, 8))
            together = run_concurrent(root, sizes, counts, args.trials)
            print(concurrent_table(together))
            failed = any(
                r.duplicates or (not r.equal and all(c == 0 for c in r.codes)) for r in together
            )
        else:
            from bench.frozen import frozen_run, frozen_table

            frozen = frozen_run(root, args.seconds)
            print(frozen_table([frozen]))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
