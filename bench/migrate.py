"""`apply --migrate` (issue 15 item 3): throughput, and SIGKILL at random points.

    python bench/migrate.py [--entries 10000] [--kills 10] [--kill-entries 1000] [--seed 15]

1. Throughput: a custom flow whose integer field holds a value in each of `--entries` entries
   migrates to float, `apply --migrate` run as a real CLI process against a store in its own
   process at issue 7's production profile (20 ms per request, 100 requests/s, the client's
   pace at 100/s). Printed: wall time against writes / rate and against all requests / rate,
   the requests by kind, the CLI's CPU seconds (load does not change those).
2. Kills: `--kills` separate runs, each on a fresh store of `--kill-entries` entries (1 in 10
   without a value): `apply --migrate` is SIGKILLed once the store has served a random number
   of writes (0: at a random moment of the reads before the first write), and two more runs
   are killed as soon as the store's database shows a step done (the temporary field created,
   the old field deleted, held there by a trigger in the store's database that refuses the
   rename until the kill, a boundary still missed retried twice and printed as missed;
   `--no-boundaries` leaves them out); the stage the store was left in is
   read from its fields, then `apply --migrate` runs again. Each run must end
   with exit 0, `plan --migrate --detailed-exitcode` 0, the field `score` of type float alone,
   and every value present exactly once (one row per entry in the store's table of values,
   none in any other field) and equal to the original converted.

Entries are written straight into the store's SQLite file (seeding 10,000 entries through the
API at 100 requests/s would take longer than the migration); the flow and its field are made
by `apply`, everything measured goes through the API.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import PRODUCTION, ROOT, Clock, Knobs, Store, store_process, table
from bench.faults import _child_env

START = """flows:
  ratings:
    name: Ratings
    fields:
      score: {name: Score, field_type: %s}
"""
TEMP = "score__migrating_to_float"
DESIRED = "desired.yaml"
MIGRATE = ("apply", "--migrate", "--auto-approve", DESIRED)
# The kill runs: a faster store, so that 10 runs take minutes; the points are by writes served.
KILL_KNOBS = Knobs(latency_ms=5.0, rate_limit=200.0)


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "provisioner", *args]


def run_cli(store: Store, directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cli(*args),
        capture_output=True,
        text=True,
        env=_child_env(store),
        cwd=directory,
        check=False,
    )


def seed(store: Store, directory: Path, count: int, rng: random.Random) -> dict[str, int | None]:
    """The flow `ratings` with an integer `score` (made by apply), `count` entries written
    into the database; each entry's original value (None for 1 in 10)."""
    start = directory / "start.yaml"
    start.write_text(START % "integer")
    made = run_cli(store, directory, "apply", "--auto-approve", str(start))
    if made.returncode != 0:
        raise RuntimeError(made.stdout + made.stderr)
    values: dict[str, int | None] = {}
    stamp = "2026-01-01T00:00:00.000Z"
    with sqlite3.connect(store.db_path, timeout=30) as db:
        flow_id = db.execute("SELECT id FROM flows WHERE slug = 'ratings'").fetchone()[0]
        field_id = db.execute(
            "SELECT id FROM fields WHERE flow_id = ? AND slug = 'score'", (flow_id,)
        ).fetchone()[0]
        for index in range(count):
            entry_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            value = None if index % 10 == 9 else rng.randint(-1_000_000, 1_000_000)
            values[entry_id] = value
            db.execute(
                "INSERT INTO entries (id, flow_id, created_at, updated_at) VALUES (?, ?, ?, ?)",
                (entry_id, flow_id, stamp, stamp),
            )
            if value is not None:
                db.execute(
                    "INSERT INTO field_values (owner_id, field_id, value) VALUES (?, ?, ?)",
                    (entry_id, field_id, json.dumps(value)),
                )
    db.close()
    desired = directory / "desired.yaml"
    desired.write_text(START % "float")
    return values


def stored(store: Store) -> tuple[list[tuple[str, str]], list[tuple[str, str, Any]]]:
    """The flow's fields (slug, type) and every stored value (entry, field slug, value)."""
    with sqlite3.connect(store.db_path, timeout=30) as db:
        flow_id = db.execute("SELECT id FROM flows WHERE slug = 'ratings'").fetchone()[0]
        fields = [
            (slug, json.loads(attributes)["field_type"])
            for slug, attributes in db.execute(
                "SELECT slug, attributes FROM fields WHERE flow_id = ? ORDER BY seq", (flow_id,)
            )
        ]
        rows = [
            (owner, slug, json.loads(value))
            for owner, slug, value in db.execute(
                "SELECT v.owner_id, f.slug, v.value FROM field_values v"
                " JOIN fields f ON f.id = v.field_id WHERE f.flow_id = ?",
                (flow_id,),
            )
        ]
    db.close()
    return sorted(fields), rows


