"""The Plan value: JSON round trip, counts, summary, and format errors."""

from __future__ import annotations

import pytest

from provisioner.errors import PlanFormatError
from provisioner.plan import (
    AttributeChange,
    Operation,
    OpKind,
    Plan,
    Safety,
    fingerprint,
)


def _sample_plan() -> Plan:
    return Plan(
        operations=(
            Operation(OpKind.CREATE_FLOW, "wishlists", after={"name": "Wishlists"}),
            Operation(
                OpKind.RENAME_FIELD,
                "customers",
                "delivery_notes",
                id="f1",
                flow_id="c1",
                before={"name": "Delivery Details"},
                after={"name": "Delivery Notes"},
                changes=(AttributeChange("name", "Delivery Details", "Delivery Notes"),),
                safety=Safety.RISKY,
                reasons=("renaming changes the key clients read",),
                from_slug="delivery_details",
            ),
            Operation(OpKind.DELETE_FIELD, "customers", "old", id="f2", safety=Safety.DESTRUCTIVE),
        ),
        unmanaged=("field:customers.legacy",),
        fingerprints={"field:customers.old": "abc", "flow:wishlists": None},
    )


def test_plan_json_round_trip_is_exact() -> None:
    plan = _sample_plan()
    assert Plan.from_json(plan.to_json()) == plan


def test_counts_and_summary() -> None:
    plan = _sample_plan()
    assert plan.counts() == {"create": 1, "update": 1, "replace": 0, "delete": 1}
    assert plan.summary() == "Plan: 1 to create, 1 to update, 0 to replace, 1 to delete."
    assert [op.address for op in plan.destructive] == ["customers.old"]
    assert Plan().summary().startswith("No changes.")


def test_rename_address_names_both_slugs() -> None:
    op = _sample_plan().operations[1]
    assert op.address == "customers.delivery_details -> customers.delivery_notes"
    assert op.describe() == (
        "~> rename_field customers.delivery_details -> customers.delivery_notes"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[]", "expected a JSON object"),
        ("{", "invalid JSON"),
        ('{"format_version": 99, "operations": []}', "unsupported plan format_version 99"),
        ('{"format_version": 1, "operations": [{"kind": "explode"}]}', "malformed plan"),
        (
            '{"format_version": 1, "operations": [], "fingerprints": {"bogus:x": null}}',
            "malformed plan: `fingerprints`: not an object key: 'bogus:x'",
        ),
        (
            '{"format_version": 1, "operations": [], "unmanaged": ["field:customers"]}',
            "malformed plan: `unmanaged`: not an object key",
        ),
        (
            '{"format_version": 1, "operations": [], "owned_elsewhere": ["customers"]}',
            "malformed plan: `owned_elsewhere`: not an object key",
        ),
    ],
)
def test_bad_plan_files_are_refused(text: str, message: str) -> None:
    with pytest.raises(PlanFormatError, match=message):
        Plan.from_json(text)


def test_fingerprint_ignores_key_order_but_not_values() -> None:
    assert fingerprint({"a": 1, "b": [1, 2]}) == fingerprint({"b": [1, 2], "a": 1})
    assert fingerprint({"a": 1}) != fingerprint({"a": 2})


@pytest.mark.parametrize(
    ("path", "attribute"),
    [
        ("name", "name"),
        ("validation_rules", "validation_rules"),
        ("validation_rules[0].options.to", "validation_rules"),
        ("validation[1]", "validation"),
        ("presentation.sort_order", "presentation"),
    ],
)
def test_a_change_names_the_top_level_attribute_it_is_in(path: str, attribute: str) -> None:
    """An update sends the whole top-level attribute a change is in (flows and Custom APIs
    alike: `normalize.update_body`, the Custom API applier's keys)."""
    assert AttributeChange(path, 1, 2).attribute == attribute
