"""`provisioner plan` and `apply` end to end over HTTP against the local store.

Every test runs the real CLI entry point (`provisioner.cli.main`) in-process, with the store
selected through the environment as a user would, and checks exit codes (README "Exit codes"),
output and what the store saw (its request statistics).
"""

from __future__ import annotations

import asyncio
import json
import math
from pathlib import Path
from typing import Any

import pytest
from support import Cli
from support.seed import write

from provisioner.client import Client, ClientConfig

CUSTOMERS = """\
flows:
  customers:
    name: Customers
    description: Extends the default customer object
    fields:
      delivery_details:
        name: Delivery Details
        field_type: string
        description: customers delivery details
      nickname:
        name: Nickname
        field_type: string
  wishlists:
    name: Wishlists
    description: Saved products
    fields:
      title:
        name: Title
        field_type: string
        required: true
      items:
        name: Items
        field_type: relationship
        validation_rules:
          - type: one-to-many
            to: product
"""


@pytest.fixture
def customers_yaml(tmp_path: Path) -> Path:
    return write(tmp_path / "flows.yaml", CUSTOMERS)


def test_plan_exit_codes_and_formats(cli: Cli, local_store: Any, customers_yaml: Path) -> None:
    env = local_store.env()
    plain = cli("plan", customers_yaml, env=env)
    assert plain.code == 0, plain.err
    assert "Plan: 6 to create, 0 to update, 0 to replace, 0 to delete." in plain.out
    assert "\x1b[" not in plain.out
    assert plain.err.splitlines()[0] == f"Using the store at {local_store.base_url}."

    detailed = cli("plan", customers_yaml, "--detailed-exitcode", env=env)
    assert detailed.code == 2
    as_json = json.loads(cli("plan", customers_yaml, "--format", "json", env=env).out)
    assert as_json["format_version"] == 1
    assert as_json["summary"]["create"] == 6
    markdown = cli("plan", customers_yaml, "--format", "markdown", env=env)
    assert markdown.code == 0
    assert "wishlists" in markdown.out
    assert local_store.write_count() == 0


def test_apply_then_plan_is_empty_and_apply_again_writes_nothing(
    cli: Cli, local_store: Any, customers_yaml: Path
) -> None:
    env = local_store.env()
    applied = cli("apply", customers_yaml, "--auto-approve", env=env)
    assert applied.code == 0, applied.err
    assert "+ create_flow wishlists ... done" in applied.out
    assert "+ create_field wishlists.items ... done" in applied.out
    assert "Apply complete: 6 operation(s) applied." in applied.out
    assert local_store.write_count() == 6

    again = cli("plan", customers_yaml, "--detailed-exitcode", env=env)
    assert again.code == 0, again.out
    assert "No changes." in again.out

    before = local_store.write_count()
    reapplied = cli("apply", customers_yaml, "--auto-approve", env=env)
    assert reapplied.code == 0
    assert local_store.write_count() == before


def test_apply_without_a_terminal_needs_auto_approve(
    cli: Cli, local_store: Any, customers_yaml: Path
) -> None:
    refused = cli("apply", customers_yaml, env=local_store.env())
    assert refused.code == 1
    assert "--auto-approve" in refused.err
    assert "Plan: 6 to create" in refused.out  # the plan is still shown
    assert local_store.write_count() == 0


def test_destructive_operations_exit_3_and_apply_nothing(
    cli: Cli, local_store: Any, customers_yaml: Path, tmp_path: Path
) -> None:
    env = local_store.env()
    assert cli("apply", customers_yaml, "--auto-approve", env=env).code == 0
    changed = CUSTOMERS.replace(
        "      nickname:\n        name: Nickname\n        field_type: string\n",
        "      nickname:\n        state: absent\n",
    ).replace("        name: Delivery Details\n", "        name: Delivery\n")
    desired = write(tmp_path / "changed.yaml", changed)
    before = local_store.write_count()

    refused = cli("apply", desired, "--auto-approve", env=env)
    assert refused.code == 3
    assert "- delete_field customers.nickname" in refused.err
    assert "--allow-destructive" in refused.err
    assert local_store.write_count() == before  # not even the safe update went out

    allowed = cli("apply", desired, "--auto-approve", "--allow-destructive", env=env)
    assert allowed.code == 0, allowed.err
    assert local_store.write_count() == before + 2
    assert cli("plan", desired, "--detailed-exitcode", env=env).code == 0


def _full_flow(slugs: range, *, prune: bool) -> str:
    fields = "".join(f"      f{i:03d}: {{name: F{i}, field_type: string}}\n" for i in slugs)
    return f"flows:\n  big:\n    name: Big\n    prune: {str(prune).lower()}\n    fields:\n{fields}"


