"""The local store fuzzed against the official flows OpenAPI spec (schemathesis), at scale.

tests/test_localstore_conformance.py (H-store) runs a bounded version in the unit suite; this is
the larger run the bench reports. For every operation of `../shared/epcc-openapi/flows.yaml`,
hypothesis generates requests from the spec; half of them have their path parameters replaced
by the IDs and slugs of real objects (a flow, a string field, an entry, re-created when a
generated DELETE removed them), so updates and deletes of existing objects get fuzzed bodies
too, not only 404s. No relationship field is seeded: the spec types every extra entry
attribute as a string, so an entry carrying `relationships` (5.1) cannot match it (the
conformance test notes the same); the relationship routes meet a string field and refuse.
For the same reason the seeded field has `omit_null: true`: an unset value is `null` (4.9),
which the spec's `type: string` does not admit either.
Each answer is checked for:

- no 5xx (`not_a_server_error`) and no crash of the store;
- the documented schema and content type (`response_schema_conformance`,
  `content_type_conformance`) for the answers the spec documents;
- no partial write: a refused request (4xx) leaves the database exactly as it was (a digest of
  every flow, field, entry, customer and stored value, read from SQLite, before and after).

Figures: inputs tried per operation, failures by check (each distinct message counted once).
"""

from __future__ import annotations

import hashlib
import sqlite3
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from bench.common import ROOT, Knobs, Store, store_process, table

SPEC = ROOT.parent / "shared" / "epcc-openapi" / "flows.yaml"
TABLES = ("flows", "fields", "entries", "customers", "field_values")


@dataclass
class OperationFigures:
    name: str
    inputs: int = 0
    real_ids: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)


def db_digest(db_path: Path) -> str:
    """A digest of every user-visible row (tokens and settings aside)."""
    digest = hashlib.sha256()
    with sqlite3.connect(db_path) as db:
        for name in TABLES:
            for row in db.execute(f"SELECT * FROM {name} ORDER BY 1, 2"):
                digest.update(repr(row).encode())
    db.close()
    return digest.hexdigest()


class Objects:
    """Real objects for path parameters, re-created whenever one went missing."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.values: dict[str, str] = {}

    def _exists(self) -> bool:
        if not self.values:
            return False
        with sqlite3.connect(self.store.db_path) as db:
            found = db.execute(
                "SELECT (SELECT COUNT(*) FROM flows WHERE id = ?)"
                " + (SELECT COUNT(*) FROM fields WHERE id = ?)"
                " + (SELECT COUNT(*) FROM entries WHERE id = ?)",
                (
                    self.values["flowID"],
                    self.values["flowFieldID"],
                    self.values["flowEntryID"],
                ),
            ).fetchone()[0]
        db.close()
        return int(found) == 3

    def ensure(self) -> dict[str, str]:
        if self._exists():
            return self.values
        headers = self.store._headers()
        base = self.store.base_url
        slug = f"fuzz-{uuid.uuid4().hex[:8]}"

        def post(path: str, data: dict[str, Any]) -> dict[str, Any]:
            response = httpx.post(base + path, json={"data": data}, headers=headers, timeout=30)
            response.raise_for_status()
            result: dict[str, Any] = response.json()["data"]
            return result

        flow = post(
            "/v2/flows",
            {"type": "flow", "name": "F", "slug": slug, "description": "d", "enabled": True},
        )
        relation = {"flow": {"data": {"type": "flow", "id": flow["id"]}}}
        note = post(
            "/v2/fields",
            {
                "type": "field",
                "name": "Note",
                "slug": "note",
                "field_type": "string",
                "description": "a note",
                "required": False,
                "enabled": True,
                # Hide null values: the spec types entry attributes as non-null strings.
                "omit_null": True,
                "relationships": relation,
            },
        )
        entry = post(f"/v2/flows/{slug}/entries", {"type": "entry", "note": "a"})
        self.values = {
            "flowID": flow["id"],
            "flowSlug": slug,
            "flowFieldID": note["id"],
            "flowFieldSlug": "note",
            "flowEntryID": entry["id"],
        }
        return self.values


def run_apifuzz(
    workdir: Path,
    examples: int = 200,
    log: Callable[[str], None] = print,
) -> list[OperationFigures]:
    import schemathesis
    from schemathesis.checks import not_a_server_error
    from schemathesis.core.result import Ok
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
    )

    if not SPEC.is_file():
        raise FileNotFoundError(f"the official spec is not beside the repository ({SPEC})")
    checks = [not_a_server_error, response_schema_conformance, content_type_conformance]
    schema = schemathesis.openapi.from_path(str(SPEC))
    results: list[OperationFigures] = []
    with store_process(workdir / "apifuzz", Knobs(latency_ms=0, rate_limit=None), "api") as store:
        objects = Objects(store)
        headers = store._headers()
        for result in schema.get_all_operations():
            if not isinstance(result, Ok):
                raise RuntimeError(f"the spec has an invalid operation: {result}")
            operation = result.ok()
            figures = OperationFigures(f"{operation.method.upper()} {operation.path}")
            results.append(figures)

            fuzz = _fuzzer(operation, examples, figures, objects, store, headers, checks)
            log(f"  {figures.name} ...")
            fuzz()
    return results


def _fuzzer(
    operation: Any,
    examples: int,
    figures: OperationFigures,
    objects: Objects,
    store: Store,
    headers: dict[str, str],
    checks: list[Any],
) -> Callable[[], None]:
    """A hypothesis test sending `examples` generated requests for one operation."""

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(), real=st.booleans())
    def fuzz(case: Any, real: bool) -> None:
        figures.inputs += 1
        if real and case.path_parameters:
            values = objects.ensure()
            for key in case.path_parameters:
                if key in values:
                    case.path_parameters[key] = values[key]
            figures.real_ids += 1
        before = db_digest(store.db_path)
        try:
            response = case.call(base_url=store.base_url, headers=headers, timeout=30)
        except Exception as error:  # the store dropped the connection: a crash
            figures.failures[f"no answer: {type(error).__name__}"] += 1
            return
        figures.statuses[response.status_code] += 1
        try:
            case.validate_response(response, checks=checks)
        except (Exception, BaseExceptionGroup) as failure:  # schemathesis raises groups
            inner = failure.exceptions if isinstance(failure, BaseExceptionGroup) else [failure]
            for problem in inner:
                first = (str(problem).strip().splitlines() or [""])[0][:120]
                figures.failures[f"{type(problem).__name__}: {first}"] += 1
        if response.status_code >= 400 and db_digest(store.db_path) != before:
            figures.failures[f"partial write on {response.status_code}"] += 1

    result: Callable[[], None] = fuzz
    return result


def apifuzz_table(results: list[OperationFigures]) -> str:
    rows = []
    for r in results:
        statuses = ", ".join(f"{s}×{n}" for s, n in sorted(r.statuses.items()))
        failures = "; ".join(f"{m} (×{n})" for m, n in r.failures.most_common(3)) or "none"
        rows.append([r.name, r.inputs, r.real_ids, statuses, sum(r.failures.values()), failures])
    total = sum(r.inputs for r in results)
    failed = sum(sum(r.failures.values()) for r in results)
    rows.append(["all operations", total, sum(r.real_ids for r in results), "", failed, ""])
    return table(
        "Local store fuzzed against flows.yaml (schemathesis)",
        ["operation", "inputs", "with real ids", "statuses", "failures", "first failures"],
        rows,
    )
