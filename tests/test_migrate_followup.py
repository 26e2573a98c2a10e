"""Issue 15 acceptance follow-up, over real HTTP against the local store: a tampered saved
migration is refused on load; a migration stopped after its delete is gated without --migrate
and finished even when the field was re-created meanwhile; `required` added with a type change
is a breaking change; every field whose values do not convert is reported."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import httpx
from support import Cli
from support.migrate import VALUES, entries, fields, setup
from support.store import LocalStore

from provisioner.migration_plan import with_migrations
from provisioner.model import Field, Flow, State
from provisioner.planner import plan as make_plan


def test_a_saved_migration_whose_types_do_not_convert_is_refused_on_load(
    tmp_path: Path, cli: Cli, local_store: LocalStore, api: httpx.Client
) -> None:
    desired, _ = setup(tmp_path, cli, local_store, api, "string", "integer")
    saved = tmp_path / "plan.json"
    assert cli("plan", desired, "--migrate", "--out", saved, env=local_store.env()).code == 0
    original = json.loads(saved.read_text())
    tampered = tmp_path / "t.json"
    edits = {
        "relationship": ("after", "field_type", "relationship"),
        "float": ("before", "field_type", "float"),  # float -> integer converts nothing
        "rules": ("after", "validation_rules", "zz"),
    }
    for what, (side, key, value) in edits.items():
        data = json.loads(json.dumps(original))
        data["operations"][0][side][key] = value
        tampered.write_text(json.dumps(data))
        local_store.reset_stats()
        result = cli("apply", tampered, "--auto-approve", env=local_store.env())
        assert result.code == 1, result.err
        assert "Traceback" not in result.err
        assert "malformed plan: operations[0] (migrate_field wishlists.rating)" in result.err
        expected = "validation_rules` must be a list" if what == "rules" else "is not a conversion"
        assert expected in result.err, what
        assert local_store.stats()["total"] == 0  # refused before any request
    data = json.loads(json.dumps(original))
    data["operations"][0]["from_slug"] = "note__migrating_to_integer"
    tampered.write_text(json.dumps(data))
    result = cli("apply", tampered, "--auto-approve", env=local_store.env())
    assert result.code == 1
    assert "is not the temporary field of a migration of `field`" in result.err
    assert {f["field_type"] for s, f in fields(api).items() if s == "rating"} == {"string"}
    assert len(entries(api)) == 6


def stop_after_the_delete(cli: Cli, store: LocalStore, api: httpx.Client, desired: Path) -> str:
    """What a run killed right after its DELETE leaves: the temporary field holding every
    value, no `rating` (a finished migration renamed back). Returns the field's ID."""
    assert cli("apply", desired, "--migrate", "--auto-approve", env=store.env()).code == 0
    field_id = str(fields(api)["rating"]["id"])
    body = {"data": {"type": "field", "id": field_id, "slug": "rating__migrating_to_float"}}
    assert api.put(f"/v2/fields/{field_id}", json=body).status_code == 200
    return field_id


def test_a_stopped_migration_is_never_left_in_its_temporary_field(
    tmp_path: Path, cli: Cli, local_store: LocalStore, api: httpx.Client
) -> None:
    desired, ids = setup(tmp_path, cli, local_store, api, "integer", "float")
    stop_after_the_delete(cli, local_store, api, desired)
    expected = {i: None if v is None else float(v) for i, v in zip(ids, VALUES, strict=True)}
    # (1) A plain apply does not create the field empty: gated, exit 3, nothing written.
    local_store.reset_stats()
    plain = cli("apply", desired, "--auto-approve", env=local_store.env())
    assert plain.code == 3, plain.err
    assert "create_field wishlists.rating" in plain.err
    assert "apply --migrate finishes it" in plain.err
    assert local_store.write_count() == 0
    # (2) The field created again anyway (by hand, or an older version's plain apply), one
    # record written into it since: plan --migrate still sees the temporary field.
    assert cli("apply", desired, "--auto-approve", "--allow-destructive", env=local_store.env())
    assert set(fields(api)) == {"rating", "rating__migrating_to_float", "note"}
    new = {"data": {"type": "entry", "id": ids[1], "rating": 3.5}}  # it held no value
    assert api.put(f"/v2/flows/wishlists/entries/{ids[1]}", json=new).status_code == 200
    expected[ids[1]] = 3.5
    plan = cli("plan", desired, "--migrate", "--no-color", env=local_store.env())
    assert plan.code == 0, plan.err
    assert "No changes" not in plan.out
    assert "migrate field wishlists.rating__migrating_to_float -> wishlists.rating" in plan.out
    assert "values kept: 5 of 6 records hold a value in rating__migrating_to_float" in plan.out
    assert "unmanaged" not in plan.out
    saved = tmp_path / "merge.json"  # a saved plan of the merge runs it
    assert cli("plan", desired, "--migrate", "--out", saved, env=local_store.env()).code == 0
    local_store.reset_stats()
    result = cli("apply", saved, "--auto-approve", env=local_store.env())
    assert result.code == 0, result.err
    assert {i: e.get("rating") for i, e in entries(api).items()} == expected
    assert set(fields(api)) == {"rating", "note"}
    assert local_store.write_count() == 5 + 1  # each value once, the temporary field deleted
    again = cli("plan", desired, "--migrate", env=local_store.env())
    assert "No changes" in again.out


