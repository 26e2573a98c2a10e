"""Custom APIs (issue 14): plan requests against the minimum, apply against the rate-limit floor.

    python bench/custom_apis.py [--apis 10] [--fields 50] [--rate 100] [--latency-ms 20]

A fresh store in its own process (`bench/common.store_process`: 20 ms per request and a token
bucket of 100 requests/s by default, a production store's limit) and files declaring `--apis`
Custom APIs of `--fields` fields each (every field type; the first API is the parent of the
others). Through the same library calls as `provisioner plan` / `apply` (`read_for`, the
planner, the applier; one `Client` paced at the store's rate):

- plan from empty, apply from empty, plan again (must be empty), apply again (nothing to do);
- requests counted by the store, against the minimum a plan needs: one token, one page per
  100 Custom APIs, one page of fields per API per 100 fields (the API has no list of every
  field of every Custom API, section 10);
- the apply's wall time against the rate-limit floor of its requests: the bucket starts full
  (one second's worth), so N requests need at least (N - rate) / rate seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as `python bench/custom_apis.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import yaml

from bench.common import PAGE, Knobs, Store, store_process, table
from provisioner.applier import apply_plan
from provisioner.config import load_desired
from provisioner.custom_api_reader import read_for
from provisioner.model import State
from provisioner.planner import plan as make_plan

_TYPES: tuple[tuple[str, dict[str, Any] | None], ...] = (
    ("string", {"string": {"max_length": 200, "regex": "^[^<>]*$"}}),
    ("integer", {"integer": {"min_value": 0, "max_value": 1000}}),
    ("float", {"float": {"min_value": 0.5}}),
    ("boolean", None),
    ("list", {"list": {"allowed_type": "string", "max_length": 20}}),
    ("any", None),
)


def scenario(path: Path, apis: int, fields: int) -> Path:
    """`apis` Custom APIs of `fields` fields; the first one is the others' parent."""
    declared: dict[str, Any] = {}
    for a in range(apis):
        body: dict[str, Any] = {"name": f"API {a}", "api_type": f"bench_{a}_ext", "fields": {}}
        if a:
            body["parent_apis"] = ["bench-0"]
        for f in range(fields):
            field_type, validation = _TYPES[f % len(_TYPES)]
            field: dict[str, Any] = {"name": f"Field {f}", "field_type": field_type}
            if validation is not None:
                field["validation"] = validation
            body["fields"][f"field_{f}"] = field
        declared[f"bench-{a}"] = body
    path.write_text(yaml.safe_dump({"custom_apis": declared}, sort_keys=False), encoding="utf-8")
    return path


async def _phase(store: Store, desired: State, rate: float, apply: bool) -> dict[str, Any]:
    store.reset_stats()
    started = time.perf_counter()
    async with store.client(rate_limit=rate, max_in_flight=32) as client:
        live = await read_for(client, desired)
        plan = make_plan(desired, live)
        planned = time.perf_counter()
        if apply and not plan.is_empty:
            await apply_plan(client, plan, parallelism=32)
        finished = time.perf_counter()
    counts = store.counts()
    return {
        "operations": len(plan.operations),
        "requests": counts.total,
        "writes": counts.writes,
        "refused": counts.failed,
        "read_wall": planned - started,
        "wall": finished - started,
        "empty": plan.is_empty,
    }


def run(apis: int, fields: int, knobs: Knobs) -> str:
    rate = knobs.rate_limit or 1000.0
    with tempfile.TemporaryDirectory(prefix="bench-custom-apis-") as workdir:
        desired = load_desired([scenario(Path(workdir) / "apis.yaml", apis, fields)])
        with store_process(Path(workdir), knobs) as store:
            plan = asyncio.run(_phase(store, desired, rate, apply=False))
            apply = asyncio.run(_phase(store, desired, rate, apply=True))
            replan = asyncio.run(_phase(store, desired, rate, apply=False))
            reapply = asyncio.run(_phase(store, desired, rate, apply=True))
    if not replan["empty"]:
        raise AssertionError("the plan after apply is not empty")
    field_pages = math.ceil(fields / PAGE) if fields else 1
    minimum_empty = 1 + 1  # a token and one (empty) page of Custom APIs
    minimum_full = 1 + max(1, math.ceil(apis / PAGE)) + apis * field_pages
    floor = max(0.0, (apply["requests"] - rate) / rate)
    ratio = (
        f"{floor:.2f} s ({apply['wall'] / floor:.2f}x)" if floor else "none (under 1 s of bucket)"
    )
    rows = [
        ["plan from empty", plan["operations"], plan["requests"], minimum_empty,
         f"{plan['wall']:.2f} s", ""],
        ["apply from empty", apply["operations"], apply["requests"], "",
         f"{apply['wall']:.2f} s", ratio],
        ["plan again", replan["operations"], replan["requests"], minimum_full,
         f"{replan['wall']:.2f} s", ""],
        ["apply again", reapply["operations"], reapply["requests"], minimum_full,
         f"{reapply['wall']:.2f} s", ""],
    ]  # fmt: skip
    title = (
        f"Custom APIs: {apis} APIs x {fields} fields, store at {knobs.latency_ms:g} ms and "
        f"{rate:g} requests/s (429s seen: {apply['refused']})"
    )
    headers = ["phase", "operations", "requests", "minimum", "wall", "rate-limit floor"]
    return table(title, headers, rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--apis", type=int, default=10)
    parser.add_argument("--fields", type=int, default=50)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    args = parser.parse_args(argv)
    print(run(args.apis, args.fields, Knobs(latency_ms=args.latency_ms, rate_limit=args.rate)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
