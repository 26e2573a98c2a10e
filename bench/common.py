"""What every bench suite shares: stores in their own process, scenarios, checks, tables.

A bench store runs `running_server` in a child process (`bench/storeproc.py`) so the store and
the client under measurement do not share one GIL. Its statistics are read with a token minted
in its database, so reading them adds nothing to what they count (as tests/conftest.py does).
Scenarios are generated YAML files in our format: `flows` flows of `fields` fields each, with a
mix of field types and validation rules so the planner and the store do real work.
"""

from __future__ import annotations

import math
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from provisioner.client import Client, ClientConfig
from provisioner.localstore import STATS_ROUTE, TOKEN_ROUTE, local_credentials
from provisioner.localstore.auth import Tokens
from provisioner.localstore.storage import Storage

ROOT = Path(__file__).resolve().parents[1]
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
PAGE = 100  # page[limit] maximum (epcc-api.md 2.2)


@dataclass(frozen=True)
class Knobs:
    """Store-side behaviour of a bench store (a subset of `StoreSettings`)."""

    latency_ms: float = 20.0
    rate_limit: float | None = 100.0
    fail_rate: float = 0.0
    lost_write_rate: float = 0.0
    seed: int | None = None

    def args(self) -> list[str]:
        args = ["--latency-ms", str(self.latency_ms)]
        if self.rate_limit is not None:
            args += ["--rate-limit", str(self.rate_limit)]
        args += ["--fail-rate", str(self.fail_rate), "--lost-write-rate", str(self.lost_write_rate)]
        if self.seed is not None:
            args += ["--seed", str(self.seed)]
        return args


# Issue 7: 20 ms per request and 100 requests/s, a production store's limit.
PRODUCTION = Knobs(latency_ms=20.0, rate_limit=100.0)
PARALLELISM = 8


@dataclass
class Store:
    """A running bench store and what a suite needs to talk to it and inspect it."""

    base_url: str
    client_id: str
    client_secret: str = field(repr=False)
    db_path: Path
    knobs: Knobs
    _token: str | None = field(default=None, repr=False)
    pid: int | None = None  # the store's process (bench/resilience.py freezes it)

    def _headers(self) -> dict[str, str]:
        if self._token is None:
            issued = Tokens(Storage(self.db_path), 3600).issue("client_credentials")
            self._token = str(issued["access_token"])
        return {"Authorization": f"Bearer {self._token}"}

    def stats(self) -> list[dict[str, Any]]:
        """The store's request counts: `[{"method", "route", "status", "count"}, ...]`."""
        response = httpx.get(self.base_url + STATS_ROUTE, headers=self._headers(), timeout=30)
        response.raise_for_status()
        requests: list[dict[str, Any]] = response.json()["data"]["requests"]
        return [item for item in requests if item["route"] != STATS_ROUTE]

    def reset_stats(self) -> None:
        httpx.delete(self.base_url + STATS_ROUTE, headers=self._headers(), timeout=30)

    def counts(self) -> StoreCounts:
        return StoreCounts.of(self.stats())

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the store's process has used so far; 0.0 if unknown."""
        if self.pid is None:
            return 0.0
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            return 0.0
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / ticks  # utime, stime (proc(5) 14, 15)

    def client(self, rate_limit: float | None = None, max_in_flight: int = PARALLELISM) -> Client:
        """Our client, its rate limit set to the store's (issue 7)."""
        rate = rate_limit or self.knobs.rate_limit or 1000.0
        config = ClientConfig(
            base_url=self.base_url,
            client_id=self.client_id,
            client_secret=self.client_secret,
            rate_limit=rate,
            max_in_flight=max_in_flight,
        )
        return Client(config)

    def env(self) -> dict[str, str]:
        """Environment variables selecting this store for the CLI."""
        rate = self.knobs.rate_limit or 1000.0
        return {
            "EPCC_API_BASE_URL": self.base_url,
            "EPCC_CLIENT_ID": self.client_id,
            "EPCC_CLIENT_SECRET": self.client_secret,
            "EPCC_RATE_LIMIT": f"{rate:g}",
        }

    def duplicates(self) -> list[str]:
        """Duplicate flows (by slug) or fields (by flow and slug), read from the SQLite file.

        The store's schema makes these UNIQUE, so any hit would be a store bug; the count of
        rows per key is checked anyway, as the issue asks, next to the lists (`listed_slugs`).
        """
        with sqlite3.connect(self.db_path) as db:
            flows = db.execute(
                "SELECT slug, COUNT(*) FROM flows GROUP BY slug HAVING COUNT(*) > 1"
            ).fetchall()
            fields = db.execute(
                "SELECT f.slug, x.slug, COUNT(*) FROM fields x JOIN flows f ON f.id = x.flow_id"
                " GROUP BY f.slug, x.slug HAVING COUNT(*) > 1"
            ).fetchall()
        db.close()
        return [f"flow {slug} ×{n}" for slug, n in flows] + [
            f"field {flow}.{slug} ×{n}" for flow, slug, n in fields
        ]

    def table_counts(self) -> tuple[int, int]:
        """(flows, fields) rows in the store's database."""
        with sqlite3.connect(self.db_path) as db:
            flows = db.execute("SELECT COUNT(*) FROM flows").fetchone()[0]
            fields = db.execute("SELECT COUNT(*) FROM fields").fetchone()[0]
        db.close()
        return int(flows), int(fields)


