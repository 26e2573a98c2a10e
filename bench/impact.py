"""`plan --impact` on a flow of 10,000 entries (issue 15): requests and wall time against the
minimum.

    python bench/impact.py [--entries 10000] [--runs 3] [--latency-ms 20] [--rate 100]

A store in its own process (`bench/common.store_process`: 20 ms per request, 100 requests/s
by default, a production store's limit) holds a custom flow `reviews` of `--entries` entries,
written in one transaction through the store's storage (what POSTs would leave; seeding
10,000 entries over HTTP at 100 requests/s would take 100 s): `body` set in 3 of 4 entries,
`rating` missing in 1 of 10, `code` repeated in the first 2,000 (1,000 values twice). The
files delete `body`, make `rating` required and `code` unique: three counts, one scan.

Whole `provisioner plan` processes, as a user runs them (`bench/scale.run_cli`: CPU of the
process, wall, peak RSS), the store counting the requests:

- `plan` (no impact): the reference, 3 requests (token, flows, fields);
- `plan --impact` (default budget 100): the minimum is 3 + ceil(entries / 100) requests, and
  the extra wall time is compared with the pages' floor at the store's rate, pages / rate;
- `plan --impact --impact-budget 50`: a scan stopped half-way, which must say "at least".

The counts in the JSON plan must equal what was seeded. The best of `--runs` (least CPU).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as `python bench/impact.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import PAGE, Knobs, Store, store_process, table
from bench.scale import best
from provisioner.epcc.flows import FIELD_SERVER_DEFAULTS
from provisioner.localstore.storage import Storage, new_id, now_iso

DESIRED = """\
flows:
  reviews:
    name: Reviews
    fields:
      body: {state: absent}
      rating: {name: Rating, field_type: integer, required: true}
      code: {name: Code, field_type: string, unique: true}
"""
FLOW = {"name": "Reviews", "description": "", "enabled": True, "slug": "reviews"}
FIELD = {**FIELD_SERVER_DEFAULTS, "validation_rules": []}  # a create with every key


def seed(store: Store, entries: int) -> dict[str, int]:
    """The flow, its fields and `entries` entries; returns the counts `--impact` must find."""
    storage = Storage(store.db_path)
    flow_id = storage.create_flow(FLOW)["id"]
    ids = {}
    for slug, kind in (("body", "string"), ("rating", "integer"), ("code", "string")):
        created = storage.create_field(
            flow_id, {**FIELD, "name": slug, "slug": slug, "field_type": kind}
        )
        ids[slug] = created["id"]
    codes = [f"C{index % max(1, entries - 1000)}" for index in range(entries)]
    held = Counter(codes)
    with storage.transaction(write=True) as conn:
        for index in range(entries):
            entry_id, stamp = new_id(), now_iso()
            conn.execute(
                "INSERT INTO entries (id, flow_id, created_at, updated_at) VALUES (?, ?, ?, ?)",
                (entry_id, flow_id, stamp, stamp),
            )
            values: dict[str, object] = {"code": codes[index]}
            if index % 4:
                values["body"] = f"review {index}"
            if index % 10:
                values["rating"] = index % 5
            conn.executemany(
                "INSERT INTO field_values (owner_id, field_id, value) VALUES (?, ?, ?)",
                [(entry_id, ids[slug], json.dumps(value)) for slug, value in values.items()],
            )
    return {
        "values:field:reviews.body": entries - math.ceil(entries / 4),
        "missing:field:reviews.rating": math.ceil(entries / 10),
        "repeats:field:reviews.code": sum(n for n in held.values() if n > 1),
    }


def requests_served(store: Store) -> int:
    return sum(item["count"] for item in store.stats())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--rate", type=float, default=100.0)
    args = parser.parse_args(argv)
    knobs = Knobs(latency_ms=args.latency_ms, rate_limit=args.rate)
    pages = max(1, math.ceil(args.entries / PAGE))
    failures: list[str] = []
    rows = []
    with (
        tempfile.TemporaryDirectory(prefix="bench-impact-") as tmp,
        store_process(Path(tmp), knobs) as store,
    ):
        expected = seed(store, args.entries)
        desired = Path(tmp) / "reviews.yaml"
        desired.write_text(DESIRED, encoding="utf-8")
        env = store.env()
        cases: tuple[tuple[str, list[str], int], ...] = (
            ("plan", [], 3),
            ("plan --impact", ["--impact"], 3 + pages),
            (
                "plan --impact --impact-budget 50",
                ["--impact", "--impact-budget", "50"],
                3 + min(50, pages),
            ),
        )
        reference_wall = None
        for label, extra, minimum in cases:
            store.reset_stats()
            runs = []
            for _ in range(args.runs):
                store.reset_stats()
                store_cpu = store.cpu_seconds()
                saved = Path(tmp) / "plan.json"
                code, cpu, wall, rss, tail = best(
                    1, ["plan", str(desired), "--format", "json", "--out", str(saved), *extra], env
                )
                served = requests_served(store)
                runs.append((cpu, wall, rss, code, tail, served, store.cpu_seconds() - store_cpu))
            cpu, wall, rss, code, tail, requests, store_cpu = min(runs, key=lambda r: r[0])
            if code != 0:
                failures.append(f"{label}: exit {code}: {tail}")
                continue
            plan = json.loads(saved.read_text(encoding="utf-8")) if "impact" in label else None
            floor = ""
            if reference_wall is None:
                reference_wall = wall
            else:
                floor = f"{(requests - 3) / args.rate:.2f}"
            extra_wall = "" if reference_wall is wall else f"{wall - reference_wall:.2f}"
            rows.append(
                [
                    label,
                    requests,
                    minimum,
                    f"{requests / minimum:.2f}",
                    f"{cpu:.2f}",
                    f"{store_cpu:.2f}",
                    f"{wall:.2f}",
                    extra_wall,
                    floor,
                    f"{rss:.0f}",
                ]
            )
            if requests != minimum:
                failures.append(f"{label}: {requests} requests, the minimum is {minimum}")
            if plan is not None:
                budget = int(extra[-1]) if "--impact-budget" in extra else 100
                failures += check_counts(label, plan, expected, complete=pages <= budget)
    print(
        table(
            f"plan --impact, a flow of {args.entries:,} entries ({args.latency_ms:g} ms, "
            f"{args.rate:g} req/s; load {os.getloadavg()[0]:.1f})",
            [
                "run",
                "requests",
                "minimum",
                "ratio",
                "CLI CPU s",
                "store CPU s",
                "wall s",
                "extra wall s",
                "floor s (pages / rate)",
                "peak RSS MB",
            ],
            rows,
        )
    )
    for failure in failures:
        print(f"FAILED: {failure}")
    return 1 if failures else 0


def check_counts(
    label: str, plan: dict[str, Any], expected: dict[str, int], *, complete: bool
) -> list[str]:
    """The counts of the plan's `impact` against what was seeded."""
    found = {f"{m['kind']}:{m['key']}": m for m in plan["impact"]["measures"]}
    problems = []
    for key, count in expected.items():
        measure = found.get(key)
        if measure is None:
            problems.append(f"{label}: no measure {key}")
        elif complete and (measure["count"], measure["complete"]) != (count, True):
            problems.append(f"{label}: {key} = {measure['count']}, seeded {count}")
        elif not complete and (measure["complete"] or measure["count"] > count):
            problems.append(f"{label}: {key} = {measure['count']} (partial), seeded {count}")
    return problems


if __name__ == "__main__":
    raise SystemExit(main())
