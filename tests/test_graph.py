"""graph: dependency edges between operations, a stable order, and cycles named."""

from __future__ import annotations

import pytest

from provisioner.errors import CycleError
from provisioner.graph import dependencies, ordered
from provisioner.plan import Operation, OpKind

RELATION = {"validation_rules": [{"type": "one-to-many", "to": "wishlists"}]}


def test_a_field_follows_the_creation_of_its_flow() -> None:
    ops = [
        Operation(OpKind.CREATE_FIELD, "wishlists", "items"),
        Operation(OpKind.CREATE_FLOW, "wishlists"),
    ]
    assert dependencies(ops) == {0: {1}, 1: set()}
    assert [op.kind for op in ordered(ops)] == [OpKind.CREATE_FLOW, OpKind.CREATE_FIELD]


def test_a_relationship_field_follows_the_creation_of_its_target_flow() -> None:
    ops = [
        Operation(OpKind.CREATE_FIELD, "customers", "wishlist", after=RELATION),
        Operation(OpKind.UPDATE_FIELD, "orders", "list", before={}, after=RELATION),
        Operation(OpKind.CREATE_FLOW, "wishlists"),
        Operation(OpKind.CREATE_FIELD, "customers", "note", after={"validation_rules": []}),
    ]
    assert dependencies(ops) == {0: {2}, 1: {2}, 2: set(), 3: set()}
    assert [op.address for op in ordered(ops)] == [
        "wishlists",
        "customers.wishlist",
        "orders.list",
        "customers.note",
    ]


def test_deletes_run_in_reverse() -> None:
    ops = [
        Operation(OpKind.DELETE_FLOW, "wishlists"),
        Operation(OpKind.DELETE_FIELD, "wishlists", "items"),
        Operation(OpKind.DELETE_FIELD, "customers", "wishlist", before=RELATION),
        Operation(OpKind.DELETE_FIELD, "customers", "note", before={"validation_rules": []}),
    ]
    assert dependencies(ops)[0] == {1, 2}
    assert [op.address for op in ordered(ops)] == [
        "wishlists.items",
        "customers.wishlist",
        "wishlists",
        "customers.note",
    ]


def test_a_field_moved_out_of_a_deleted_flow_leaves_before_the_flow_goes() -> None:
    ops = [
        Operation(OpKind.DELETE_FLOW, "legacy"),
        Operation(OpKind.REPLACE_FIELD, "customers", "note", from_flow_slug="legacy"),
    ]
    assert dependencies(ops) == {0: {1}, 1: set()}


@pytest.mark.parametrize(
    "freeing",
    [
        Operation(OpKind.DELETE_FIELD, "customers", "note"),
        Operation(OpKind.RENAME_FIELD, "customers", "remark", from_slug="note"),
        Operation(OpKind.REPLACE_FIELD, "customers", "remark", from_slug="note"),
        Operation(OpKind.REPLACE_FIELD, "orders", "note", from_flow_slug="customers"),
    ],
    ids=["delete", "rename", "replace-renamed", "replace-moved"],
)
def test_a_slug_is_freed_before_it_is_taken(freeing: Operation) -> None:
    ops = [Operation(OpKind.CREATE_FIELD, "customers", "note"), freeing]
    assert dependencies(ops) == {0: {1}, 1: set()}
    assert ordered(ops)[0] is freeing


def test_a_replace_in_place_does_not_wait_for_itself() -> None:
    ops = [Operation(OpKind.REPLACE_FIELD, "customers", "note")]
    assert dependencies(ops) == {0: set()}


def test_order_is_stable_where_nothing_depends() -> None:
    ops = [
        Operation(OpKind.UPDATE_FIELD, "b", "x"),
        Operation(OpKind.UPDATE_FIELD, "a", "x"),
        Operation(OpKind.UPDATE_FLOW, "c"),
    ]
    assert ordered(ops) == ops
    assert ordered([]) == []


def test_a_cycle_is_an_error_naming_the_operations() -> None:
    # Swapping two slugs with two renames cannot be ordered without a temporary slug.
    ops = [
        Operation(OpKind.RENAME_FIELD, "customers", "b", from_slug="a"),
        Operation(OpKind.RENAME_FIELD, "customers", "a", from_slug="b"),
        Operation(OpKind.CREATE_FLOW, "unrelated"),
    ]
    with pytest.raises(CycleError) as caught:
        ordered(ops)
    message = str(caught.value)
    assert "cycle" in message
    assert "~> rename_field customers.a -> customers.b" in message
    assert "~> rename_field customers.b -> customers.a" in message
    assert "unrelated" not in message
    assert caught.value.exit_code == 1


def test_fields_leave_a_flow_before_new_ones_arrive() -> None:
    # 4.2: a flow holds at most 100 fields, so in a full flow a create (or a field moved in)
    # only fits once the deletes (and fields moved out) of that flow are done.
    ops = [
        Operation(OpKind.CREATE_FIELD, "big", "new"),
        Operation(OpKind.REPLACE_FIELD, "big", "moved_in", from_flow_slug="other"),
        Operation(OpKind.REPLACE_FIELD, "big", "retyped"),
        Operation(OpKind.DELETE_FIELD, "big", "old"),
        Operation(OpKind.REPLACE_FIELD, "other", "moved_out", from_flow_slug="big"),
        Operation(OpKind.DELETE_FIELD, "other", "unrelated"),
        Operation(OpKind.CREATE_FIELD, "other", "x"),
    ]
    assert dependencies(ops) == {0: {3, 4}, 1: {3}, 2: set(), 3: set(), 4: {5}, 5: set(), 6: {1, 5}}
    assert [op.address for op in ordered(ops)] == [
        "big.retyped",
        "big.old",
        "other.moved_in -> big.moved_in",
        "other.unrelated",
        "big.moved_out -> other.moved_out",
        "big.new",
        "other.x",
    ]


def test_fields_swapped_between_two_flows_are_not_a_cycle() -> None:
    ops = [
        Operation(OpKind.REPLACE_FIELD, "a", "x", from_flow_slug="b"),
        Operation(OpKind.REPLACE_FIELD, "b", "y", from_flow_slug="a"),
        Operation(OpKind.DELETE_FIELD, "a", "gone"),
        Operation(OpKind.DELETE_FIELD, "b", "gone"),
    ]
    assert dependencies(ops) == {0: {2}, 1: {3}, 2: set(), 3: set()}
    assert len(ordered(ops)) == 4