@dataclass(frozen=True)
class StoreCounts:
    """Requests the store served, split the way the figures need them."""

    total: int
    token: int
    reads: int
    writes: int
    failed: int  # answers >= 400 (injected faults, 429s)

    @classmethod
    def of(cls, requests: Sequence[dict[str, Any]]) -> StoreCounts:
        total = token = reads = writes = failed = 0
        for item in requests:
            n = int(item["count"])
            total += n
            if item["route"] == TOKEN_ROUTE:
                token += n
            elif item["method"] in WRITE_METHODS:
                writes += n
            else:
                reads += n
            if int(item["status"]) >= 400:
                failed += n
        return cls(total, token, reads, writes, failed)


@contextmanager
def store_process(workdir: Path, knobs: Knobs = PRODUCTION, name: str = "store") -> Iterator[Store]:
    """A fresh store in a child process; stopped (stdin closed, then waited for) on exit."""
    db_path = workdir / name / "local-store.sqlite"
    db_path.parent.mkdir(parents=True, exist_ok=True)
    client_id, client_secret = local_credentials(db_path)
    command = [sys.executable, str(ROOT / "bench" / "storeproc.py"), str(db_path), *knobs.args()]
    # The store's own log (uvicorn warnings, "unexpected error" tracebacks) goes to a file
    # beside its database, for a look after a failing run.
    with (db_path.parent / "store.log").open("a", encoding="utf-8") as store_log:
        process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=store_log,
            text=True,
            cwd=ROOT,
        )
    try:
        assert process.stdout is not None
        base_url = process.stdout.readline().strip()
        if not base_url.startswith("http"):
            raise RuntimeError(f"the bench store did not start (got {base_url!r})")
        yield Store(base_url, client_id, client_secret, db_path, knobs, pid=process.pid)
    finally:
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


# ------------------------------------------------------------------------------ scenarios


def field_spec(index: int) -> dict[str, Any]:
    """A field of one of five shapes, so creates carry realistic bodies and rules."""
    shape = index % 5
    name = f"Field {index}"
    if shape == 0:
        return {"name": name, "field_type": "string", "description": "Free text"}
    if shape == 1:
        return {
            "name": name,
            "field_type": "integer",
            "validation_rules": [{"type": "between", "options": {"from": 0, "to": 1000}}],
        }
    if shape == 2:
        return {"name": name, "field_type": "boolean", "default": False}
    if shape == 3:
        return {
            "name": name,
            "field_type": "string",
            "default": "red",
            "validation_rules": [{"type": "enum", "options": ["red", "green", "blue"]}],
        }
    return {"name": name, "field_type": "float", "order": index, "omit_null": True}


def scenario(flows: int, fields: int, prefix: str = "bench") -> dict[str, Any]:
    """`flows` custom flows of `fields` fields each, as a YAML document (a dict)."""
    return {
        "flows": {
            f"{prefix}_flow_{i:03d}": {
                "name": f"Bench flow {i}",
                "description": f"Benchmark flow {i}",
                "fields": {f"field_{j:03d}": field_spec(j) for j in range(fields)},
            }
            for i in range(flows)
        }
    }


def write_scenario(directory: Path, flows: int, fields: int, split: bool = False) -> Path:
    """The scenario as `directory/flows.yaml`, or (`split`) one file per flow in
    `directory/flows/` (the loader refuses files over 1 MiB); returns the file or folder."""
    document = scenario(flows, fields)
    if not split:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / "flows.yaml"
        path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
        return path
    folder = directory / "flows"
    folder.mkdir(parents=True, exist_ok=True)
    for slug, flow in document["flows"].items():
        text = yaml.safe_dump({"flows": {slug: flow}}, sort_keys=False)
        (folder / f"{slug}.yaml").write_text(text, encoding="utf-8")
    return folder


def minimum_plan_requests(flows: int, fields: int) -> int:
    """One token plus one page per 100 flows and per 100 fields (an empty list is one page)."""
    return 1 + max(1, math.ceil(flows / PAGE)) + max(1, math.ceil(fields / PAGE))


def apply_lower_bound(writes: int, rate_limit: float, latency_s: float, parallelism: int) -> float:
    """Issue 7's bound: max(writes / rate limit, writes × latency / parallelism) seconds."""
    return max(writes / rate_limit, writes * latency_s / parallelism)


# ------------------------------------------------------------------------------ output


class Clock:
    """Wall and CPU time of a block: `with Clock() as clock: ...; clock.wall`."""

    wall: float = 0.0
    cpu: float = 0.0

    def __enter__(self) -> Clock:
        self._wall = time.perf_counter()
        self._cpu = time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self._wall
        self.cpu = time.process_time() - self._cpu


def table(title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain fixed-width table (also valid Markdown), for the console and BENCHMARKS.md."""
    cells = [[str(h) for h in headers]] + [[_cell(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    body = [line(cells[0]), rule, *(line(row) for row in cells[1:])]
    return f"\n### {title}\n\n" + "\n".join(body) + "\n"


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 100 else f"{value:.1f}"
    return str(value)