def test_a_full_flow_makes_room_before_new_fields_arrive(
    cli: Cli, local_store: Any, tmp_path: Path
) -> None:
    # 4.2: at most 100 fields per flow. Pruning 10 and adding 10 in one plan must delete first.
    env = local_store.env()
    full = write(tmp_path / "full.yaml", _full_flow(range(100), prune=False))
    assert cli("apply", full, "--auto-approve", env=env).code == 0
    shifted = write(tmp_path / "shifted.yaml", _full_flow(range(10, 110), prune=True))

    applied = cli("apply", shifted, "--auto-approve", "--allow-destructive", env=env)
    assert applied.code == 0, applied.out + applied.err
    assert "Apply complete: 20 operation(s) applied." in applied.out
    assert cli("plan", shifted, "--detailed-exitcode", env=env).code == 0


def test_invalid_files_fail_before_any_request(cli: Cli, local_store: Any, tmp_path: Path) -> None:
    bad = write(tmp_path / "bad.yaml", "flows:\n  customers:\n    fields: 3\n")
    result = cli("plan", bad, env=local_store.env())
    assert result.code == 1
    assert "bad.yaml" in result.err
    assert local_store.stats()["total"] == 0


def test_reading_the_store_costs_pages_not_objects(
    cli: Cli, local_store: Any, tmp_path: Path
) -> None:
    # 3 flows and 105 fields: 1 token + 1 page of flows + 2 pages of fields (100 per page).
    flows = {
        f"bulk-{n}": {
            "name": f"Bulk {n}",
            "fields": {f"f{i:03}": {"name": f"F{i}", "field_type": "string"} for i in range(35)},
        }
        for n in range(3)
    }
    desired = write(tmp_path / "bulk.yaml", json.dumps({"flows": flows}))
    env = local_store.env()
    assert cli("apply", desired, "--auto-approve", "--parallelism", "16", env=env).code == 0
    local_store.reset_stats()
    result = cli("plan", desired, "--detailed-exitcode", "--verbose", env=env)
    assert result.code == 0, result.out
    stats = local_store.stats()
    assert stats["total"] == 1 + math.ceil(3 / 100) + math.ceil(105 / 100)
    assert local_store.client_secret not in result.out + result.err


def test_embedded_store_is_the_default_and_says_so_first(
    cli: Cli, customers_yaml: Path, tmp_path: Path
) -> None:
    db = tmp_path / "store" / "local.sqlite"
    applied = cli("apply", customers_yaml, "--auto-approve", "--db", db)
    assert applied.code == 0, applied.err
    assert applied.err.splitlines()[0].startswith(f"Using the embedded local store at {db}")
    assert db.exists()
    again = cli("plan", customers_yaml, "--db", db, "--detailed-exitcode")
    assert again.code == 0


def test_ci_without_a_store_refuses_unless_local(
    cli: Cli, customers_yaml: Path, tmp_path: Path
) -> None:
    db = tmp_path / "local.sqlite"
    refused = cli("plan", customers_yaml, "--db", db, env={"CI": "true"})
    assert refused.code == 1
    assert "CI is set and no store is configured" in refused.err
    assert not db.exists()
    local = cli("plan", customers_yaml, "--db", db, "--local", env={"CI": "true"})
    assert local.code == 0, local.err
    assert local.err.startswith("Using the embedded local store")


def test_local_overrides_a_configured_store(
    cli: Cli, local_store: Any, customers_yaml: Path, tmp_path: Path
) -> None:
    db = tmp_path / "local.sqlite"
    result = cli(
        "apply", customers_yaml, "--auto-approve", "--local", "--db", db, env=local_store.env()
    )
    assert result.code == 0
    assert local_store.write_count() == 0


def test_saved_plan_applies_exactly_and_goes_stale_only_when_touched(
    cli: Cli, local_store: Any, customers_yaml: Path, tmp_path: Path
) -> None:
    env = local_store.env()
    first = write(tmp_path / "first.yaml", CUSTOMERS.split("  wishlists:")[0])
    assert cli("apply", first, "--auto-approve", env=env).code == 0
    saved = tmp_path / "plan.json"
    planned = cli("plan", customers_yaml, "--out", saved, env=env)
    assert planned.code == 0
    plan = json.loads(saved.read_text())
    assert plan["fingerprints"]  # e.g. flow:wishlists -> null (expected absent)

    # A change elsewhere (a flow the plan does not touch) leaves the plan fresh.
    other = write(tmp_path / "other.yaml", "flows:\n  unrelated:\n    name: Unrelated\n")
    assert cli("apply", other, "--auto-approve", env=env).code == 0
    # The YAML may change after planning: a saved plan never re-reads it.
    customers_yaml.write_text("flows: {}\n")
    applied = cli("apply", saved, "--auto-approve", env=env)
    assert applied.code == 0, applied.err
    assert "Apply complete: 3 operation(s) applied." in applied.out

    # The same saved plan is now stale: the objects it expected absent exist.
    stale = cli("apply", saved, "--auto-approve", env=env)
    assert stale.code == 1
    assert "stale" in stale.err
    assert "flow:wishlists" in stale.err


