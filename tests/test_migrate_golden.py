"""Golden scenarios of `apply --migrate` (issue 15 item 3), one per migration path, over real
HTTP against the local store.

Each `tests/migration_cases/<name>/` holds `start.yaml` (applied first), `records.json` (the
values of the field `score`, one record each, created in that order: entries with the IDs
`00000000-0000-4000-8000-<index>`, or customers), `desired.yaml`, and what must come out:
`plan.txt` (the text of `plan --migrate`) and `after.json` (every record's value after
`apply --migrate`, in the same order), or `refused.txt` (the error of a migration refused
before any write). Run `UPDATE_GOLDEN=1 pytest tests/test_migrate_golden.py` to rewrite the
expected files, then review the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import httpx
import pytest
from support import Cli
from support.store import LocalStore

CASES = Path(__file__).parent / "migration_cases"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


def entry_id(index: int) -> str:
    return f"00000000-0000-4000-8000-{index:012d}"


def create_records(api: httpx.Client, flow: str, values: list[Any]) -> list[str]:
    """One record per value (null: no value), in order; their IDs."""
    ids = []
    for index, value in enumerate(values):
        data: dict[str, Any] = {} if value is None else {"score": value}
        if flow == "customers":
            data |= {"type": "customer", "name": f"C{index}", "email": f"c{index}@example.com"}
            response = api.post("/v2/customers", json={"data": data})
        else:
            data |= {"type": "entry", "id": entry_id(index)}
            response = api.post(f"/v2/flows/{flow}/entries", json={"data": data})
        assert response.status_code == 201, response.text
        ids.append(response.json()["data"]["id"])
    return ids


def read_values(api: httpx.Client, flow: str, ids: list[str]) -> list[Any]:
    path = "/v2/customers/{}" if flow == "customers" else f"/v2/flows/{flow}/entries/{{}}"
    return [api.get(path.format(record_id)).json()["data"].get("score") for record_id in ids]


def check_golden(path: Path, actual: str) -> None:
    if UPDATE:
        path.write_text(actual, encoding="utf-8")
    assert actual == path.read_text(encoding="utf-8")


def flow_of(case: Path) -> str:
    return "customers" if "customers:" in (case / "start.yaml").read_text() else "ratings"


@pytest.mark.parametrize("name", sorted(p.name for p in CASES.iterdir() if p.is_dir()))
def test_migration_path(name: str, cli: Cli, local_store: LocalStore, api: httpx.Client) -> None:
    case = CASES / name
    env = local_store.env()
    assert cli("apply", case / "start.yaml", "--auto-approve", env=env).code == 0
    flow = flow_of(case)
    values = json.loads((case / "records.json").read_text())
    ids = create_records(api, flow, values)
    local_store.reset_stats()

    planned = cli("plan", case / "desired.yaml", "--migrate", "--no-color", env=env)
    if (case / "refused.txt").exists() or (UPDATE and planned.code == 1):
        assert planned.code == 1
        error = planned.err.split("\n", 1)[1]  # after "Using the store at ..."
        check_golden(case / "refused.txt", error)
        applied = cli("apply", case / "desired.yaml", "--migrate", "--auto-approve", env=env)
        assert applied.code == 1
        assert error in applied.err
        assert local_store.write_count() == 0  # refused before any write
        assert read_values(api, flow, ids) == values
        return
    assert planned.code == 0, planned.err
    check_golden(case / "plan.txt", planned.out)
    assert local_store.write_count() == 0

    applied = cli("apply", case / "desired.yaml", "--migrate", "--auto-approve", env=env)
    assert applied.code == 0, applied.err
    after = read_values(api, flow, ids)
    check_golden(case / "after.json", json.dumps(after) + "\n")
    fields = api.get(f"/v2/flows/{flow}/fields").json()["data"]
    desired_type = next(
        line.split(":")[1].strip()
        for line in (case / "desired.yaml").read_text().splitlines()
        if "field_type:" in line
    )
    assert [(f["slug"], f["field_type"]) for f in fields] == [("score", desired_type)]
    again = cli("plan", case / "desired.yaml", "--migrate", env=env)
    assert again.code == 0
    assert "No changes." in again.out
