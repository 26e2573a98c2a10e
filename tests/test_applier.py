"""The applier's contract, with an in-memory stand-in for the client's domain methods.

A real store cannot fail one chosen operation on cue or hold operations open to show the
concurrency bound, so these tests drive the applier through a recording double of the client
(the end-to-end behaviour over HTTP is in test_cli_plan_apply.py and test_convergence.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import pytest

from provisioner.applier import ApplyEvent, EventKind, apply_plan, check_fresh, check_safe
from provisioner.errors import ApplyError, StalePlanError, UnsafePlanError, ValidationApiError
from provisioner.model import Field, Flow, State
from provisioner.normalize import field_attributes, live_fingerprint
from provisioner.plan import AttributeChange, Operation, OpKind, Plan, Safety


class RecordingClient:
    """Records every call; `fail` names slugs whose call raises, `slow` slugs that take time."""

    def __init__(self, fail: set[str] | None = None, slow: set[str] | None = None) -> None:
        self.calls: list[tuple[str, Any, Any]] = []
        self.fail = fail or set()
        self.slow = slow or set()
        self.in_flight = 0
        self.max_in_flight = 0
        self._next_id = 0

    async def _call(self, method: str, target: Any, attrs: Any, slug: str) -> dict[str, Any]:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            # Yield to the loop so concurrent operations really overlap.
            for _ in range(20 if slug in self.slow else 2):
                await asyncio.sleep(0)
            if slug in self.fail:
                raise ValidationApiError("POST", "/v2/fields", 422, "Failed Validation", slug)
            self.calls.append((method, target, attrs))
            self._next_id += 1
            return {"id": f"new-{self._next_id}", **(attrs or {})}
        finally:
            self.in_flight -= 1

    async def create_flow(self, attrs: Mapping[str, Any]) -> dict[str, Any]:
        return await self._call("create_flow", None, dict(attrs), str(attrs["slug"]))

    async def update_flow(self, flow_id: str, attrs: Mapping[str, Any]) -> dict[str, Any]:
        return await self._call("update_flow", flow_id, dict(attrs), flow_id)

    async def delete_flow(self, flow_id: str) -> None:
        await self._call("delete_flow", flow_id, None, flow_id)

    async def create_field(self, flow_id: str, attrs: Mapping[str, Any]) -> dict[str, Any]:
        return await self._call("create_field", flow_id, dict(attrs), str(attrs["slug"]))

    async def update_field(self, field_id: str, attrs: Mapping[str, Any]) -> dict[str, Any]:
        return await self._call("update_field", field_id, dict(attrs), field_id)

    async def delete_field(self, field_id: str) -> None:
        await self._call("delete_field", field_id, None, field_id)


def _field_after(slug: str, **overrides: Any) -> dict[str, Any]:
    return field_attributes(Field(slug=slug, name=slug.title(), **overrides))


def _create_field(flow: str, slug: str, flow_id: str | None = None) -> Operation:
    return Operation(OpKind.CREATE_FIELD, flow, slug, flow_id=flow_id, after=_field_after(slug))


def _run(client: RecordingClient, plan: Plan, **kwargs: Any) -> list[ApplyEvent]:
    events: list[ApplyEvent] = []
    asyncio.run(apply_plan(client, plan, on_event=events.append, **kwargs))
    return events


def test_a_flow_created_in_the_run_gives_its_id_to_its_fields() -> None:
    plan = Plan(
        operations=(
            _create_field("wishlists", "items"),
            Operation(
                OpKind.CREATE_FLOW,
                "wishlists",
                after={"name": "Wishlists", "description": "", "enabled": True},
            ),
            _create_field("customers", "nickname", flow_id="c-1"),
        )
    )
    client = RecordingClient()
    events = _run(client, plan)
    methods = [(method, target) for method, target, _ in client.calls]
    flow_call = methods.index(("create_flow", None))
    created_id = f"new-{flow_call + 1}"
    assert methods.index(("create_field", created_id)) > flow_call
    assert ("create_field", "c-1") in methods
    assert client.calls[flow_call][2] == {
        "slug": "wishlists",
        "name": "Wishlists",
        "description": "",
        "enabled": True,
    }
    kinds = [(event.kind, event.index) for event in events]
    for index in range(3):
        assert kinds.index((EventKind.STARTED, index)) < kinds.index((EventKind.SUCCEEDED, index))


def test_update_sends_only_the_changed_top_level_attributes() -> None:
    rules = [{"type": "between", "options": {"from": 1, "to": 10}}]
    after = _field_after("rating", field_type="integer", validation_rules=tuple(rules))
    op = Operation(
        OpKind.UPDATE_FIELD,
        "products",
        "rating",
        id="f-1",
        flow_id="p-1",
        before={
            **after,
            "validation_rules": [{"type": "between", "options": {"from": 1, "to": 5}}],
        },
        after=after,
        changes=(AttributeChange("validation_rules[0].options.to", 5, 10),),
        safety=Safety.SAFE,
    )
    client = RecordingClient()
    _run(client, Plan(operations=(op,)))
    assert client.calls == [("update_field", "f-1", {"validation_rules": rules})]


def test_rename_is_one_put_with_the_new_slug_and_changed_attributes() -> None:
    after = _field_after("delivery_notes")
    op = Operation(
        OpKind.RENAME_FIELD,
        "customers",
        "delivery_notes",
        id="f-1",
        flow_id="c-1",
        before={**after, "name": "Old"},
        after=after,
        changes=(AttributeChange("name", "Old", after["name"]),),
        safety=Safety.RISKY,
        from_slug="delivery_details",
    )
    client = RecordingClient()
    _run(client, Plan(operations=(op,)))
    assert client.calls == [
        ("update_field", "f-1", {"name": after["name"], "slug": "delivery_notes"})
    ]


def test_replace_deletes_then_creates_in_the_target_flow() -> None:
    op = Operation(
        OpKind.REPLACE_FIELD,
        "customers",
        "age",
        id="f-9",
        flow_id="c-1",
        before=_field_after("age"),
        after=_field_after("age", field_type="integer"),
        changes=(AttributeChange("field_type", "string", "integer"),),
        safety=Safety.DESTRUCTIVE,
    )
    client = RecordingClient()
    _run(client, Plan(operations=(op,)), allow_destructive=True)
    assert [(m, t) for m, t, _ in client.calls] == [
        ("delete_field", "f-9"),
        ("create_field", "c-1"),
    ]
    assert client.calls[1][2]["field_type"] == "integer"
    assert client.calls[1][2]["slug"] == "age"


def test_destructive_operations_need_permission_and_nothing_is_applied() -> None:
    plan = Plan(
        operations=(
            _create_field("customers", "a", flow_id="c-1"),
            Operation(
                OpKind.DELETE_FLOW,
                "old",
                id="o-1",
                safety=Safety.DESTRUCTIVE,
                reasons=("deletes the flow and its entries",),
            ),
        )
    )
    client = RecordingClient()
    with pytest.raises(UnsafePlanError) as caught:
        _run(client, plan)
    assert caught.value.exit_code == 3
    assert "\n  - delete_flow old: deletes the flow and its entries" in str(caught.value)
    assert client.calls == []
    check_safe(plan, allow_destructive=True)


def test_parallelism_bounds_the_operations_in_flight() -> None:
    plan = Plan(
        operations=tuple(_create_field("customers", f"f{i:02}", flow_id="c-1") for i in range(12))
    )
    client = RecordingClient(slow={f"f{i:02}" for i in range(12)})
    _run(client, plan, parallelism=3)
    assert client.max_in_flight == 3
    assert len(client.calls) == 12
    serial = RecordingClient(slow={f"f{i:02}" for i in range(12)})
    _run(serial, plan, parallelism=1)
    assert serial.max_in_flight == 1


def test_a_failure_stops_only_what_depends_on_it_and_names_every_failure_and_skip() -> None:
    # Issue 17.1 (this replaces "a failure starts nothing new"): independent operations go
    # on; the failed flow's fields, and a relationship field pointing at it, are skipped.
    target = {"name": "Owner", "field_type": "relationship"}
    owner = {
        **_field_after("owner", field_type="relationship"),
        **target,
        "validation_rules": [{"type": "one-to-one", "to": "broken"}],
    }
    flow_after = {"name": "X", "description": "", "enabled": True}
    ops = (
        Operation(OpKind.CREATE_FLOW, "broken", after=flow_after),
        _create_field("broken", "inside_1"),
        _create_field("broken", "inside_2"),
        Operation(OpKind.CREATE_FLOW, "fine", after=flow_after),
        _create_field("fine", "other"),
        Operation(OpKind.CREATE_FIELD, "customers", "owner", flow_id="c-1", after=owner),
        _create_field("customers", "also_broken", flow_id="c-1"),
        _create_field("customers", "independent", flow_id="c-1"),
    )
    client = RecordingClient(fail={"broken", "also_broken"})
    events: list[ApplyEvent] = []
    with pytest.raises(ApplyError) as caught:
        asyncio.run(apply_plan(client, Plan(operations=ops), parallelism=1, on_event=events.append))
    error = caught.value
    assert sorted(error.applied) == [
        "+ create_field customers.independent",
        "+ create_field fine.other",
        "+ create_flow fine",
    ]
    assert sorted(op for op, _ in error.failed) == [
        "+ create_field customers.also_broken",
        "+ create_flow broken",
    ]
    assert [op for op, _ in error.skipped] == [
        "+ create_field broken.inside_1",
        "+ create_field broken.inside_2",
        "+ create_field customers.owner",
    ]
    assert {why for _, why in error.skipped} == {"depends on + create_flow broken, which failed"}
    sent = sorted(str(attrs["slug"]) for _, _, attrs in client.calls)
    assert sent == ["fine", "independent", "other"]
    skipped = [event.operation.describe() for event in events if event.kind is EventKind.SKIPPED]
    assert skipped == [op for op, _ in error.skipped]
    started = {event.index for event in events if event.kind is EventKind.STARTED}
    assert started == {0, 3, 4, 6, 7}
    text = str(error)
    assert text.startswith("apply stopped: 2 operation(s) failed, 3 skipped")
    assert "  skipped: + create_field customers.owner (depends on + create_flow broken" in text
    assert isinstance(error.__cause__, ValidationApiError)


def test_a_skipped_operation_holds_back_its_own_dependants() -> None:
    # Transitive: the move into a flow whose creation failed is skipped, and so is the new
    # field that takes the slug the move would have freed (it depends on the move only).
    flow_after = {"name": "X", "description": "", "enabled": True}
    moved = Operation(
        OpKind.REPLACE_FIELD,
        "second",
        "f",
        id="f-1",
        from_flow_slug="first",
        after=_field_after("f"),
        safety=Safety.DESTRUCTIVE,
    )
    ops = (
        Operation(OpKind.CREATE_FLOW, "second", after=flow_after),
        moved,
        _create_field("first", "f", flow_id="fi-1"),
    )
    client = RecordingClient(fail={"second"})
    with pytest.raises(ApplyError) as caught:
        asyncio.run(apply_plan(client, Plan(operations=ops), allow_destructive=True))
    assert caught.value.applied == ()
    assert [op for op, _ in caught.value.skipped] == [ops[1].describe(), ops[2].describe()]
    assert client.calls == []


def _live() -> State:
    return State(
        flows={
            "customers": Flow(
                slug="customers",
                name="Customers",
                id="c-1",
                fields={
                    "a": Field(slug="a", name="A", id="f-a"),
                    "b": Field(slug="b", name="B", id="f-b"),
                },
            )
        }
    )


def _saved_plan(live: State) -> Plan:
    keys = ["field:customers.a", "flow:wishlists"]
    return Plan(
        operations=(Operation(OpKind.UPDATE_FIELD, "customers", "a", id="f-a", flow_id="c-1"),),
        fingerprints={key: live_fingerprint(live, key) for key in keys},
    )


def test_a_saved_plan_is_fresh_while_its_objects_are_unchanged() -> None:
    live = _live()
    plan = _saved_plan(live)
    check_fresh(plan, live)
    customers = live.flows["customers"]
    other_changed = State(
        flows={
            "customers": Flow(
                slug="customers",
                name="Customers",
                id="c-1",
                fields={**customers.fields, "b": Field(slug="b", name="B2", id="f-b")},
            ),
            "unrelated": Flow(slug="unrelated", id="u-1"),
        }
    )
    check_fresh(plan, other_changed)


@pytest.mark.parametrize(
    ("change", "stale"),
    [
        ("field", ["field:customers.a"]),
        ("recreated", ["field:customers.a"]),
        ("absence", ["flow:wishlists"]),
    ],
)
def test_a_saved_plan_goes_stale_when_a_touched_object_changes(
    change: str, stale: list[str]
) -> None:
    live = _live()
    plan = _saved_plan(live)
    customers = live.flows["customers"]
    flows = dict(live.flows)
    if change == "field":
        fields = {**customers.fields, "a": Field(slug="a", name="A2", id="f-a")}
        flows["customers"] = Flow(slug="customers", name="Customers", id="c-1", fields=fields)
    elif change == "recreated":
        fields = {**customers.fields, "a": Field(slug="a", name="A", id="f-new")}
        flows["customers"] = Flow(slug="customers", name="Customers", id="c-1", fields=fields)
    else:
        flows["wishlists"] = Flow(slug="wishlists", id="w-1")
    with pytest.raises(StalePlanError) as caught:
        check_fresh(plan, State(flows=flows))
    assert list(caught.value.objects) == stale
    assert stale[0] in str(caught.value)


@pytest.mark.parametrize("recreated", [True, False], ids=["recreated", "deleted"])
def test_a_saved_plan_goes_stale_when_the_flow_it_adds_fields_to_is_gone(recreated: bool) -> None:
    # The create carries the live flow ID (4.2 `relationships.flow`); a flow deleted, or
    # deleted and created again under the same slug, no longer has it.
    live = _live()
    plan = Plan(
        operations=(Operation(OpKind.CREATE_FIELD, "customers", "new", flow_id="c-1"),),
        fingerprints={"field:customers.new": None},
    )
    check_fresh(plan, live)
    flows = {slug: flow for slug, flow in live.flows.items() if slug != "customers"}
    if recreated:
        flows["customers"] = Flow(slug="customers", name="Customers", id="c-2")
    with pytest.raises(StalePlanError) as caught:
        check_fresh(plan, State(flows=flows))
    assert list(caught.value.objects) == ["flow:customers"]
