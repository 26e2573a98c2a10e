"""`apply --migrate` over real HTTP against the local store (issue 15 item 3): without the flag
a replace stays destructive; a migration stopped at any stage is finished by the next run from
what the store holds; a saved plan shows the migration and runs it, its values checked again."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
from support import Cli
from support.migrate import VALUES, entries, fields, setup
from support.store import LocalStore


def writes(store: LocalStore, method: str, route_part: str) -> int:
    return sum(
        item["count"]
        for item in store.stats()["requests"]
        if item["method"] == method and route_part in item["route"]
    )


def test_without_migrate_a_replace_stays_destructive_and_gated(
    tmp_path: Path, cli: Cli, local_store: LocalStore, api: httpx.Client
) -> None:
    desired, ids = setup(tmp_path, cli, local_store, api, "integer", "float")
    result = cli("apply", desired, "--auto-approve", env=local_store.env())
    assert result.code == 3
    assert "replace_field wishlists.rating" in result.err
    assert local_store.write_count() == 0
    result = cli("apply", desired, "--migrate", "--auto-approve", env=local_store.env())
    assert result.code == 0, result.err
    assert "migrate_field wishlists.rating ... done" in result.out
    after = entries(api)
    assert [after[i].get("rating") for i in ids] == [
        None if v is None else float(v) for v in VALUES
    ]
    assert all(after[i]["note"] == "n" for i in ids)  # the other field untouched
    assert {s: f["field_type"] for s, f in fields(api).items()} == {
        "rating": "float",
        "note": "string",
    }
    # One PUT per value, one field created, one deleted, one renamed.
    assert writes(local_store, "PUT", "entries") == 5
    assert writes(local_store, "POST", "/v2/fields") == 1
    assert writes(local_store, "DELETE", "/v2/fields") == 1


def test_a_stopped_copy_is_finished_writing_only_what_is_missing(
    tmp_path: Path, cli: Cli, local_store: LocalStore, api: httpx.Client
) -> None:
    desired, ids = setup(tmp_path, cli, local_store, api, "integer", "float")
    # What a run killed during the copy leaves: the temporary field, some values copied (one
    # of them stale: written before another writer changed the old value).
    flow_id = api.get("/v2/flows").json()["data"][0]["id"]
    temp: dict[str, Any] = {"type": "field", "slug": "rating__migrating_to_float"}
    temp["name"] = "Rating"
    temp |= {"field_type": "float", "description": "", "enabled": True, "required": False}
    temp["relationships"] = {"flow": {"data": {"type": "flow", "id": flow_id}}}
    assert api.post("/v2/fields", json={"data": temp}).status_code == 201
    for record_id, value in ((ids[0], 5.0), (ids[2], -2.0), (ids[3], 99.0)):
        body = {"data": {"type": "entry", "id": record_id, "rating__migrating_to_float": value}}
        assert api.put(f"/v2/flows/wishlists/entries/{record_id}", json=body).status_code == 200
    local_store.reset_stats()

    plan = cli("plan", desired, "--migrate", env=local_store.env())
    assert plan.code == 0
    assert "continues a stopped migration: rating__migrating_to_float exists" in plan.out
    assert "values kept: 5 of 6 records hold a value, 2 copied already" in plan.out
    assert "unmanaged" not in plan.out
    result = cli("apply", desired, "--migrate", "--auto-approve", env=local_store.env())
    assert result.code == 0, result.err
    after = entries(api)
    assert [after[i].get("rating") for i in ids] == [
        None if v is None else float(v) for v in VALUES
    ]
    assert writes(local_store, "PUT", "entries") == 3  # the stale one and the two missing
    assert writes(local_store, "POST", "/v2/fields") == 0
    assert set(fields(api)) == {"rating", "note"}


def test_a_migration_stopped_after_the_delete_is_renamed(
    tmp_path: Path, cli: Cli, local_store: LocalStore, api: httpx.Client
) -> None:
    desired, ids = setup(tmp_path, cli, local_store, api, "integer", "string")
    # What a run killed right after its DELETE leaves: the temporary field holding every
    # value, no `rating`. Made from a finished migration by renaming the field back.
    ran = cli("apply", desired, "--migrate", "--auto-approve", env=local_store.env())
    assert ran.code == 0
    live = fields(api)
    body = {
        "data": {"type": "field", "id": live["rating"]["id"], "slug": "rating__migrating_to_string"}
    }
    assert api.put(f"/v2/fields/{live['rating']['id']}", json=body).status_code == 200
    local_store.reset_stats()

    plan = cli("plan", desired, "--migrate", "--no-color", env=local_store.env())
    assert plan.code == 0
    assert "migrate field wishlists.rating__migrating_to_string -> wishlists.rating" in plan.out
    assert "continues a stopped migration" in plan.out
    assert "create field" not in plan.out
    plain = cli("plan", desired, "--no-color", env=local_store.env())  # without --migrate
    assert "+ create field wishlists.rating  [destructive]" in plain.out
    assert "rating__migrating_to_string holds its values; apply --migrate finishes it" in plain.out
    assert "unmanaged wishlists.rating__migrating_to_string" in plain.out

    result = cli("apply", desired, "--migrate", "--auto-approve", env=local_store.env())
    assert result.code == 0, result.err
    assert fields(api)["rating"]["id"] == live["rating"]["id"]  # renamed: the same field
    after = entries(api)
    assert [after[i].get("rating") for i in ids] == [None if v is None else str(v) for v in VALUES]
    assert local_store.write_count() == 1  # the rename alone


def test_a_saved_plan_shows_the_migration_and_checks_the_values_again(
    tmp_path: Path, cli: Cli, local_store: LocalStore, api: httpx.Client
) -> None:
    desired, ids = setup(tmp_path, cli, local_store, api, "string", "integer")
    saved = tmp_path / "plan.json"
    plan = cli("plan", desired, "--migrate", "--out", saved, env=local_store.env())
    assert plan.code == 0
    (op,) = json.loads(saved.read_text())["operations"]
    assert op["kind"] == "migrate_field"
    assert op["safety"] == "risky"
    # A value that no longer converts: refused before any write.
    body = {"data": {"type": "entry", "id": ids[3], "rating": "seven"}}
    assert api.put(f"/v2/flows/wishlists/entries/{ids[3]}", json=body).status_code == 200
    local_store.reset_stats()
    refused = cli("apply", saved, "--auto-approve", env=local_store.env())
    assert refused.code == 1
    assert f'record {ids[3]}: "seven": not an integer' in refused.err
    assert local_store.write_count() == 0
    body = {"data": {"type": "entry", "id": ids[3], "rating": "7"}}
    assert api.put(f"/v2/flows/wishlists/entries/{ids[3]}", json=body).status_code == 200
    result = cli("apply", saved, "--auto-approve", env=local_store.env())
    assert result.code == 0, result.err
    after = entries(api)
    assert [after[i].get("rating") for i in ids] == VALUES
