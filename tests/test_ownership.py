"""Ownership (issue 13.8): a store-level apply never changes or deletes organization-owned
flows or fields; the plan marks them as owned elsewhere, and prune leaves them alone. The
local store holds organization-owned objects through `Storage.set_owner`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
from support import Cli
from support.seed import write

from provisioner.localstore.storage import Storage
from provisioner.model import Field, Flow, State
from provisioner.normalize import state_from_api
from provisioner.ownership import foreign_operations, restrict
from provisioner.planner import plan

START = """\
flows:
  loyalty:
    name: Loyalty
    fields:
      tier:
        name: Tier
        field_type: string
      points:
        name: Points
        field_type: integer
"""

DESIRED = """\
flows:
  loyalty:
    name: Loyalty programme
    prune: true
    fields:
      tier:
        name: Tier level
        field_type: string
      badge:
        name: Badge
        field_type: string
  wishlists:
    name: Wishlists
"""


def test_restrict_drops_changes_to_organization_objects_and_keeps_new_fields() -> None:
    live = State(
        flows={
            "loyalty": Flow(
                slug="loyalty",
                name="Loyalty",
                id="f1",
                owner="organization",
                fields={
                    "tier": Field(slug="tier", name="Tier", id="a", owner="organization"),
                    "mine": Field(slug="mine", name="Mine", id="b", owner="store"),
                    "theirs": Field(slug="theirs", name="Theirs", id="c", owner="organization"),
                },
            )
        }
    )
    desired = State(
        flows={
            "loyalty": Flow(
                slug="loyalty",
                name="Loyalty programme",
                prune=True,
                fields={
                    "tier": Field(slug="tier", name="Tier level"),
                    "badge": Field(slug="badge", name="Badge"),
                },
            )
        }
    )
    full = plan(desired, live)
    assert len(foreign_operations(full, live)) == 3  # flow update, tier update, theirs delete
    restricted = restrict(full, live)
    assert [op.describe() for op in restricted.operations] == [
        "- delete_field loyalty.mine",
        "+ create_field loyalty.badge",
    ]
    assert restricted.owned_elsewhere == (
        "field:loyalty.theirs",
        "field:loyalty.tier",
        "flow:loyalty",
    )
    assert "field:loyalty.tier" not in restricted.fingerprints
    assert foreign_operations(restricted, live) == []
    # Without organization objects the plan is unchanged.
    assert restrict(full, State()) is full


def test_the_owner_is_read_from_meta() -> None:
    flows = [{"id": "f", "slug": "x", "name": "X", "meta": {"owner": "organization"}}]
    fields = [
        {
            "id": "a",
            "slug": "y",
            "name": "Y",
            "field_type": "string",
            "relationships": {"flow": {"data": {"id": "f", "type": "flow"}}},
            "meta": {"owner": "store"},
        }
    ]
    state = state_from_api(flows, fields)
    assert state.flows["x"].owner == "organization"
    assert state.flows["x"].fields["y"].owner == "store"
    assert state_from_api([{"id": "f", "slug": "x"}], []).flows["x"].owner is None


def test_a_store_level_apply_leaves_organization_flows_alone(
    cli: Cli, local_store: Any, tmp_path: Path
) -> None:
    env = local_store.env()
    start = write(tmp_path / "start.yaml", START)
    assert cli("apply", start, "--auto-approve", env=env).code == 0
    # The organization owns the flow and its `points` field (made at the organization level).
    storage = Storage(local_store.db_path)
    headers = local_store.headers()
    flows = httpx.get(f"{local_store.base_url}/v2/flows", headers=headers).json()["data"]
    fields = httpx.get(f"{local_store.base_url}/v2/fields", headers=headers).json()["data"]
    flow_id = next(f["id"] for f in flows if f["slug"] == "loyalty")
    storage.set_owner("flow", flow_id, "organization")
    points = next(f["id"] for f in fields if f["slug"] == "points")
    storage.set_owner("field", points, "organization")
    flow = httpx.get(f"{local_store.base_url}/v2/flows/{flow_id}", headers=headers).json()
    assert flow["data"]["meta"]["owner"] == "organization"

    desired = write(tmp_path / "desired.yaml", DESIRED)
    planned = cli("plan", desired, env=env)
    assert planned.code == 0, planned.err
    assert "update flow loyalty" not in planned.out
    assert "delete field loyalty.points" not in planned.out  # prune leaves it alone
    assert (
        "owned elsewhere (organization level, left alone by a store-level apply): "
        "loyalty, loyalty.points"
    ) in planned.out
    assert "~ update field loyalty.tier" in planned.out  # the store owns tier
    as_json = json.loads(cli("plan", desired, "--format", "json", env=env).out)
    assert as_json["owned_elsewhere"] == ["field:loyalty.points", "flow:loyalty"]
    markdown = cli("plan", desired, "--format", "markdown", env=env).out
    assert "Owned elsewhere (organization level" in markdown

    saved = tmp_path / "plan.json"
    assert cli("plan", desired, "--out", saved, env=env).code == 0
    local_store.reset_stats()
    applied = cli("apply", desired, "--auto-approve", env=env)
    assert applied.code == 0, applied.err
    after = httpx.get(f"{local_store.base_url}/v2/flows/{flow_id}", headers=headers).json()
    assert after["data"]["name"] == "Loyalty"  # unchanged
    slugs = {
        f["slug"]
        for f in httpx.get(f"{local_store.base_url}/v2/fields", headers=headers).json()["data"]
    }
    assert {"points", "tier", "badge"} <= slugs
    writes = {
        (item["method"], item["route"])
        for item in local_store.stats()["requests"]
        if item["method"] in ("POST", "PUT", "DELETE") and item["route"] != "/oauth/access_token"
    }
    assert ("DELETE", "/v2/fields/{field_id}") not in writes
    assert ("PUT", "/v2/flows/{flow_id}") not in writes
    again = cli("plan", desired, "--detailed-exitcode", env=env)
    assert again.code == 0, again.out

    # A saved plan that would touch an object the organization took over since is refused
    # whole (its fingerprints still match: ownership is not an attribute of the object).
    changed = write(tmp_path / "changed.yaml", DESIRED.replace("Tier level", "Tier (new)"))
    assert cli("plan", changed, "--out", saved, env=env).code == 0
    tier = next(f["id"] for f in fields if f["slug"] == "tier")
    storage.set_owner("field", tier, "organization")
    local_store.reset_stats()
    refused = cli("apply", saved, "--auto-approve", env=env)
    assert refused.code == 1
    assert "refusing the saved plan: it changes flows or fields owned by the organization" in (
        refused.err
    )
    assert "~ update_field loyalty.tier" in refused.err
    assert local_store.write_count() == 0