async def _update_field(store: Any, flow_slug: str, field_slug: str, attrs: Any) -> None:
    config = ClientConfig(
        base_url=store.base_url, client_id=store.client_id, client_secret=store.client_secret
    )
    async with Client(config) as client:
        flows = {flow["id"]: flow["slug"] for flow in await client.list_flows()}
        for field in await client.list_fields():
            owner = flows[field["relationships"]["flow"]["data"]["id"]]
            if (owner, field["slug"]) == (flow_slug, field_slug):
                await client.update_field(field["id"], attrs)
                return
    raise AssertionError(f"no field {flow_slug}.{field_slug}")


def test_a_saved_plan_goes_stale_when_an_object_it_updates_changes(
    cli: Cli, local_store: Any, customers_yaml: Path, tmp_path: Path
) -> None:
    env = local_store.env()
    assert cli("apply", customers_yaml, "--auto-approve", env=env).code == 0
    renamed = write(tmp_path / "renamed.yaml", CUSTOMERS.replace("name: Nickname", "name: Nick"))
    saved = tmp_path / "plan.json"
    assert cli("plan", renamed, "--out", saved, env=env).code == 0
    assert [op["kind"] for op in json.loads(saved.read_text())["operations"]] == ["update_field"]

    # Another field of the same flow changes: not touched by the plan, still fresh.
    asyncio.run(_update_field(local_store, "customers", "delivery_details", {"order": 9}))
    # The field the plan updates changes: stale, and named.
    asyncio.run(_update_field(local_store, "customers", "nickname", {"description": "x"}))
    writes = local_store.write_count()
    stale = cli("apply", saved, "--auto-approve", env=env)
    assert stale.code == 1
    assert "the saved plan is stale" in stale.err
    assert "field:customers.nickname" in stale.err
    assert "delivery_details" not in stale.err
    assert local_store.write_count() == writes


def test_a_destructive_saved_plan_is_refused_before_any_request(
    cli: Cli, local_store: Any, customers_yaml: Path, tmp_path: Path
) -> None:
    env = local_store.env()
    assert cli("apply", customers_yaml, "--auto-approve", env=env).code == 0
    absent = write(tmp_path / "absent.yaml", "flows:\n  wishlists:\n    state: absent\n")
    saved = tmp_path / "plan.json"
    assert cli("plan", absent, "--out", saved, env=env).code == 0
    requests = local_store.stats()["total"]
    refused = cli("apply", saved, "--auto-approve", env=env)
    assert refused.code == 3
    assert "delete_flow wishlists" in refused.err
    assert local_store.stats()["total"] == requests
    assert cli("apply", saved, "--auto-approve", "--allow-destructive", env=env).code == 0
    assert cli("plan", customers_yaml, "--detailed-exitcode", env=env).code == 2


def test_plan_colour_only_on_a_terminal_and_never_with_no_color(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from provisioner.commands.plan import use_color

    monkeypatch.setattr("sys.stdout.isatty", lambda: True)
    assert use_color(no_color=False, env={})
    assert not use_color(no_color=True, env={})
    assert not use_color(no_color=False, env={"NO_COLOR": "1"})
    monkeypatch.setattr("sys.stdout.isatty", lambda: False)
    assert not use_color(no_color=False, env={})


@pytest.mark.parametrize("command", ["plan", "apply"])
def test_help_never_shows_the_secret(cli: Cli, command: str) -> None:
    result = cli(command, "--help", env={"EPCC_CLIENT_SECRET": "s3cr3t-value"})
    assert result.code == 0
    assert "--client-secret" in result.out
    assert "s3cr3t-value" not in result.out + result.err


def test_apply_against_a_rate_limited_store_slows_down_and_says_so(
    cli: Cli, local_store_factory: Any, customers_yaml: Path
) -> None:
    # Issue 11: a store allowing 3 req/s, a client allowed 100: one apply, no failure, and
    # the summary shows the effective rate, the 429s and the pace they brought it down to.
    store = local_store_factory(rate_limit=3)
    env = {**store.env(), "EPCC_RATE_LIMIT": "100"}
    applied = cli("apply", customers_yaml, "--auto-approve", "--verbose", env=env)
    assert applied.code == 0, applied.out + applied.err
    assert "Apply complete: 6 operation(s) applied." in applied.out
    assert "req/s effective" in applied.out
    assert " 429 ×" in applied.out
    assert "(ceiling 100)" in applied.out
    # --verbose logs the pace's decisions as they happen (README "Rate limits").
    assert "the store answered 429 (it accepted" in applied.out + applied.err
    assert "pace lowered from 100 to" in applied.out + applied.err