def value_problems(store: Store, values: dict[str, int | None]) -> list[str]:
    """What differs from: `score` a float field alone, each original value once, converted."""
    fields, rows = stored(store)
    problems = [] if fields == [("score", "float")] else [f"fields {fields}"]
    seen: dict[str, int] = {}
    for owner, slug, value in rows:
        seen[owner] = seen.get(owner, 0) + 1
        original = values.get(owner)
        if slug != "score" or original is None:
            problems.append(f"{owner}: a value in {slug}")
        elif not (isinstance(value, float) and value == float(original)):
            problems.append(f"{owner}: {value!r} is not {float(original)!r}")
    expected = {owner for owner, value in values.items() if value is not None}
    problems += [f"{owner}: missing" for owner in sorted(expected - set(seen))]
    problems += [f"{owner}: {n} values" for owner, n in seen.items() if n > 1]
    return problems


def stage_of(store: Store) -> str:
    fields = dict(stored(store)[0])
    if "score" in fields and TEMP in fields:
        return "copy"
    if TEMP in fields:
        return "rename"
    return "done" if fields.get("score") == "float" else "start"


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# -- 1. throughput ----------------------------------------------------------------------------


def throughput(workdir: Path, entries: int, seed_value: int) -> dict[str, Any]:
    directory = workdir / "throughput"
    directory.mkdir(parents=True, exist_ok=True)
    with store_process(directory, PRODUCTION, "store") as store:
        values = seed(store, directory, entries, random.Random(seed_value))
        store.reset_stats()
        cpu_before = children_cpu()
        with Clock() as clock:
            result = run_cli(
                store, directory, "apply", "--migrate", "--auto-approve", "desired.yaml"
            )
        cpu = children_cpu() - cpu_before
        counts = store.counts()
        problems = value_problems(store, values)
        store_cpu = store.cpu_seconds()
    rate = PRODUCTION.rate_limit or 100.0
    holding = sum(1 for value in values.values() if value is not None)
    return {
        "entries": entries,
        "values": holding,
        "exit": result.returncode,
        "wall": clock.wall,
        "cli_cpu": cpu,
        "store_cpu": store_cpu,
        "requests": counts.total,
        "reads": counts.reads,
        "writes": counts.writes,
        "token": counts.token,
        "writes_bound": counts.writes / rate,
        "requests_bound": counts.total / rate,
        "problems": problems[:5],
        "output": (result.stdout + result.stderr)[-600:],
    }


# -- 2. kills ---------------------------------------------------------------------------------


@dataclass
class KillRun:
    index: int
    target: int | str  # writes served before the kill (0: during the first reads), a boundary
    writes_at_kill: int
    killed: bool
    stage: str
    resume_exit: int
    resume_writes: int
    plan_exit: int
    problems: list[str]
    output: str

    @property
    def converged(self) -> bool:
        return self.resume_exit == 0 and self.plan_exit == 0 and not self.problems


def _writes(store: Store) -> int:
    return store.counts().writes


# Kills at a step's boundary, beside the random ones: as soon as the store's database shows
# the step done (read from the SQLite file, faster than the stats route).
BOUNDARIES: dict[str, str] = {
    "temporary field created": "copy",
    "old field deleted": "rename",
}


# The delete and the rename are two consecutive requests, milliseconds apart: polling alone
# can see the rename done already (the kill then lands at "done", the boundary missed). So for
# that boundary the store's database holds the run there: a trigger makes the rename fail
# (the store answers 500, the client backs off and retries), the poll sees the old field gone
# and kills, and the trigger is dropped before the next run. A boundary still missed (the
# stage left is not the boundary's) is printed as missed and the run is tried again.
HOLD = "bench_hold_rename"
BOUNDARY_TRIES = 3


def _hold_rename(store: Store, hold: bool) -> None:
    with sqlite3.connect(store.db_path, timeout=30) as db:
        if hold:
            db.execute(
                f"CREATE TRIGGER IF NOT EXISTS {HOLD} BEFORE UPDATE OF slug ON fields "
                f"WHEN OLD.slug = '{TEMP}' AND NEW.slug = 'score' "
                "BEGIN SELECT RAISE(ABORT, 'bench: held at the old field deleted'); END"
            )
        else:
            db.execute(f"DROP TRIGGER IF EXISTS {HOLD}")
    db.close()


def _reached(store: Store, target: int | str) -> bool:
    if isinstance(target, str):
        with sqlite3.connect(store.db_path, timeout=30) as db:
            slugs = {row[0] for row in db.execute("SELECT slug FROM fields")}
        db.close()
        stage = "copy" if {"score", TEMP} <= slugs else "rename" if TEMP in slugs else ""
        return stage == BOUNDARIES[target]
    return _writes(store) >= target


