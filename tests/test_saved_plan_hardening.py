"""Saved plans (issue 10 items 1, 2, 10): what a destructive operation destroys is part of the
review, the applier trusts nothing in the file it can derive itself, a malformed plan is one
clear error and zero requests, and a saved plan is known by its content.

Every test runs the real CLI against a local store over HTTP.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from support import Cli
from support.api import ApiClient
from support.seed import write

from provisioner.client import Client, ClientConfig

TMPFLOW = """\
flows:
  tmpflow:
    name: Tmp
    fields:
      f1:
        name: F1
        field_type: string
"""

F2 = {
    "slug": "f2",
    "name": "F2",
    "field_type": "string",
    "description": "",
    "required": False,
    "enabled": True,
}
ABSENT = "flows:\n  tmpflow:\n    state: absent\n"


def _client(store: Any) -> ApiClient:
    config = ClientConfig(
        base_url=store.base_url, client_id=store.client_id, client_secret=store.client_secret
    )
    return ApiClient(config)


async def _flow_id(client: Client, slug: str) -> str:
    return next(str(f["id"]) for f in await client.list_flows() if f["slug"] == slug)


async def _add_field_and_entry(store: Any) -> None:
    async with _client(store) as client:
        flow_id = await _flow_id(client, "tmpflow")
        await client.create_field(flow_id, F2)
        await client.create_entry("tmpflow", {"f2": "precious"})


async def _add_field(store: Any) -> None:
    async with _client(store) as client:
        flow_id = await _flow_id(client, "tmpflow")
        await client.create_field(flow_id, F2)


async def _add_entry(store: Any) -> None:
    async with _client(store) as client:
        await client.create_entry("tmpflow", {"f1": "precious"})


async def _snapshot(store: Any) -> tuple[list[str], int]:
    async with _client(store) as client:
        flows = {f["id"]: f["slug"] for f in await client.list_flows()}
        fields = sorted(
            f"{flows[f['relationships']['flow']['data']['id']]}.{f['slug']}"
            for f in await client.list_fields()
        )
        entries = len(await client.list_entries("tmpflow")) if "tmpflow" in flows.values() else 0
        return fields, entries


@pytest.fixture
def applied_tmpflow(cli: Cli, local_store: Any, tmp_path: Path) -> dict[str, str]:
    env: dict[str, str] = local_store.env()
    result = cli("apply", write(tmp_path / "tmp.yaml", TMPFLOW), "--auto-approve", env=env)
    assert result.code == 0, result.err
    return env


@pytest.mark.parametrize(
    ("change", "stale_key"),
    [
        (_add_field_and_entry, "fields:tmpflow"),
        (_add_field, "fields:tmpflow"),
        (_add_entry, "entries:tmpflow"),
    ],
    ids=["field-and-entry", "field", "entry"],
)
def test_a_saved_flow_deletion_goes_stale_when_the_flow_gained_data(
    cli: Cli,
    local_store: Any,
    applied_tmpflow: dict[str, str],
    tmp_path: Path,
    change: Any,
    stale_key: str,
) -> None:
    env = applied_tmpflow
    saved = tmp_path / "p.json"
    planned = cli("plan", write(tmp_path / "absent.yaml", ABSENT), "--out", saved, env=env)
    assert planned.code == 0, planned.err
    asyncio.run(change(local_store))
    before = asyncio.run(_snapshot(local_store))
    writes = local_store.write_count()
    result = cli("apply", saved, "--auto-approve", "--allow-destructive", env=env)
    assert result.code == 1, result.out + result.err
    assert "the saved plan is stale" in result.err
    assert stale_key in result.err
    assert local_store.write_count() == writes
    assert asyncio.run(_snapshot(local_store)) == before
    fingerprints = json.loads(saved.read_text())["fingerprints"]
    assert fingerprints["entries:tmpflow"] == "0"
    assert "fields:tmpflow" in fingerprints


def test_a_saved_flow_deletion_applies_while_the_flow_is_as_reviewed(
    cli: Cli, local_store: Any, applied_tmpflow: dict[str, str], tmp_path: Path
) -> None:
    env = applied_tmpflow
    asyncio.run(_add_entry(local_store))  # before the review: part of what was shown
    saved = tmp_path / "p.json"
    assert cli("plan", write(tmp_path / "a.yaml", ABSENT), "--out", saved, env=env).code == 0
    assert json.loads(saved.read_text())["fingerprints"]["entries:tmpflow"] == "1"
    local_store.reset_stats()
    result = cli("apply", saved, "--auto-approve", "--allow-destructive", env=env)
    assert result.code == 0, result.err
    assert asyncio.run(_snapshot(local_store)) == ([], 0)
    # The entry count is one page[limit]=1 read, only for the flow being deleted.
    entry_reads = [
        item
        for item in local_store.stats()["requests"]
        if item["method"] == "GET" and "entries" in item["route"]
    ]
    assert sum(item["count"] for item in entry_reads) == 1


def test_plan_reads_entries_only_of_flows_it_deletes(
    cli: Cli, local_store: Any, applied_tmpflow: dict[str, str], tmp_path: Path
) -> None:
    local_store.reset_stats()
    result = cli(
        "plan", write(tmp_path / "t.yaml", TMPFLOW.replace("F1", "F one")), env=applied_tmpflow
    )
    assert result.code == 0, result.err
    routes = [item["route"] for item in local_store.stats()["requests"]]
    assert not [route for route in routes if "entries" in route]


def test_a_saved_field_deletion_goes_stale_when_the_field_changed(
    cli: Cli, local_store: Any, applied_tmpflow: dict[str, str], tmp_path: Path
) -> None:
    env = applied_tmpflow
    saved = tmp_path / "p.json"
    absent_field = TMPFLOW.replace(
        "        name: F1\n        field_type: string\n", "        state: absent\n"
    )
    assert cli("plan", write(tmp_path / "a.yaml", absent_field), "--out", saved, env=env).code == 0

    async def change() -> None:
        async with _client(local_store) as client:
            field = next(f for f in await client.list_fields() if f["slug"] == "f1")
            await client.update_field(str(field["id"]), {"description": "now it matters"})

    asyncio.run(change())
    writes = local_store.write_count()
    result = cli("apply", saved, "--auto-approve", "--allow-destructive", env=env)
    assert result.code == 1
    assert "field:tmpflow.f1" in result.err
    assert local_store.write_count() == writes


# -- item 2: safety comes from the operation, and a plan file is read strictly ----------------


def _saved_deletion(cli: Cli, env: dict[str, str], tmp_path: Path) -> dict[str, Any]:
    saved = tmp_path / "p.json"
    assert cli("plan", write(tmp_path / "absent.yaml", ABSENT), "--out", saved, env=env).code == 0
    data: dict[str, Any] = json.loads(saved.read_text())
    return data


@pytest.mark.parametrize("safety", [None, "safe"], ids=["no-safety-keys", "claims-safe"])
def test_a_plan_file_cannot_make_a_delete_safe(
    cli: Cli,
    local_store: Any,
    applied_tmpflow: dict[str, str],
    tmp_path: Path,
    safety: str | None,
) -> None:
    data = _saved_deletion(cli, applied_tmpflow, tmp_path)
    for op in data["operations"]:
        if safety is None:
            del op["safety"]
        else:
            op["safety"] = safety
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(data))
    requests = local_store.stats()["total"]
    result = cli("apply", edited, "--auto-approve", env=applied_tmpflow)
    assert result.code == 3, result.out + result.err
    assert "delete_flow tmpflow" in result.err
    assert local_store.stats()["total"] == requests
    assert asyncio.run(_snapshot(local_store)) == (["tmpflow.f1"], 0)


def _edit_op(data: dict[str, Any], **changes: Any) -> dict[str, Any]:
    op = dict(data["operations"][0])
    for key, value in changes.items():
        if value is _DROP:
            op.pop(key, None)
        else:
            op[key] = value
    return {**data, "operations": [op, *data["operations"][1:]]}


_DROP = object()

CREATE_FIELD_PLAN: dict[str, Any] = {
    "format_version": 1,
    "operations": [
        {
            "action": "+",
            "kind": "create_field",
            "flow": "tmpflow",
            "field": "f3",
            "flow_id": "FLOW-ID",
            "after": {"name": "F3", "field_type": "string"},
        }
    ],
    "unmanaged": [],
    "fingerprints": {"field:tmpflow.f3": None},
}


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: {**d, "format_version": 99}, "unsupported plan format_version 99"),
        (lambda d: {**d, "format_version": 3}, "format_version 3 needs `impact`"),
        (
            lambda d: {**d, "impact": {"budget": 1, "requests": 0}},
            "`impact` needs format_version 3",
        ),
        (lambda d: {k: v for k, v in d.items() if k != "format_version"}, "format_version None"),
        (lambda d: {**d, "operations": {}}, "`operations` is missing"),
        (lambda d: _edit_op(d, kind="drop_flow"), "unknown kind 'drop_flow'"),
        (lambda d: _edit_op(d, field=_DROP), "(create_field tmpflow): `field` must be a non-empty"),
        (lambda d: _edit_op(d, field=None), "`field` must be a non-empty string (got null)"),
        (lambda d: _edit_op(d, after={"name": "F3"}), "`after.field_type` is required"),
        (lambda d: _edit_op(d, flow_id=_DROP), "`flow_id` is required"),
        (
            lambda d: _edit_op(d, kind="delete_field", action=_DROP),
            "`id` must be a non-empty string",
        ),
        (lambda d: _edit_op(d, kind="rename_field", id="x", action=_DROP), "`from_slug` must be"),
        (
            lambda d: _edit_op(d, kind="update_field", id="x", action=_DROP),
            "an update must list its",
        ),
        (lambda d: _edit_op(d, kind="create_flow"), "`field` must be null"),
        (lambda d: _edit_op(d, action="-"), "does not match the kind"),
        (lambda d: {**d, "fingerprints": {"field:tmpflow.f3": 3}}, "`fingerprints` must map"),
        (
            lambda d: {**d, "fingerprints": {"field:tmpflow.f3": None, "field:tmpflow": None}},
            "`fingerprints`: not an object key: 'field:tmpflow'",
        ),
        (lambda d: _edit_op(d, flow=""), "`flow` must be a slug"),
    ],
)
def test_a_malformed_plan_file_is_one_clear_error_and_no_request(
    cli: Cli, local_store: Any, tmp_path: Path, edit: Any, message: str
) -> None:
    # The unedited plan is valid (its flow ID is checked against the store, not here).
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(edit(json.loads(json.dumps(CREATE_FIELD_PLAN)))))
    result = cli("apply", path, "--auto-approve", env=local_store.env())
    assert result.code == 1
    assert f"Error: {path}: " in result.err
    assert message in result.err
    assert "Traceback" not in result.err
    assert len(result.err.strip().splitlines()) == 1, result.err
    assert local_store.stats()["total"] == 0


def test_the_unedited_sample_plan_is_well_formed_but_stale(
    cli: Cli, local_store: Any, tmp_path: Path
) -> None:
    # The sample above is refused for what the store holds, not for its form.
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(CREATE_FIELD_PLAN))
    result = cli("apply", path, "--auto-approve", env=local_store.env())
    assert result.code == 1
    assert "stale" in result.err
    assert "flow:tmpflow" in result.err
    assert local_store.write_count() == 0


def test_a_plan_without_the_fingerprints_of_what_it_deletes_is_refused(
    cli: Cli, local_store: Any, applied_tmpflow: dict[str, str], tmp_path: Path
) -> None:
    # A plan made before flow contents were recorded (or edited) cannot be checked: refused.
    data = _saved_deletion(cli, applied_tmpflow, tmp_path)
    del data["fingerprints"]["entries:tmpflow"]
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(data))
    writes = local_store.write_count()
    result = cli("apply", edited, "--auto-approve", "--allow-destructive", env=applied_tmpflow)
    assert result.code == 1
    assert "records no fingerprint of entries:tmpflow" in result.err
    assert local_store.write_count() == writes


def test_a_plan_naming_another_object_id_is_stale(
    cli: Cli, local_store: Any, applied_tmpflow: dict[str, str], tmp_path: Path
) -> None:
    saved = tmp_path / "p.json"
    renamed = TMPFLOW.replace("name: F1", "name: F one")
    assert (
        cli("plan", write(tmp_path / "r.yaml", renamed), "--out", saved, env=applied_tmpflow).code
        == 0
    )
    data = json.loads(saved.read_text())
    data["operations"][0]["id"] = "00000000-0000-0000-0000-000000000000"
    saved.write_text(json.dumps(data))
    writes = local_store.write_count()
    result = cli("apply", saved, "--auto-approve", env=applied_tmpflow)
    assert result.code == 1
    assert "field:tmpflow.f1" in result.err
    assert local_store.write_count() == writes


# -- item 10: a saved plan is known by its content, and applied alone -------------------------


def test_a_saved_plan_under_any_name_is_applied(cli: Cli, local_store: Any, tmp_path: Path) -> None:
    env = local_store.env()
    saved = tmp_path / "plan.out"
    assert cli("plan", write(tmp_path / "t.yaml", TMPFLOW), "--out", saved, env=env).code == 0
    result = cli("apply", saved, "--auto-approve", env=env)
    assert result.code == 0, result.err
    assert "Apply complete: 2 operation(s) applied." in result.out
    assert asyncio.run(_snapshot(local_store)) == (["tmpflow.f1"], 0)


def test_a_desired_state_written_as_json_is_planned_not_taken_for_a_plan(
    cli: Cli, local_store: Any, tmp_path: Path
) -> None:
    desired = tmp_path / "flows.json"
    desired.write_text(json.dumps({"flows": {"tmpflow": {"name": "Tmp"}}}))
    result = cli("apply", desired, "--auto-approve", env=local_store.env())
    assert result.code == 0, result.err
    assert "+ create_flow tmpflow ... done" in result.out


def test_a_saved_plan_is_applied_alone(cli: Cli, local_store: Any, tmp_path: Path) -> None:
    env = local_store.env()
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    assert cli("plan", write(tmp_path / "t.yaml", TMPFLOW), "--out", a, env=env).code == 0
    b.write_text(a.read_text())
    local_store.reset_stats()
    for paths in ([a, b], [a, tmp_path / "t.yaml"]):
        result = cli("apply", *paths, "--auto-approve", env=env)
        assert result.code == 1
        assert "a saved plan is applied alone" in result.err
        assert "Traceback" not in result.err
    assert local_store.stats()["total"] == 0


# -- item 13: read-only credentials are refused up front --------------------------------------


@pytest.mark.parametrize("saved", [False, True], ids=["yaml", "saved-plan"])
def test_apply_with_read_only_credentials_is_refused_up_front(
    cli: Cli, local_store: Any, tmp_path: Path, saved: bool
) -> None:
    desired = write(tmp_path / "t.yaml", TMPFLOW)
    path = desired
    if saved:
        path = tmp_path / "p.json"
        assert cli("plan", desired, "--out", path, env=local_store.env()).code == 0
    local_store.reset_stats()
    result = cli("apply", path, "--auto-approve", env=local_store.env(secret=False))
    assert result.code == 1
    assert "EPCC_CLIENT_SECRET" in result.err
    assert "implicit grant" in result.err
    assert "create_flow" not in result.out + result.err  # not shown, not attempted
    assert local_store.stats()["total"] == 0
    # Reading works with the same credentials.
    assert cli("plan", desired, env=local_store.env(secret=False)).code == 0
