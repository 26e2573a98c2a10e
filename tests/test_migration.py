"""The pure part of `--migrate` (issue 15 item 3): conversions, stages, the plan's migrations."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from provisioner.errors import MigrationError, NotConvertible, UnsafePlanError
from provisioner.migration import (
    CONVERSIONS,
    Stage,
    convert,
    migration_stage,
    parse_temp_slug,
    pending_copies,
    problems_message,
    rename_body,
    temp_field_body,
    temp_slug,
    value_problems,
)
from provisioner.migration_plan import note_stopped, with_migrations
from provisioner.model import Field, Flow, State
from provisioner.plan import OpKind, Plan, Safety
from provisioner.planner import plan as make_plan
from provisioner.preflight import check_safe, fingerprint_keys

CONVERTS = [
    ("integer", "float", 3, 3.0),
    ("integer", "float", -(2**53), -(2.0**53)),
    ("integer", "string", -7, "-7"),
    ("float", "string", 0.1, "0.1"),
    ("float", "string", 2.0, "2.0"),
    ("float", "string", 5, "5"),  # a float field may return an integral number as 5
    ("boolean", "string", False, "false"),
    ("date", "string", "2024-02-29", "2024-02-29"),
    ("string", "date", "2024-02-29 23:59:59", "2024-02-29 23:59:59"),
    ("string", "integer", "-42", -42),
    ("string", "integer", "0", 0),
    ("string", "float", "1.10", 1.1),
    ("string", "float", "-2e-3", -0.002),
    ("string", "boolean", "true", True),
]

REFUSED = [
    ("integer", "float", 2**53 + 1),
    ("integer", "float", True),
    ("string", "date", "2023-02-29"),
    ("string", "date", "2024-1-5"),
    ("string", "integer", "007"),
    ("string", "integer", "+1"),
    ("string", "integer", " 1"),
    ("string", "integer", "1.0"),
    ("string", "float", "0.1000000000000000055511151231257827"),
    ("string", "float", "1e999"),
    ("string", "float", "NaN"),
    ("string", "float", ".5"),
    ("string", "boolean", "True"),
    ("string", "boolean", "1"),
    ("boolean", "string", 1),
]


@pytest.mark.parametrize(("from_type", "to_type", "value", "expected"), CONVERTS)
def test_conversions(from_type: str, to_type: str, value: Any, expected: Any) -> None:
    converted = convert(value, from_type, to_type)
    assert converted == expected
    assert type(converted) is type(expected)


@pytest.mark.parametrize(("from_type", "to_type", "value"), REFUSED)
def test_values_that_do_not_convert(from_type: str, to_type: str, value: Any) -> None:
    with pytest.raises(NotConvertible):
        convert(value, from_type, to_type)


def test_the_migration_paths_are_the_issues() -> None:
    assert set(CONVERSIONS) == {
        ("integer", "float"),
        *((t, "string") for t in ("integer", "float", "boolean", "date")),
        *(("string", t) for t in ("date", "integer", "float", "boolean")),
    }


def test_temporary_slug_names_the_field_and_the_type() -> None:
    assert temp_slug("rating", "float") == "rating__migrating_to_float"
    assert parse_temp_slug("rating__migrating_to_float") == ("rating", "float")
    assert parse_temp_slug("a__migrating_to_b__migrating_to_string") == (
        "a__migrating_to_b",
        "string",
    )
    for slug in ("rating", "__migrating_to_float", "rating__migrating_to_relationship"):
        assert parse_temp_slug(slug) is None


def test_stages_from_the_store_alone() -> None:
    def stage(old: str | None, temp: str | None) -> Stage:
        return migration_stage("f.rating", old, temp, "float")

    assert stage("integer", None) is Stage.START
    assert stage("integer", "float") is Stage.COPY
    assert stage(None, "float") is Stage.RENAME
    assert stage("float", None) is Stage.DONE
    assert stage("float", "float") is Stage.MERGE  # the field created again meanwhile
    for old, temp in ((None, None), ("float", "string"), ("integer", "string"), ("boolean", None)):
        with pytest.raises(MigrationError):
            stage(old, temp)


def test_bodies_of_the_temporary_field_and_the_rename() -> None:
    after = {
        "name": "Rating",
        "description": "",
        "field_type": "float",
        "required": True,
        "unique": True,
        "default": 1.0,
        "enabled": False,
        "order": 3,
        "omit_null": True,
        "validation_rules": [{"type": "between", "options": {"from": 0.0, "to": 5.0}}],
    }
    temp = temp_field_body("rating", after)
    assert temp["slug"] == "rating__migrating_to_float"
    assert temp["enabled"] is True  # a disabled field takes no values
    assert not {"required", "unique", "default", "order", "omit_null"} & set(temp)
    assert temp["validation_rules"] == after["validation_rules"]  # the store checks the copy
    renamed = rename_body("rating", after)
    assert renamed["slug"] == "rating"
    assert "field_type" not in renamed
    assert renamed["required"] is True
    assert renamed["enabled"] is False


def test_value_problems_rules_and_unique_and_the_listing() -> None:
    after = {
        "field_type": "float",
        "unique": True,
        "validation_rules": [{"type": "between", "options": {"from": 0.0, "to": 5.0}}],
    }
    records: list[dict[str, Any]] = [
        {"id": "a", "score": "1.10"},
        {"id": "b", "score": "1.1"},  # the same float as a's
        {"id": "c", "score": "9"},
        {"id": "d", "score": None},
        {"id": "e", "score": "x"},
    ]
    problems = value_problems(records, "score", "string", after)
    assert [(p.record_id, p.why.split(" ")[0]) for p in problems] == [
        ("b", "repeats"),
        ("c", "9.0"),
        ("e", "not"),
    ]
    many = value_problems([{"id": str(i), "s": "x"} for i in range(25)], "s", "string", after)
    message = problems_message("f.s", many, 25)
    assert message.count("\n  record ") == 20
    assert message.endswith("... and 5 more")


def test_pending_copies_skip_what_is_copied() -> None:
    records: list[dict[str, Any]] = [
        {"id": "a", "r": 1, "r__migrating_to_float": 1.0},
        {"id": "b", "r": 2, "r__migrating_to_float": 3.0},
        {"id": "c", "r": 3, "r__migrating_to_float": None},
        {"id": "d", "r": None},
    ]
    assert pending_copies(records, "r", "integer", "float") == [("b", 2.0), ("c", 3.0)]


# -- the plan ---------------------------------------------------------------------------------


def field(slug: str, field_type: str, **extra: Any) -> Field:
    return Field(slug=slug, field_type=field_type, name=slug.title(), **extra)


def state(flow: str, *fields: Field, prune: bool = False, live: bool = False) -> State:
    if live:
        fields = tuple(dataclasses.replace(f, id=f"id-{flow}.{f.slug}") for f in fields)
    by_slug = {f.slug: f for f in fields}
    ident = f"id-{flow}" if live else None
    one = Flow(slug=flow, name=flow.title(), fields=by_slug, prune=prune, id=ident)
    return State(flows={flow: one})


def test_a_convertible_replace_becomes_a_migration() -> None:
    live = state("wishlists", field("rating", "integer"), field("note", "boolean"), live=True)
    desired = state("wishlists", field("rating", "float"), field("note", "date"))
    plain = make_plan(desired, live)
    assert {op.kind for op in plain.operations} == {OpKind.REPLACE_FIELD}
    with pytest.raises(UnsafePlanError):
        check_safe(plain, allow_destructive=False)
    plan = with_migrations(plain, live)
    kinds = {op.field_slug: op for op in plan.operations}
    assert kinds["rating"].kind is OpKind.MIGRATE_FIELD
    assert kinds["rating"].safety is Safety.RISKY
    assert kinds["note"].kind is OpKind.REPLACE_FIELD  # boolean -> date does not convert
    assert kinds["note"].kind.destructive
    assert plan.fingerprints == plain.fingerprints
    assert fingerprint_keys(kinds["rating"]) == ("field:wishlists.rating",)
    # The saved form keeps the migration: what a reviewer saw is what runs.
    again = Plan.from_json(plan.to_json())
    assert again.operations == plan.operations
    check_safe(Plan(operations=(kinds["rating"],)), allow_destructive=False)


def test_replaces_that_are_not_migrated_say_why() -> None:
    live = state(
        "wishlists",
        field("a", "boolean"),
        field("b", "integer", enabled=False),
        field("old", "integer"),
        live=True,
    )
    desired = state(
        "wishlists",
        field("a", "integer"),
        field("b", "float", enabled=False),
        field("c", "float", renamed_from=("old",)),
    )
    plan = with_migrations(make_plan(desired, live), live)
    reasons = {op.field_slug: op.reasons[-1] for op in plan.operations}
    assert all(op.kind is OpKind.REPLACE_FIELD for op in plan.operations)
    assert reasons["a"] == "not migrated: boolean values do not convert to integer"
    assert "disabled" in reasons["b"]
    assert "in place" in reasons["c"]
    products = state("products", field("x", "integer"), live=True)
    plan = with_migrations(make_plan(state("products", field("x", "float")), products), products)
    assert plan.operations[0].reasons[-1] == (
        "not migrated: the records of core flow products are not read"
    )


def test_a_stopped_migration_is_picked_up_from_the_store() -> None:
    temp = field("rating__migrating_to_float", "float")
    desired = state("wishlists", field("rating", "float"), prune=True)
    # The copy stage: the old field and the temporary one.
    live = state("wishlists", field("rating", "integer"), temp, live=True)
    plan = with_migrations(make_plan(desired, live), live)
    assert [op.kind for op in plan.operations] == [OpKind.MIGRATE_FIELD]  # no prune delete
    assert "continues a stopped migration" in plan.operations[0].reasons[-1]
    assert plan.fingerprints["field:wishlists.rating__migrating_to_float"] is not None
    # The rename stage: the temporary field alone; not unmanaged, not created again.
    live = state("wishlists", temp, live=True)
    plain = make_plan(state("wishlists", field("rating", "float")), live)
    assert plain.unmanaged == ("field:wishlists.rating__migrating_to_float",)
    plan = with_migrations(plain, live)
    (op,) = plan.operations
    assert op.kind is OpKind.MIGRATE_FIELD
    assert op.id == "id-wishlists.rating__migrating_to_float"
    assert op.from_slug == "rating__migrating_to_float"
    assert op.address == "wishlists.rating__migrating_to_float -> wishlists.rating"
    assert plan.unmanaged == ()
    assert fingerprint_keys(op) == (
        "field:wishlists.rating__migrating_to_float",
        "field:wishlists.rating",
    )
    assert set(fingerprint_keys(op)) <= set(plan.fingerprints)
    assert Plan.from_json(plan.to_json()).operations == plan.operations


def test_without_migrate_a_stopped_migration_says_so() -> None:
    temp = field("rating__migrating_to_float", "float")
    desired = state("wishlists", field("rating", "float"))
    for live in (
        state("wishlists", field("rating", "integer"), temp, live=True),  # copy stage
        state("wishlists", temp, live=True),  # rename stage
    ):
        (op,) = note_stopped(make_plan(desired, live), live).operations
        assert op.kind in (OpKind.REPLACE_FIELD, OpKind.CREATE_FIELD)
        assert op.safety in (Safety.RISKY, Safety.DESTRUCTIVE)
        assert op.reasons[-1].endswith("holds its values; apply --migrate finishes it")
    live = state("wishlists", field("rating", "integer"), live=True)
    plain = make_plan(desired, live)
    assert note_stopped(plain, live) == plain