def kill_run(
    workdir: Path,
    index: int,
    entries: int,
    rng: random.Random,
    boundary: str | None = None,
    attempt: int = 1,
) -> KillRun:
    directory = workdir / (f"kill-{index:02d}" + (f"-try{attempt}" if attempt > 1 else ""))
    directory.mkdir(parents=True, exist_ok=True)
    holding = entries - entries // 10
    # The temporary field, the copies, delete, rename; or a step's boundary.
    target: int | str = rng.randint(0, holding + 3) if boundary is None else boundary
    with store_process(directory, KILL_KNOBS, "store") as store:
        values = seed(store, directory, entries, rng)
        hold = target == "old field deleted"
        if hold:
            _hold_rename(store, True)
        store.reset_stats()
        process = subprocess.Popen(
            cli(*MIGRATE),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=_child_env(store),
            cwd=directory,
        )
        if target == 0:
            time.sleep(rng.uniform(0.5, 2.0))  # start-up, the plan's reads, the first read
        else:
            while process.poll() is None and not _reached(store, target):
                time.sleep(0.0005)
        killed = process.poll() is None
        if killed:
            process.send_signal(signal.SIGKILL)
        process.wait()
        if hold:
            _hold_rename(store, False)
        writes_at_kill = _writes(store)
        stage = stage_of(store)
        store.reset_stats()
        resumed = run_cli(store, directory, *MIGRATE)
        resume_writes = _writes(store)
        check = run_cli(
            store, directory, "plan", "--migrate", "--detailed-exitcode", "desired.yaml"
        )
        return KillRun(
            index=index,
            target=target,
            writes_at_kill=writes_at_kill,
            killed=killed,
            stage=stage,
            resume_exit=resumed.returncode,
            resume_writes=resume_writes,
            plan_exit=check.returncode,
            problems=value_problems(store, values)[:5],
            output=(resumed.stdout + resumed.stderr)[-400:],
        )


def run_kills(
    workdir: Path,
    count: int,
    entries: int,
    seed_value: int,
    boundaries: bool = True,
    log: Callable[[str], None] = print,
) -> list[KillRun]:
    rng = random.Random(seed_value)
    runs = []
    points: list[str | None] = [None] * count + (list(BOUNDARIES) if boundaries else [])
    for index, boundary in enumerate(points):
        run = kill_run(workdir, index, entries, rng, boundary)
        tries = 1
        while boundary is not None and run.stage != BOUNDARIES[boundary]:
            log(f"  kill {index + 1}: boundary {boundary!r} missed (stage left {run.stage})")
            if tries == BOUNDARY_TRIES:
                break
            tries += 1
            run = kill_run(workdir, index, entries, rng, boundary, tries)
        log(
            f"  kill {index + 1}/{len(points)}: at {run.writes_at_kill} writes ({run.stage}) -> "
            f"resume exit {run.resume_exit}, {run.resume_writes} writes, plan exit "
            f"{run.plan_exit}, problems {len(run.problems)}"
        )
        runs.append(run)
    return runs


def throughput_table(figures: dict[str, Any]) -> str:
    rows = [
        [
            figures["entries"],
            figures["values"],
            figures["exit"],
            figures["requests"],
            figures["reads"],
            figures["writes"],
            f"{figures['wall']:.1f}",
            f"{figures['writes_bound']:.1f}",
            f"{figures['wall'] / figures['writes_bound']:.2f}",
            f"{figures['requests_bound']:.1f}",
            f"{figures['wall'] / figures['requests_bound']:.2f}",
            f"{figures['cli_cpu']:.1f}",
            f"{figures['store_cpu']:.1f}",
        ]
    ]
    return table(
        "apply --migrate integer -> float, 20 ms per request, 100 requests/s",
        [
            "entries",
            "values",
            "exit",
            "requests",
            "reads",
            "writes",
            "wall s",
            "writes/rate s",
            "wall ÷ writes/rate",
            "requests/rate s",
            "wall ÷ requests/rate",
            "CLI CPU s",
            "store CPU s",
        ],
        rows,
    )


def kills_table(runs: Sequence[KillRun], entries: int) -> str:
    rows = [
        [
            r.index + 1,
            r.target,
            r.writes_at_kill,
            "yes" if r.killed else "no (had finished)",
            r.stage,
            r.resume_exit,
            r.resume_writes,
            r.plan_exit,
            "yes" if not r.problems else "; ".join(r.problems),
        ]
        for r in runs
    ]
    return table(
        f"apply --migrate of {entries} entries SIGKILLed at random points, then run again",
        [
            "#",
            "kill at (writes, or step)",
            "writes at kill",
            "killed",
            "stage left",
            "resume exit",
            "resume writes",
            "plan exit",
            "every value once, converted",
        ],
        rows,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--kill-entries", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument(
        "--no-boundaries",
        action="store_true",
        help="only the random kills, not the two at step boundaries",
    )
    parser.add_argument("--workdir", type=Path, default=ROOT / ".provisioner" / "bench-migrate")
    args = parser.parse_args(argv)
    failures = []
    if args.entries:
        figures = throughput(args.workdir, args.entries, args.seed)
        print(throughput_table(figures))
        if figures["exit"] != 0 or figures["problems"]:
            failures.append(f"throughput: {figures['problems']} {figures['output']}")
    if args.kills or not args.no_boundaries:
        runs = run_kills(
            args.workdir, args.kills, args.kill_entries, args.seed, not args.no_boundaries
        )
        print(kills_table(runs, args.kill_entries))
        failures += [
            f"kill {r.index + 1}: {r.problems} {r.output}" for r in runs if not r.converged
        ]
    for failure in failures:
        print("FAILED:", failure)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
