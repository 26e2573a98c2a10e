"""`make bench`: run the benchmark, fault and bad-input suites and print tables of figures.

    python bench/run.py [--suite plan|apply|faults|kill|planner|scale|heavy|concurrent|frozen|
                                  environments|fuzz|api|pacing|all]
                        [--quick] [--out FILE]

- plan, apply: 1×10, 10×10 and 10×100 (flows × fields) against stores at 20 ms per request
  and 100 requests/s, ours beside the baseline (one run serves both suites);
- planner: the pure planner on 10,000 fields (CPU time, peak memory);
- scale: whole `validate`, `plan` and `export` processes at 10,000 to 50,000 fields (issue 16,
  `bench/scale.py`): CPU, wall, peak RSS against the issue's goals, and CPU per 1,000 fields;
- faults: the 10×10 apply with 20% failed answers and 5% lost answers, several seeds;
- kill: the 10×10 apply SIGKILLed at 20 random points, each followed by a finishing run;
- heavy: CLI applies of 10×10 and 50×20 through 50% failed and 30% lost answers, 5 seeds:
  applies needed to converge (issue 17);
- concurrent: 2, 4 and 8 simultaneous CLI applies of 10×10 and 50×20, 5 trials each (17);
- frozen: an apply against a store frozen (SIGSTOP) for 150 s, then one whose store freezes
  half-way: time to the error (17.4);
- environments: 20 environments on 20 stores, `plan --all` and `apply --all` against one
  environment's plan and apply (issue 13, `bench/environments.py`);
- fuzz: the bad-input fuzzers of the unit suite, with thousands of examples;
- api: the local store fuzzed against its OpenAPI spec (schemathesis);
- pacing: issue 11's adaptive pace: stores limited to 2-25 req/s, a store shared with another
  client, a store 150 ms away, and plan + apply with the default ceiling and a matched one.

`all` runs every suite but `api` twice over: each once. `--quick` shrinks every suite to a
smoke run (tests/test_bench_smoke.py uses it). `--out` also writes the tables as Markdown.
The exit code is 1 when a correctness check failed (not for slow figures).
"""

from __future__ import annotations

