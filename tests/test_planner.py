"""planner: every decision of `plan(desired, live)`, on small states built in Python."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from provisioner.errors import PlanError
from provisioner.impact import UNIQUE_REASON
from provisioner.model import Field, Flow, State
from provisioner.normalize import field_fingerprint, flow_fingerprint
from provisioner.plan import AttributeChange, OpKind, Plan, Safety
from provisioner.planner import attribute_changes, plan


def live_state(*flows: Flow) -> State:
    """A live state: IDs `id-<flow>` and `id-<flow>.<field>` like the golden scenarios."""
    result = {}
    for flow in flows:
        fields = {
            slug: dataclasses.replace(field, id=f"id-{flow.slug}.{slug}")
            for slug, field in flow.fields.items()
        }
        result[flow.slug] = dataclasses.replace(flow, id=f"id-{flow.slug}", fields=fields)
    return State(flows=result)


def desired_state(*flows: Flow) -> State:
    return State(flows={flow.slug: flow for flow in flows})


def flow(slug: str, *fields: Field, **attrs: Any) -> Flow:
    return Flow(
        slug, name=attrs.pop("name", slug.title()), fields={f.slug: f for f in fields}, **attrs
    )


def field(slug: str, **attrs: Any) -> Field:
    return Field(slug, name=attrs.pop("name", slug.title()), **attrs)


def only(result: Plan) -> Any:
    assert len(result.operations) == 1, [op.describe() for op in result.operations]
    return result.operations[0]


CUSTOMERS = flow("customers", field("delivery_details"), field("nickname"))


# -- creates and no-ops -----------------------------------------------------------------------


def test_identical_states_plan_nothing() -> None:
    result = plan(desired_state(CUSTOMERS), live_state(CUSTOMERS))
    assert result.is_empty
    assert result.unmanaged == ()
    assert result.fingerprints == {}


def test_nothing_deployed_creates_flow_then_fields_in_order() -> None:
    result = plan(desired_state(CUSTOMERS), State())
    assert [op.describe() for op in result.operations] == [
        "+ create_flow customers",
        "+ create_field customers.delivery_details",
        "+ create_field customers.nickname",
    ]
    assert all(op.safety is Safety.SAFE and op.flow_id is None for op in result.operations)
    assert result.fingerprints == {
        "flow:customers": None,
        "field:customers.delivery_details": None,
        "field:customers.nickname": None,
    }
    assert result.summary() == "Plan: 3 to create, 0 to update, 0 to replace, 0 to delete."


def test_a_new_field_of_a_live_flow_gets_the_flow_id() -> None:
    live = live_state(flow("customers", field("delivery_details")))
    op = only(plan(desired_state(CUSTOMERS), live))
    assert op.kind is OpKind.CREATE_FIELD
    assert (op.field_slug, op.flow_id, op.id) == ("nickname", "id-customers", None)
    assert op.after["name"] == "Nickname"


def test_a_new_required_field_on_a_live_flow_is_risky() -> None:
    live = live_state(flow("customers"))
    op = only(plan(desired_state(flow("customers", field("vip", required=True))), live))
    assert op.safety is Safety.RISKY
    assert op.reasons == (
        "new required field: creating objects without it fails",
        # Issue 15: on a core flow, what breaks.
        "required on the core flow customers: Commerce Manager cannot create customers without it",
    )
    # ...but not on a flow that the same plan creates: nobody uses it yet.
    fresh = plan(desired_state(flow("customers", field("vip", required=True))), State())
    assert {op.safety for op in fresh.operations} == {Safety.SAFE}


# -- updates ----------------------------------------------------------------------------------


def test_flow_update_lists_only_changes() -> None:
    live = live_state(flow("customers", description="old"))
    op = only(plan(desired_state(flow("customers", description="new")), live))
    assert op.kind is OpKind.UPDATE_FLOW
    assert op.id == "id-customers"
    assert op.changes == (AttributeChange("description", "old", "new"),)
    assert op.safety is Safety.SAFE


def test_disabling_a_flow_is_risky() -> None:
    op = only(plan(desired_state(flow("w", enabled=False)), live_state(flow("w"))))
    assert (op.safety, op.reasons) == (Safety.RISKY, ("flow is disabled",))


@pytest.mark.parametrize(
    ("before", "after", "safety", "reasons"),
    [
        ({"name": "A"}, {"name": "B"}, Safety.SAFE, ()),
        ({"description": ""}, {"description": "x"}, Safety.SAFE, ()),
        ({"order": 1}, {"order": 2}, Safety.SAFE, ()),
        # Issue 15: a new `unique` is risky (the store does not check the values it holds).
        ({"unique": False}, {"unique": True}, Safety.RISKY, (UNIQUE_REASON,)),
        ({"required": True}, {"required": False}, Safety.SAFE, ()),
        ({"enabled": False}, {"enabled": True}, Safety.SAFE, ()),
        ({"omit_null": True}, {"omit_null": False}, Safety.SAFE, ()),
        (
            {"required": False},
            {"required": True},
            Safety.RISKY,
            (
                "becomes required: creating objects without it fails",
                # Issue 15: on a core flow, what breaks.
                "required on the core flow customers: "
                "Commerce Manager cannot create customers without it",
            ),
        ),
        (
            {"enabled": True},
            {"enabled": False},
            Safety.RISKY,
            ("field is disabled: its values are no longer applied or returned",),
        ),
        ({"default": None}, {"default": "x"}, Safety.RISKY, ('default changes: null -> "x"',)),
        (
            {"omit_null": False},
            {"omit_null": True},
            Safety.RISKY,
            ("omit_null: null values disappear from responses",),
        ),
        ({}, {"rules": [("email", None)]}, Safety.RISKY, ("adds a validation rule: email",)),
        ({"rules": [("email", None)]}, {}, Safety.SAFE, ()),
        (
            {"rules": [("enum", ["fast", "slow", "free"])]},
            {"rules": [("enum", ["fast"])]},
            Safety.RISKY,
            ("enum loses options: slow, free",),
        ),
        (
            {"rules": [("enum", ["fast"])]},
            {"rules": [("enum", ["slow", "fast"])]},
            Safety.SAFE,
            (),
        ),
    ],
)
def test_field_update_classes(
    before: dict[str, Any], after: dict[str, Any], safety: Safety, reasons: tuple[str, ...]
) -> None:
    live = live_state(flow("customers", _field("x", **before)))
    op = only(plan(desired_state(flow("customers", _field("x", **after))), live))
    assert op.kind is OpKind.UPDATE_FIELD
    assert (op.safety, op.reasons) == (safety, reasons)
    assert op.id == "id-customers.x"
    assert op.flow_id == "id-customers"


@pytest.mark.parametrize(
    ("before", "after", "reasons"),
    [
        ((1, 10), (2, 10), ("range narrows: 1..10 -> 2..10",)),
        ((1, 10), (1, 9), ("range narrows: 1..10 -> 1..9",)),
        ((1, 10), (0, 11), ()),
        ((None, 10), (0, 10), ("range narrows: null..10 -> 0..10",)),
        ((1, 10), (None, 10), ()),
    ],
)
def test_between_ranges(
    before: tuple[int | None, int | None],
    after: tuple[int | None, int | None],
    reasons: tuple[str, ...],
) -> None:
    def between(bounds: tuple[int | None, int | None]) -> Field:
        options = {k: v for k, v in zip(("from", "to"), bounds, strict=True) if v is not None}
        rule = {"type": "between", "options": options}
        return field("rating", field_type="integer", validation_rules=(rule,))

    live = live_state(flow("products", between(before)))
    op = only(plan(desired_state(flow("products", between(after))), live))
    assert op.reasons == reasons
    assert op.safety is (Safety.RISKY if reasons else Safety.SAFE)


def test_a_new_relationship_target_is_risky() -> None:
    def rel(to: str) -> Field:
        return field(
            "owner", field_type="relationship", validation_rules=({"type": "one-to-one", "to": to},)
        )

    op = only(
        plan(desired_state(flow("w", rel("account"))), live_state(flow("w", rel("customer"))))
    )
    assert op.reasons == ("relationship target changes: customer -> account",)
    assert op.changes == (AttributeChange("validation_rules[0].to", "customer", "account"),)


def test_float_numbers_match_integers_in_yaml() -> None:
    desired = flow(
        "p",
        field(
            "r",
            field_type="float",
            default=1,
            validation_rules=({"type": "between", "options": {"from": 0, "to": 5}},),
        ),
    )
    live = flow(
        "p",
        field(
            "r",
            field_type="float",
            default=1.0,
            validation_rules=({"options": {"to": 5.0, "from": 0.0}, "type": "between"},),
        ),
    )
    assert plan(desired_state(desired), live_state(live)).is_empty


def test_attribute_changes_paths() -> None:
    before = {"name": "A", "validation_rules": [{"type": "enum", "options": ["a", "b"]}]}
    after = {
        "name": "B",
        "validation_rules": [{"type": "enum", "options": ["a"]}, {"type": "email"}],
    }
    assert attribute_changes(before, after, ("name", "validation_rules")) == (
        AttributeChange("name", "A", "B"),
        AttributeChange("validation_rules[0].options", ["a", "b"], ["a"]),
        AttributeChange("validation_rules[1]", None, {"type": "email"}),
    )
    assert attribute_changes(
        {"validation_rules": []}, {"validation_rules": [{"type": "email"}]}, ("validation_rules",)
    ) == (AttributeChange("validation_rules[0]", None, {"type": "email"}),)
    assert attribute_changes({"default": None}, {"default": 5}, ("default",)) == (
        AttributeChange("default", None, 5),
    )


def test_equal_values_of_other_types_are_changes() -> None:
    # 1, 1.0 and true are equal in Python; as API values they differ (the fast in-sync check
    # must not call them the same), in any nesting; key order never matters.
    for old, new in ((1, 1.0), (1, True), (0, False), ("1", 1)):
        assert attribute_changes({"default": old}, {"default": new}, ("default",)) == (
            AttributeChange("default", old, new),
        )
    rules = [{"type": "between", "options": {"from": 0, "to": 5}}]
    same = [{"options": {"to": 5, "from": 0}, "type": "between"}]
    floats = [{"type": "between", "options": {"from": 0, "to": 5.0}}]
    order = ("validation_rules",)
    assert attribute_changes({"validation_rules": rules}, {"validation_rules": same}, order) == ()
    assert attribute_changes({"validation_rules": rules}, {"validation_rules": floats}, order)


def test_one_desired_state_planned_against_several_stores() -> None:
    # `plan --all` plans one desired state against every store: each plan is its own.
    desired = desired_state(flow("p", field("a", name="A"), field("b", name="B")))
    in_sync = live_state(flow("p", field("a", name="A"), field("b", name="B")))
    behind = live_state(flow("p", field("a", name="Old")))
    for _ in range(2):
        assert plan(desired, in_sync).is_empty
        changed = plan(desired, behind)
        assert [op.describe() for op in changed.operations] == [
            "~ update_field p.a",
            "+ create_field p.b",
        ]
        assert changed.operations[0].changes == (AttributeChange("name", "Old", "A"),)
    assert plan(desired, live_state()).counts()["create"] == 3


# -- renames and replaces ---------------------------------------------------------------------


def test_rename_keeps_the_id_and_lists_the_other_changes() -> None:
    live = live_state(flow("customers", field("delivery_details", name="Delivery")))
    desired = desired_state(
        flow(
            "customers",
            field("delivery_notes", name="Notes", renamed_from=("gone", "delivery_details")),
        )
    )
    result = plan(desired, live)
    op = only(result)
    assert op.kind is OpKind.RENAME_FIELD
    assert (op.from_slug, op.field_slug, op.id) == (
        "delivery_details",
        "delivery_notes",
        "id-customers.delivery_details",
    )
    assert op.changes == (
        AttributeChange("slug", "delivery_details", "delivery_notes"),
        AttributeChange("name", "Delivery", "Notes"),
    )
    assert op.safety is Safety.RISKY
    assert op.reasons[0].startswith("renamed from delivery_details")
    assert result.fingerprints == {
        "field:customers.delivery_details": field_fingerprint(
            live.flows["customers"].fields["delivery_details"]
        ),
        "field:customers.delivery_notes": None,
    }
    assert result.unmanaged == ()


def test_renamed_from_is_ignored_once_the_new_slug_is_live() -> None:
    live = live_state(flow("customers", field("old"), field("new")))
    desired = desired_state(flow("customers", field("new", renamed_from=("old",))))
    result = plan(desired, live)
    assert result.is_empty
    assert result.unmanaged == ("field:customers.old",)


def test_renamed_from_a_slug_that_is_still_declared_is_not_a_rename() -> None:
    live = live_state(flow("customers", field("old")))
    desired = desired_state(flow("customers", field("old"), field("new", renamed_from=("old",))))
    assert only(plan(desired, live)).kind is OpKind.CREATE_FIELD


def test_rename_wins_over_an_absent_declaration_of_the_old_slug() -> None:
    live = live_state(flow("customers", field("old")))
    desired = desired_state(
        flow("customers", field("old", absent=True), field("new", renamed_from=("old",)))
    )
    assert only(plan(desired, live)).kind is OpKind.RENAME_FIELD


def test_two_fields_cannot_rename_the_same_live_field() -> None:
    live = live_state(flow("customers", field("old")))
    desired = desired_state(
        flow(
            "customers",
            field("a", renamed_from=("old",)),
            field("b", renamed_from=("old",)),
        )
    )
    kinds = [(op.kind, op.field_slug) for op in plan(desired, live).operations]
    assert kinds == [(OpKind.RENAME_FIELD, "a"), (OpKind.CREATE_FIELD, "b")]


def test_field_type_change_is_a_destructive_replace() -> None:
    live = live_state(flow("customers", field("age", field_type="string")))
    desired = desired_state(flow("customers", field("age", field_type="integer")))
    result = plan(desired, live)
    op = only(result)
    assert op.kind is OpKind.REPLACE_FIELD
    assert op.safety is Safety.DESTRUCTIVE
    assert op.changes == (AttributeChange("field_type", "string", "integer"),)
    assert op.before is not None
    assert op.after is not None
    assert op.id == "id-customers.age"
    assert "data is lost" in op.reasons[0]
    assert list(result.fingerprints) == ["field:customers.age"]
    assert result.summary() == "Plan: 0 to create, 0 to update, 1 to replace, 0 to delete."


def test_rename_with_a_field_type_change_is_a_replace_from_the_old_slug() -> None:
    live = live_state(flow("customers", field("age")))
    desired = desired_state(
        flow("customers", field("years", field_type="integer", renamed_from=("age",)))
    )
    op = only(plan(desired, live))
    assert op.kind is OpKind.REPLACE_FIELD
    assert op.address == "customers.age -> customers.years"
    assert op.from_slug == "age"


def test_moving_a_field_across_flows_is_a_replace() -> None:
    live = live_state(flow("legacy", field("note"), field("other")), flow("customers"))
    desired = desired_state(
        flow("customers", field("remark", renamed_from=("legacy.note",))),
        flow("legacy", field("other"), prune=True),
    )
    result = plan(desired, live)
    op = only(result)
    assert op.kind is OpKind.REPLACE_FIELD
    assert (op.from_flow_slug, op.from_slug, op.id, op.flow_id) == (
        "legacy",
        "note",
        "id-legacy.note",
        "id-customers",
    )
    assert op.address == "legacy.note -> customers.remark"
    assert set(result.fingerprints) == {"field:legacy.note", "field:customers.remark"}
    assert result.fingerprints["field:customers.remark"] is None


def test_moving_a_field_into_a_new_flow() -> None:
    live = live_state(flow("legacy", field("note")))
    desired = desired_state(flow("wishlists", field("note", renamed_from=("legacy.note",))))
    ops = plan(desired, live).operations
    assert [op.describe() for op in ops] == [
        "+ create_flow wishlists",
        "-/+ replace_field legacy.note -> wishlists.note",
    ]
    assert ops[1].flow_id is None


# -- deletes, prune, unmanaged ----------------------------------------------------------------


def test_absent_field_is_deleted_and_absent_unknown_is_nothing() -> None:
    live = live_state(flow("customers", field("old")))
    desired = desired_state(
        flow("customers", field("old", absent=True), field("never", absent=True))
    )
    result = plan(desired, live)
    op = only(result)
    assert (op.kind, op.safety, op.id) == (
        OpKind.DELETE_FIELD,
        Safety.DESTRUCTIVE,
        "id-customers.old",
    )
    assert op.before is not None
    assert op.after is None
    assert result.fingerprints == {
        "field:customers.old": field_fingerprint(live.flows["customers"].fields["old"])
    }


def test_unmentioned_live_fields_are_unmanaged_unless_pruned() -> None:
    live = live_state(flow("customers", field("a"), field("b"), field("c")))
    kept = plan(desired_state(flow("customers", field("a"))), live)
    assert kept.is_empty
    assert kept.unmanaged == ("field:customers.b", "field:customers.c")

    pruned = plan(desired_state(flow("customers", field("a"), prune=True)), live)
    assert [op.describe() for op in pruned.operations] == [
        "- delete_field customers.b",
        "- delete_field customers.c",
    ]
    assert pruned.unmanaged == ()
    assert pruned.operations[0].reasons == (
        "the field and its data are deleted (not in the configuration; the flow has prune: true)",
    )


def test_undeclared_live_flows_are_ignored() -> None:
    live = live_state(flow("customers", field("a")), flow("other", field("x")))
    result = plan(desired_state(flow("customers", field("a"))), live)
    assert result.is_empty
    assert result.unmanaged == ()


def test_absent_flow_deletes_its_fields_first() -> None:
    live = live_state(flow("wishlists", field("items"), field("name_")))
    result = plan(desired_state(flow("wishlists", absent=True)), live)
    assert [op.describe() for op in result.operations] == [
        "- delete_field wishlists.items",
        "- delete_field wishlists.name_",
        "- delete_flow wishlists",
    ]
    assert result.operations[-1].id == "id-wishlists"
    assert result.fingerprints["flow:wishlists"] == flow_fingerprint(live.flows["wishlists"])
    assert plan(desired_state(flow("wishlists", absent=True)), State()).is_empty


def test_core_flows_are_never_deleted() -> None:
    live = live_state(flow("customers", field("a")))
    result = plan(desired_state(flow("customers", absent=True)), live)
    assert result.is_empty
    assert not any(op.kind is OpKind.DELETE_FLOW for op in result.operations)


def test_relationship_field_waits_for_its_new_target_flow() -> None:
    relation = field(
        "wishlist",
        field_type="relationship",
        validation_rules=({"type": "one-to-many", "to": "wishlists"},),
    )
    live = live_state(flow("customers"))
    desired = desired_state(flow("customers", relation), flow("wishlists", field("title")))
    assert [op.describe() for op in plan(desired, live).operations] == [
        "+ create_flow wishlists",
        "+ create_field customers.wishlist",
        "+ create_field wishlists.title",
    ]


def test_plan_survives_its_json_round_trip() -> None:
    live = live_state(flow("customers", field("a"), field("b", field_type="integer"), field("c")))
    desired = desired_state(
        flow(
            "customers",
            field("a", required=True),
            field("b"),
            field("d", renamed_from=("c",)),
            field("e"),
            prune=True,
        ),
        flow("wishlists", field("x")),
    )
    result = plan(desired, live)
    assert Plan.from_json(result.to_json()) == result


def _field(slug: str, rules: list[tuple[str, Any]] | None = None, **attrs: Any) -> Field:
    validation_rules = tuple(
        {"type": kind} if options is None else {"type": kind, "options": options}
        for kind, options in rules or []
    )
    return field(slug, validation_rules=validation_rules, **attrs)


def test_deleting_a_flow_names_the_relationships_left_pointing_at_it() -> None:
    def relation(slug: str, to: str = "wishlists") -> Field:
        rules = ({"type": "one-to-many", "to": to},)
        return field(slug, field_type="relationship", validation_rules=rules)

    live = live_state(
        flow("wishlists", relation("self")),
        flow("customers", relation("wishlist"), relation("handled"), relation("other", "gifts")),
        flow("orders", relation("wishlist")),
    )
    desired = desired_state(
        flow("wishlists", absent=True),
        flow("customers", relation("other", "gifts"), field("handled", absent=True)),
    )
    result = plan(desired, live)
    delete_flow = next(op for op in result.operations if op.kind is OpKind.DELETE_FLOW)
    assert delete_flow.reasons == (
        "the flow and its entries are deleted (state: absent)",
        "relationship fields left pointing at it: customers.wishlist, orders.wishlist",
    )


def test_a_plan_that_would_overfill_a_flow_is_refused() -> None:
    # 4.2: 100 fields per flow, unmanaged live ones included.
    live = live_state(flow("things", *(field(f"f{n}") for n in range(99))))
    two_more = desired_state(flow("things", field("extra"), field("extra2")))
    with pytest.raises(PlanError, match=r"flow things would hold 101 fields .*99 in the store"):
        plan(two_more, live)
    # Deleting one first makes room: the same plan with a pruned field is fine.
    pruned = desired_state(
        flow("things", field("extra"), field("extra2"), field("f0", absent=True))
    )
    assert [op.kind for op in plan(pruned, live).operations].count(OpKind.CREATE_FIELD) == 2
    # A field moving in from another flow counts too.
    mover = live_state(
        flow("things", *(field(f"f{n}") for n in range(100))), flow("other", field("x"))
    )
    moved = desired_state(flow("things", field("x", renamed_from=("other.x",))), flow("other"))
    with pytest.raises(PlanError, match="would hold 101 fields"):
        plan(moved, mover)