def test_a_merge_whose_records_disagree_is_refused_before_any_write(
    tmp_path: Path, cli: Cli, local_store: LocalStore, api: httpx.Client
) -> None:
    desired, ids = setup(tmp_path, cli, local_store, api, "integer", "float")
    stop_after_the_delete(cli, local_store, api, desired)
    assert cli("apply", desired, "--auto-approve", "--allow-destructive", env=local_store.env())
    other = {"data": {"type": "entry", "id": ids[3], "rating": 8.25}}  # it held 7 -> 7.0
    assert api.put(f"/v2/flows/wishlists/entries/{ids[3]}", json=other).status_code == 200
    local_store.reset_stats()
    result = cli("apply", desired, "--migrate", "--auto-approve", env=local_store.env())
    assert result.code == 1
    assert "Traceback" not in result.err
    assert "cannot finish the migration of wishlists.rating: 1 records" in result.err
    assert f"record {ids[3]}: 7.0: rating holds 8.25 since it was created again" in result.err
    assert local_store.write_count() == 0
    assert "rating__migrating_to_float" in fields(api)


def test_every_field_whose_values_do_not_convert_is_reported_in_one_refusal(
    tmp_path: Path, cli: Cli, local_store: LocalStore, api: httpx.Client
) -> None:
    desired, ids = setup(tmp_path, cli, local_store, api, "string", "integer")
    desired.write_text(
        desired.read_text().replace("Note, field_type: string", "Note, field_type: integer")
    )
    body = {"data": {"type": "entry", "id": ids[3], "rating": "seven"}}
    assert api.put(f"/v2/flows/wishlists/entries/{ids[3]}", json=body).status_code == 200
    local_store.reset_stats()
    for command in ("plan", "apply"):
        args = ("--auto-approve",) if command == "apply" else ()
        result = cli(command, desired, "--migrate", *args, env=local_store.env())
        assert result.code == 1, result.err
        assert "cannot migrate wishlists.rating: 1 of 6 records" in result.err
        assert f'record {ids[3]}: "seven": not an integer' in result.err
        assert "cannot migrate wishlists.note: 6 of 6 records" in result.err
        assert all(f'record {i}: "n": not an integer' in result.err for i in ids)
    assert local_store.write_count() == 0


REQUIRED = "rating: {name: Rating, field_type: float, required: true}"


def test_required_added_with_a_type_change_is_a_breaking_change_with_its_count(
    tmp_path: Path, cli: Cli, local_store: LocalStore, api: httpx.Client
) -> None:
    desired, ids = setup(tmp_path, cli, local_store, api, "integer", "float")
    desired.write_text(
        desired.read_text().replace("rating: {name: Rating, field_type: float}", REQUIRED)
    )
    env = local_store.env()
    migrate = cli("plan", desired, "--migrate", "--no-color", env=env)
    assert migrate.code == 0, migrate.err
    assert "becomes required: records without a value keep none" in migrate.out
    assert "becomes required while 1 of 6 records hold no value" in migrate.out
    measured = cli("plan", desired, "--migrate", "--impact", "--format", "json", env=env)
    data = json.loads(measured.out)
    (op,) = data["operations"]
    assert op["kind"] == "migrate_field"
    assert op["safety"] == "risky"
    missing = [m for m in data["impact"]["measures"] if m["kind"] == "missing"]
    assert [(m["count"], m["total"]) for m in missing] == [(1, 6)]
    assert data["impact"]["requests"] > 0
    assert "no value in 1 of 6 records" in op["reasons"]
    replace = cli("plan", desired, "--impact", "--no-color", env=env)  # without --migrate
    assert "all 6 records lack a value" in replace.out
    assert "Impact measured with 0 requests" not in replace.out
    # The store keeps records without a value when a field becomes required (epcc-api.md:
    # enforced on creates), so the migration is not refused: it runs, values kept.
    result = cli("apply", desired, "--migrate", "--auto-approve", env=env)
    assert result.code == 0, result.err
    assert fields(api)["rating"]["required"] is True
    after = entries(api)
    assert [after[i].get("rating") for i in ids] == [
        None if v is None else float(v) for v in VALUES
    ]


def test_required_added_on_a_core_flow_with_a_type_change_says_what_breaks() -> None:
    def state(tier: Field, live: bool) -> State:
        tier = replace(tier, id="id-tier") if live else tier
        flow = Flow(slug="customers", name="Customers", fields={"tier": tier})
        return State(flows={"customers": replace(flow, id="id-customers") if live else flow})

    live = state(Field(slug="tier", name="Tier", field_type="integer"), live=True)
    desired = state(Field(slug="tier", name="Tier", field_type="float", required=True), False)
    plain = make_plan(desired, live)
    migrated = with_migrations(plain, live)
    for plan in (plain, migrated):
        (op,) = plan.operations
        assert any("Commerce Manager cannot create customers" in r for r in op.reasons), op
    assert migrated.operations[0].kind.value == "migrate_field"