import argparse
import datetime
import itertools
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as `python bench/run.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hypothesis.strategies import SearchStrategy

from bench import apifuzz, environments, faults, frozen, pacing, perf, resilience, scale
from bench.badinput import (
    FuzzStats,
    bad_ports,
    bad_rates,
    check_environment_case,
    check_input,
    environment_cases,
    generated_case,
    raw_bytes,
    yaml_documents,
)
from bench.common import Knobs, Store, minimum_plan_requests, store_process, table

SUITES = (
    "plan",
    "apply",
    "planner",
    "scale",
    "faults",
    "kill",
    "heavy",
    "concurrent",
    "frozen",
    "environments",
    "fuzz",
    "api",
    "pacing",
)


@dataclass
class Report:
    """The tables and the failed checks of one bench run."""

    sections: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    figures: dict[str, object] = field(default_factory=dict)

    def add(self, text: str) -> None:
        print(text, flush=True)
        self.sections.append(text)


def header(argv: Sequence[str]) -> str:
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    return (
        f"Machine: {os.cpu_count()} CPUs (nproc), {platform.platform()}, "
        f"Python {platform.python_version()}; load average before the run "
        f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}\n"
        f"Date: {datetime.datetime.now(datetime.UTC).strftime('%Y-%m-%d %H:%M UTC')}\n"
        f"Command: python bench/run.py {' '.join(argv)}"
    )


def run_perf(workdir: Path, quick: bool, report: Report, log: Callable[[str], None]) -> None:
    sizes = perf.QUICK_SIZES if quick else perf.SIZES
    results = perf.run_sizes(workdir, sizes, log=log)
    report.figures["sizes"] = results
    report.add(perf.plan_table(results))
    report.add(perf.apply_table(results))
    report.add(perf.converged_table(results))
    for r in results:
        if r.ours["replan"].operations or r.ours["reapply"].writes:
            report.failures.append(f"{r.label}: not converged after one apply")
        minimum = minimum_plan_requests(r.flows, r.flows * r.fields)
        if r.ours["replan"].requests > minimum:
            report.failures.append(f"{r.label}: plan used more than the minimum of requests")


def run_planner(workdir: Path, quick: bool, report: Report, log: Callable[[str], None]) -> None:
    flows, fields = (10, 100) if quick else (100, 100)
    log(f"  planner on {flows * fields} fields ...")
    figures = perf.run_planner(workdir, flows, fields, repeat=1 if quick else 3)
    report.figures["planner"] = figures
    report.add(perf.planner_table(figures, flows * fields))


def run_scale(workdir: Path, quick: bool, report: Report, log: Callable[[str], None]) -> None:
    runs, growth, failures = scale.run_scale(workdir / "scale", quick, log)
    report.figures["scale"] = runs
    report.add(scale.scale_tables(runs, growth))
    report.failures += failures


def run_faults(workdir: Path, quick: bool, report: Report, log: Callable[[str], None]) -> None:
    seeds = (1,) if quick else (1, 2, 3, 4, 5)
    flows, fields = (2, 5) if quick else (faults.FAULT_FLOWS, faults.FAULT_FIELDS)
    runs = faults.run_faults(workdir, seeds, flows, fields, log=log)
    report.figures["faults"] = runs
    report.add(faults.faults_table(runs, flows, fields))
    for r in runs:
        if not r.converged or r.rows != (flows, flows * fields):
            report.failures.append(f"{r.label}: did not converge in one run ({r.error})")


def run_kills(workdir: Path, quick: bool, report: Report, log: Callable[[str], None]) -> None:
    count = 2 if quick else 20
    flows, fields = (2, 5) if quick else (faults.FAULT_FLOWS, faults.FAULT_FIELDS)
    runs = faults.run_kills(workdir, count, flows, fields, log=log)
    report.figures["kills"] = runs
    report.add(faults.kills_table(runs, flows, fields))
    for r in runs:
        if not r.converged or r.rows != (flows, flows * fields):
            report.failures.append(
                f"kill {r.index + 1}: the next run did not converge: {r.second_output}"
            )


def run_heavy(workdir: Path, quick: bool, report: Report, log: Callable[[str], None]) -> None:
    sizes = ((2, 5),) if quick else ((10, 10), (50, 20))
    seeds = (1,) if quick else (1, 2, 3, 4, 5)
    runs = resilience.run_heavy(workdir, sizes, seeds, log=log)
    report.figures["heavy"] = runs
    report.add(resilience.heavy_table(runs))
    for r in runs:
        if r.duplicates or not r.applies:
            report.failures.append(
                f"heavy {r.flows}x{r.fields} seed {r.seed}: duplicates {r.duplicates}, "
                f"converged after {r.applies or 'more than ' + str(resilience.MAX_APPLIES)} applies"
            )
        # An apply that exits 0 must leave the store equal to the files.
        for text in r.unequal_after_success:
            report.failures.append(
                f"heavy {r.flows}x{r.fields} seed {r.seed}: an apply exited 0 but the store "
                f"does not equal the files:\n{text}"
            )


def run_concurrent(workdir: Path, quick: bool, report: Report, log: Callable[[str], None]) -> None:
    sizes = ((2, 5),) if quick else ((10, 10), (50, 20))
    counts = (2,) if quick else (2, 4, 8)
    runs = resilience.run_concurrent(workdir, sizes, counts, 1 if quick else 5, log=log)
    report.figures["concurrent"] = runs
    report.add(resilience.concurrent_table(runs))
    for r in runs:
        # A success over a store that does not equal the files is the one thing never allowed.
        if r.duplicates or (all(code == 0 for code in r.codes) and not r.equal):
            report.failures.append(
                f"{r.processes} x apply {r.flows}x{r.fields} trial {r.trial}: exits {r.codes},"
                f" store equal {r.equal}, duplicates {r.duplicates}"
            )


def run_frozen(workdir: Path, quick: bool, report: Report, log: Callable[[str], None]) -> None:
    # The documented deadline is 120 s: the run takes that long whatever the size.
    run = frozen.frozen_run(workdir, 150.0 if not quick else 5.0, 2 if quick else 10)
    log(f"  frozen store: exit {run.exit_code} after {run.seconds_to_error:.1f} s: {run.error}")
    report.figures["frozen"] = run
    report.add(frozen.frozen_table([run]))
    if run.exit_code == 0 or "did not answer within" not in run.error:
        report.failures.append(f"frozen store: exit {run.exit_code}, {run.error!r}")
    if quick:
        return
    mid = frozen.frozen_mid_apply_run(workdir)
    log(
        f"  frozen mid-apply: exit {mid.exit_code} after {mid.seconds_to_error:.1f} s,"
        f" {mid.sent_after_freeze} served on waking: {mid.error}"
    )
    report.figures["frozen_mid_apply"] = mid
    report.add(frozen.mid_apply_table([mid]))
    if mid.exit_code == 0 or mid.failures == 0:
        report.failures.append(f"frozen mid-apply: exit {mid.exit_code}, {mid.error!r}")


def run_environments(
    workdir: Path, quick: bool, report: Report, log: Callable[[str], None]
) -> None:
    n, flows, fields = (2, 2, 5) if quick else (20, 10, 100)
    directory = workdir / "environments"
    directory.mkdir(parents=True, exist_ok=True)
    measured = environments.measure(directory, n, flows, fields, log=log)
    report.figures["environments"] = measured
    for text in measured.tables:
        report.add(text)
    report.failures += [f"environments: {failure}" for failure in measured.failures]


def run_fuzz(workdir: Path, quick: bool, report: Report, log: Callable[[str], None]) -> None:
    examples = 20 if quick else 2500
    rows = []
    with store_process(workdir / "fuzz", Knobs(latency_ms=0, rate_limit=None), "fuzz") as store:
        for name, strategy in (("YAML documents", yaml_documents()), ("raw bytes", raw_bytes)):
            log(f"  fuzz {name}: {examples} examples ...")
            stats = FuzzStats()
            fuzz = _fuzzer(
                strategy, examples, workdir / "fuzz" / name.replace(" ", "-"), store, stats
            )
            started = time.perf_counter()
            fuzz()
            wall = time.perf_counter() - started
            rows.append(
                [
                    name,
                    stats.inputs,
                    stats.invalid,
                    stats.valid,
                    stats.cli_runs,
                    len(stats.problems),
                    f"{wall:.1f}",
                ]
            )
            report.failures += stats.problems[:20]
        rows += _environment_rows(workdir / "fuzz" / "environment", quick, store, report, log)
        writes = store.counts().writes
    rows.append(["store writes during the whole run", writes, "", "", "", "", ""])
    if writes:
        report.failures.append(f"{writes} write request(s) reached the store during the fuzz")
    report.add(
        table(
            "Bad input: validate, plan, apply on generated files and environments",
            ["input family", "inputs", "invalid", "valid", "CLI runs", "failures", "wall s"],
            rows,
        )
    )


def _environment_rows(
    directory: Path, quick: bool, store: Store, report: Report, log: Callable[[str], None]
) -> list[list[Any]]:
    """Issue 10: URLs, ports, database paths, output paths and variables, each family a row;
    then generated ports and rate limits."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    counter = itertools.count()
    families: dict[str, tuple[FuzzStats, float]] = {}
    cases = environment_cases()
    if quick:  # a smoke run: the first case of each family (the unit suite runs them all)
        firsts: dict[str, Any] = {}
        for case in cases:
            firsts.setdefault(case.family, case)
        cases = list(firsts.values())
    log(f"  environment: {len(cases)} fixed cases ...")
    for case in cases:
        stats, wall = families.get(case.family, (FuzzStats(), 0.0))
        started = time.perf_counter()
        where = directory / str(next(counter))
        check_environment_case(case, where, store.env(), lambda: store.counts().writes, stats)
        families[case.family] = (stats, wall + time.perf_counter() - started)
    examples = 10 if quick else 300
    log(f"  environment: {examples} generated ports and rate limits ...")
    generated = FuzzStats()

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(
        pick=st.one_of(bad_ports.map(lambda v: ("port", v)), bad_rates.map(lambda v: ("rate", v)))
    )
    def fuzz(pick: tuple[str, str]) -> None:
        case = generated_case(*pick)
        where = directory / str(next(counter))
        check_environment_case(case, where, store.env(), lambda: store.counts().writes, generated)

    started = time.perf_counter()
    fuzz()
    families["generated ports and rate limits"] = (generated, time.perf_counter() - started)
    rows: list[list[Any]] = []
    for family, (stats, wall) in families.items():
        rows.append(
            [
                f"environment: {family}",
                stats.inputs,
                stats.invalid,
                stats.valid,
                stats.cli_runs,
                len(stats.problems),
                f"{wall:.1f}",
            ]
        )
        report.failures += stats.problems[:20]
    return rows


def _fuzzer(
    strategy: SearchStrategy[bytes], examples: int, directory: Path, store: Store, stats: FuzzStats
) -> Callable[[], None]:
    """A hypothesis test running `check_input` on `examples` inputs from `strategy`."""
    from hypothesis import HealthCheck, given, settings

    counter = itertools.count()

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(raw=strategy)
    def fuzz(raw: bytes) -> None:
        where = directory / str(next(counter))
        check_input(raw, where, store.env(), lambda: store.counts().total, stats)

    result: Callable[[], None] = fuzz
    return result


def run_api(workdir: Path, quick: bool, report: Report, log: Callable[[str], None]) -> None:
    results = apifuzz.run_apifuzz(workdir, examples=5 if quick else 200, log=log)
    report.figures["api"] = results
    report.add(apifuzz.apifuzz_table(results))
    for r in results:
        for message, count in r.failures.items():
            report.failures.append(f"api {r.name}: {message} (×{count})")


def run_pacing(workdir: Path, quick: bool, report: Report, log: Callable[[str], None]) -> None:
    limits = pacing.run_limits(workdir, quick, log)
    report.add(pacing.limits_table(limits))
    shared = pacing.run_shared(workdir, quick, log)
    report.add(pacing.shared_table(shared))
    far = pacing.run_far(workdir, quick, log)
    report.add(pacing.far_table(far))
    defaults = pacing.run_defaults(workdir, quick, log)
    report.add(pacing.defaults_table(defaults))
    report.figures["pacing"] = limits + shared + far + defaults
    report.failures += pacing.checks(limits + shared + far + defaults)


RUNNERS: dict[str, Callable[[Path, bool, Report, Callable[[str], None]], None]] = {
    "perf": run_perf,
    "planner": run_planner,
    "scale": run_scale,
    "faults": run_faults,
    "kill": run_kills,
    "heavy": run_heavy,
    "concurrent": run_concurrent,
    "frozen": run_frozen,
    "environments": run_environments,
    "fuzz": run_fuzz,
    "api": run_api,
    "pacing": run_pacing,
}


def selected(suites: Sequence[str]) -> list[str]:
    """Runner names in a fixed order; plan and apply share one run."""
    wanted = set(SUITES) if "all" in suites else set(suites)
    names = []
    if wanted & {"plan", "apply"}:
        names.append("perf")
    names += [name for name in SUITES if name not in ("plan", "apply") and name in wanted]
    return names


def main(argv: Sequence[str] | None = None, workdir: Path | None = None) -> Report:
    parser = argparse.ArgumentParser(description="provisioner benchmarks (issue 7)")
    parser.add_argument(
        "--suite", action="append", choices=[*SUITES, "all"], help="repeatable; default: all"
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run")
    parser.add_argument("--out", type=Path, help="also write the tables (Markdown) here")
    args = parser.parse_args(argv)
    suites = args.suite or ["all"]
    report = Report()
    report.add(header(list(argv if argv is not None else sys.argv[1:])))

    def log(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory(prefix="provisioner-bench-") as scratch:
        root = workdir or Path(scratch)
        for name in selected(suites):
            log(f"suite {name}:")
            started = time.perf_counter()
            RUNNERS[name](root, args.quick, report, log)
            log(f"suite {name}: {time.perf_counter() - started:.1f} s")
    if report.failures:
        report.add("\nFAILED CHECKS:\n" + "\n".join(f"- {f}" for f in report.failures))
    else:
        report.add("\nEvery correctness check passed.")
    if args.out:
        args.out.write_text("\n".join(report.sections) + "\n", encoding="utf-8")
    return report


if __name__ == "__main__":
    sys.exit(1 if main().failures else 0)
