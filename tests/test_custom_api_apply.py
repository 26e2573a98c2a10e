"""apply of Custom APIs (issue 14 item 5): fault runs converge without duplicates, saved plans
are checked for staleness, and plan files of an unknown shape are refused."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from support import Cli
from support.store import LocalStore

from provisioner.applier import apply_plan
from provisioner.client import Client, ClientConfig
from provisioner.client.custom_apis import CustomApiClient
from provisioner.config import load_desired
from provisioner.custom_api_reader import with_custom_apis
from provisioner.errors import PlanFormatError, ProvisionerError
from provisioner.plan import Plan
from provisioner.planner import plan as make_plan
from provisioner.reader import read_live_state

EXAMPLE = Path(__file__).parent / "custom_api_cases" / "wishlists.yaml"


def _content(store: LocalStore) -> tuple[list[str], dict[str, list[str]]]:
    """The api_types of the store's Custom APIs and each API's field slugs, as listed."""
    with httpx.Client(base_url=store.base_url, headers=store.headers(), timeout=30) as http:
        apis = http.get("/v2/settings/extensions/custom-apis", params={"page[limit]": 100})
        listed = apis.json()["data"]
        fields = {}
        for api in listed:
            answer = http.get(f"/v2/settings/extensions/custom-apis/{api['id']}/fields")
            fields[api["slug"]] = sorted(f["slug"] for f in answer.json()["data"])
    return sorted(api["api_type"] for api in listed), fields


def test_a_faulty_store_converges_without_duplicate_apis_or_fields(
    local_store_factory: Callable[..., LocalStore],
) -> None:
    # Fail rate 0.2 (500/502/503 and 429, `localstore/faults.py`), lost answers 0.05. One
    # request at a time, so the seeded draws fall on the same requests every run: seed 6
    # injects a 429, 5xx failures and a lost create answer (asserted below from the store's
    # statistics and the client's). The client's retries absorb them: one apply converges.
    store = local_store_factory(fail_rate=0.2, lost_write_rate=0.05, seed=6)
    desired = load_desired([EXAMPLE])
    config = ClientConfig(
        base_url=store.base_url,
        client_id=store.client_id,
        client_secret=store.client_secret,
        rate_limit=1000,
        backoff_base=0.01,  # the store's failures, not the wait between retries, are tested
        max_in_flight=1,
    )

    async def run() -> tuple[int, int, list[str], dict[str, list[str]]]:
        async with Client(config) as client:
            for attempt in range(1, 6):  # a run the faults stop is finished by the next
                try:
                    live = await with_custom_apis(client, await read_live_state(client))
                    plan = make_plan(desired, live)
                    if plan.is_empty:
                        # What the store lists (through the retrying client: it still fails).
                        apis = CustomApiClient(client)
                        listed = await apis.list_apis()
                        fields = {
                            api["slug"]: sorted(
                                f["slug"] for f in await apis.list_fields(api["id"])
                            )
                            for api in listed
                        }
                        adopted = client.stats.adopted
                        return attempt, adopted, sorted(a["api_type"] for a in listed), fields
                    await apply_plan(client, plan)
                except ProvisionerError:
                    continue
        raise AssertionError("no convergence in 5 runs")

    attempts, adopted, api_types, fields = asyncio.run(run())
    assert attempts >= 2  # the last run found nothing left to do
    assert api_types == ["wishlist_ext", "wishlist_item_ext"]  # each exactly once
    assert fields == {
        "wishlists": ["handle", "owner_email", "preferences", "priority", "product_ids", "public"],
        "wishlist_items": ["note", "weight_kg"],
    }
    statuses = [(item["status"], item["count"]) for item in store.stats()["requests"]]
    assert sum(count for status, count in statuses if status == 429) >= 1  # no rate limit set
    assert sum(count for status, count in statuses if status >= 500) >= 1
    assert adopted >= 1  # a lost create answer, adopted rather than created twice
    assert attempts == 2  # one apply converged (the second plan was empty)


def test_lost_create_answers_are_adopted(
    cli: Cli, local_store_factory: Callable[..., LocalStore]
) -> None:
    store = local_store_factory(lost_write_rate=0.5, seed=3)
    applied = cli("apply", EXAMPLE, "--auto-approve", env=store.env())
    assert applied.code == 0, applied.out + applied.err
    assert "adopted" in applied.out  # the statistics say a lost answer was adopted
    api_types, fields = _content(store)
    assert api_types == ["wishlist_ext", "wishlist_item_ext"]
    assert sum(len(slugs) for slugs in fields.values()) == 8


def test_a_saved_plan_is_stale_when_a_field_it_touches_changed(
    cli: Cli, local_store: LocalStore, tmp_path: Path
) -> None:
    env = local_store.env()
    assert cli("apply", EXAMPLE, "--auto-approve", env=env).code == 0
    desired = tmp_path / "desired.yaml"
    desired.write_text(
        EXAMPLE.read_text(encoding="utf-8").replace("max_length: 500", "max_length: 400"),
        encoding="utf-8",
    )
    saved = tmp_path / "plan.json"
    assert cli("plan", desired, "--out", saved, env=env).code == 0
    saved_plan = json.loads(saved.read_text(encoding="utf-8"))
    # Version 4 since a saved plan records its store (issue 10 acceptance follow-up, F3).
    assert saved_plan["format_version"] == 4
    assert any(op["kind"].endswith("custom_field") for op in saved_plan["operations"])
    with httpx.Client(
        base_url=local_store.base_url, headers=local_store.headers(), timeout=30
    ) as http:
        apis = http.get("/v2/settings/extensions/custom-apis").json()["data"]
        items = next(api for api in apis if api["slug"] == "wishlist_items")
        path = f"/v2/settings/extensions/custom-apis/{items['id']}/fields"
        note = next(f for f in http.get(path).json()["data"] if f["slug"] == "note")
        body = {"data": {"type": "custom_field", "id": note["id"], "name": "Changed"}}
        assert http.put(f"{path}/{note['id']}", json=body).status_code == 200
    refused = cli("apply", saved, "--auto-approve", env=env)
    assert refused.code == 1
    assert "custom_field:wishlist_items.note" in refused.err
    assert "stale" in refused.err


def test_a_saved_deletion_is_stale_when_entries_were_added(
    cli: Cli, local_store: LocalStore, tmp_path: Path
) -> None:
    env = local_store.env()
    assert cli("apply", EXAMPLE, "--auto-approve", env=env).code == 0
    desired = tmp_path / "desired.yaml"
    text = EXAMPLE.read_text(encoding="utf-8")
    desired.write_text(text.split("  wishlist_items:")[0], encoding="utf-8")
    desired.write_text(
        desired.read_text(encoding="utf-8") + "  wishlist_items: {state: absent}\n",
        encoding="utf-8",
    )
    saved = tmp_path / "plan.json"
    planned = cli("plan", desired, "--out", saved, env=env)
    assert "it holds 0 entries" in planned.out
    with httpx.Client(
        base_url=local_store.base_url, headers=local_store.headers(), timeout=30
    ) as http:
        body = {"data": {"type": "wishlist_item_ext", "note": "added after the review"}}
        assert http.post("/v2/extensions/wishlist_items", json=body).status_code == 201
    refused = cli("apply", saved, "--auto-approve", "--allow-destructive", env=env)
    assert refused.code == 1
    assert "custom_entries:wishlist_items" in refused.err


def test_custom_api_operations_need_format_version_2() -> None:
    operation = {
        "kind": "create_custom_api",
        "custom_api": "wishlists",
        "after": {"name": "W", "api_type": "wishlist_ext"},
    }
    with pytest.raises(PlanFormatError, match="needs format_version 2"):
        Plan.from_dict({"format_version": 1, "operations": [operation]})
    plan = Plan.from_dict({"format_version": 2, "operations": [operation]})
    assert plan.to_dict()["format_version"] == 2
    # Issue 15: version 3 is a plan measured by `plan --impact`; 99 is unknown.
    with pytest.raises(PlanFormatError, match="unsupported plan format_version 99"):
        Plan.from_dict({"format_version": 99, "operations": []})


def test_a_field_update_whose_every_answer_is_lost_is_verified_like_with_like(
    local_store_factory: Callable[..., LocalStore],
) -> None:
    # Follow-up H: an update sends part of a field's validation (no create-only keys); the
    # read-back holds all of it. Every answer is lost, one attempt: the read-back decides.
    store = local_store_factory(lost_write_rate=1.0)
    config = ClientConfig(
        base_url=store.base_url,
        client_id=store.client_id,
        client_secret=store.client_secret,
        rate_limit=1000,
        backoff_base=0.01,
        max_attempts=1,
    )
    start = load_desired([EXAMPLE])
    text = EXAMPLE.read_text(encoding="utf-8")
    changed = text.replace("max_length: 500", "max_length: 400").replace(
        "name: Wishlist items", "name: Saved items"
    )
    path = Path(store.db_path).parent / "changed.yaml"
    path.write_text(changed, encoding="utf-8")

    async def run() -> tuple[Plan, Plan, int]:
        async with Client(config) as client:
            live = await with_custom_apis(client, await read_live_state(client))
            await apply_plan(client, make_plan(start, live))
            live = await with_custom_apis(client, await read_live_state(client))
            plan = make_plan(load_desired([path]), live)
            adopted = client.stats.adopted
            await apply_plan(client, plan)  # raised ApplyError before: "not applied"
            live = await with_custom_apis(client, await read_live_state(client))
            return plan, make_plan(load_desired([path]), live), client.stats.adopted - adopted

    plan, again, adopted = asyncio.run(run())
    assert {op.kind.value for op in plan.operations} == {"update_custom_api", "update_custom_field"}
    assert adopted == 2  # both updates verified by reading them back
    assert again.is_empty
