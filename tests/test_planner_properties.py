"""Properties of the planner over generated states (hypothesis).

1. A state planned against itself, as a store lists it, is empty.
2. Convergence: executing a plan on an in-memory store (which refuses what the API refuses:
   a duplicate slug, a field without its flow, a relationship to a flow not yet created, a
   core or non-empty flow deleted) gives a store that plans empty against the same desired
   state. This checks the decisions and the dependency order together.
3. The plan is deterministic and survives its JSON round trip.
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from provisioner.model import CORE_RELATIONSHIP_TARGETS, Field, Flow, State, is_core_flow
from provisioner.normalize import (
    attributes_create_body,
    field_attributes,
    flow_attributes,
    live_fingerprint,
    relationship_targets,
    state_from_api,
    update_body,
)
from provisioner.plan import Operation, OpKind, Plan, field_key, flow_key
from provisioner.planner import plan

FLOW_SLUGS = ("customers", "wishlists", "stores", "products(book)")
FIELD_SLUGS = ("a", "b", "c", "d", "e")
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

names = st.sampled_from(["", "Name", "Other name", "Ünïcode ✓"])


@st.composite
def rules_for(draw: st.DrawFn, field_type: str) -> tuple[dict[str, Any], ...]:
    if field_type == "relationship":
        to = draw(st.sampled_from(["product", "customer", "wishlists", "stores"]))
        kind = draw(st.sampled_from(["one-to-many", "one-to-one"]))
        return ({"type": kind, "to": to},)
    options: list[dict[str, Any]] = []
    if field_type == "string":
        options.append({"type": "email"})
        options.append(
            {"type": "enum", "options": draw(st.lists(st.sampled_from("xyz"), min_size=1))}
        )
    if field_type in ("integer", "float"):
        low = draw(st.integers(0, 5))
        high = draw(st.integers(5, 10))
        number = float if field_type == "float" and draw(st.booleans()) else int
        options.append({"type": "between", "options": {"from": number(low), "to": number(high)}})
    if not options:
        return ()
    return tuple(draw(st.lists(st.sampled_from(options), max_size=1, unique_by=str)))


@st.composite
def fields(draw: st.DrawFn, slug: str) -> Field:
    field_type = draw(st.sampled_from(["string", "integer", "float", "boolean", "relationship"]))
    default: Any = None
    if field_type == "integer" and draw(st.booleans()):
        default = draw(st.integers(5, 5))
    if field_type == "string":
        default = draw(st.sampled_from([None, "", "x"]))
    return Field(
        slug=slug,
        field_type=field_type,
        name=draw(names),
        description=draw(st.sampled_from(["", "about it"])),
        required=field_type != "relationship" and draw(st.booleans()),
        unique=draw(st.booleans()),
        default=default,
        enabled=draw(st.booleans()),
        order=draw(st.none() | st.integers(1, 3)),
        omit_null=draw(st.booleans()),
        validation_rules=draw(rules_for(field_type)),
    )


@st.composite
def states(draw: st.DrawFn) -> State:
    flows = {}
    for flow_slug in draw(st.lists(st.sampled_from(FLOW_SLUGS), unique=True)):
        slugs = draw(st.lists(st.sampled_from(FIELD_SLUGS), unique=True, max_size=4))
        flows[flow_slug] = Flow(
            slug=flow_slug,
            name=draw(names),
            description=draw(st.sampled_from(["", "flow"])),
            enabled=draw(st.booleans()),
            fields={slug: draw(fields(slug)) for slug in sorted(slugs)},
        )
    return State(flows=flows)


@st.composite
def desired_states(draw: st.DrawFn) -> State:
    """A state plus the desired-only knobs: absent, prune, renamed_from."""
    base = draw(states())
    flows = {}
    for slug, flow in base.flows.items():
        new_fields = {}
        for field_slug, field in flow.fields.items():
            choice = draw(st.sampled_from(["keep", "keep", "absent", "rename"]))
            if choice == "absent":
                field = Field(field_slug, absent=True)
            elif choice == "rename":
                sources = [
                    s
                    for s in FIELD_SLUGS + tuple(f"{o}.{s}" for o in FLOW_SLUGS for s in "ab")
                    if s != field_slug and s not in flow.fields
                ]
                picked = draw(st.lists(st.sampled_from(sources), min_size=1, max_size=2))
                field = dataclasses.replace(field, renamed_from=tuple(picked))
            new_fields[field_slug] = field
        absent = not is_core_flow(slug) and draw(st.integers(0, 5)) == 0
        flows[slug] = dataclasses.replace(
            flow, fields=new_fields, prune=draw(st.booleans()), absent=absent
        )
    # Like config.py: a relationship names a core resource or a flow declared and kept.
    kept = {slug for slug, flow in flows.items() if not flow.absent}
    return State(flows={slug: _valid_targets(flow, kept) for slug, flow in flows.items()})


def _valid_targets(flow: Flow, kept: set[str]) -> Flow:
    def fix(rule: Any) -> Any:
        to = rule.get("to")
        if to is None or to in CORE_RELATIONSHIP_TARGETS or to in kept:
            return rule
        return {**rule, "to": "product"}

    fields = {
        slug: dataclasses.replace(f, validation_rules=tuple(fix(r) for r in f.validation_rules))
        for slug, f in flow.fields.items()
    }
    return dataclasses.replace(flow, fields=fields)


@st.composite
def start_and_desired(draw: st.DrawFn) -> tuple[State, State]:
    """A start state and either an unrelated desired state or an edit of the start."""
    start = draw(states())
    if draw(st.booleans()):
        return start, draw(desired_states())
    flows = {}
    for slug, flow in start.flows.items():
        edited: dict[str, Field] = {}
        for field_slug, field in flow.fields.items():
            edit = draw(st.sampled_from(["same", "tweak", "rename", "absent", "drop", "retype"]))
            if edit == "same":
                edited[field_slug] = field
            elif edit == "tweak":
                edited[field_slug] = dataclasses.replace(
                    field,
                    name=draw(names),
                    required=field.field_type != "relationship" and draw(st.booleans()),
                    enabled=draw(st.booleans()),
                    omit_null=draw(st.booleans()),
                    validation_rules=draw(rules_for(field.field_type)),
                )
            elif edit == "rename":
                new_slug = field_slug + "2"
                edited[new_slug] = dataclasses.replace(
                    field, slug=new_slug, name=draw(names), renamed_from=(field_slug,)
                )
            elif edit == "absent":
                edited[field_slug] = Field(field_slug, absent=True)
            elif edit == "retype":
                edited[field_slug] = draw(fields(field_slug))
        flows[slug] = dataclasses.replace(flow, fields=edited, prune=draw(st.booleans()))
    kept = set(flows)
    return start, State(flows={s: _valid_targets(f, kept) for s, f in flows.items()})


# -- an in-memory store that refuses what the API refuses -------------------------------------


class MemoryStore:
    def __init__(self, live: State) -> None:
        self.ids = itertools.count(1)
        self.flows: dict[str, dict[str, Any]] = {}
        for flow in live.flows.values():
            self.flows[flow.slug] = {
                "id": flow.id,
                "attrs": flow_attributes(flow),
                "fields": {
                    f.slug: {"id": f.id, "attrs": field_attributes(f)} for f in flow.fields.values()
                },
            }

    def state(self) -> State:
        flows, fields = [], []
        for slug, flow in self.flows.items():
            flows.append({"id": flow["id"], "slug": slug, **flow["attrs"]})
            for field_slug, field in flow["fields"].items():
                link = {"flow": {"data": {"type": "flow", "id": flow["id"]}}}
                fields.append(
                    {"id": field["id"], "slug": field_slug, **field["attrs"], "relationships": link}
                )
        return state_from_api(flows, fields)

    def apply(self, op: Operation) -> None:
        getattr(self, op.kind.value)(op)

    def _flow_by_id(self, flow_id: str | None, slug: str) -> dict[str, Any]:
        assert slug in self.flows, f"no flow {slug}"
        flow = self.flows[slug]
        assert flow_id is None or flow["id"] == flow_id
        return flow

    def _find_field(self, field_id: str | None) -> tuple[str, str]:
        for flow_slug, flow in self.flows.items():
            for slug, field in flow["fields"].items():
                if field["id"] == field_id:
                    return flow_slug, slug
        raise AssertionError(f"no field with id {field_id}")

    def _create(self, flow_slug: str, slug: str, attrs: Any) -> None:
        flow = self._flow_by_id(None, flow_slug)
        assert slug not in flow["fields"], f"duplicate slug {flow_slug}.{slug}"
        body = attributes_create_body(slug, attrs)
        full = {**attrs, **{k: v for k, v in body.items() if k != "slug"}}
        for target in relationship_targets(attrs):
            if target in FLOW_SLUGS:
                assert target in self.flows, f"relationship to {target} before it exists"
        flow["fields"][slug] = {"id": f"new-{next(self.ids)}", "attrs": full}

    def create_flow(self, op: Operation) -> None:
        assert op.flow_slug not in self.flows
        self.flows[op.flow_slug] = {"id": f"new-{next(self.ids)}", "attrs": op.after, "fields": {}}

    def update_flow(self, op: Operation) -> None:
        flow = self._flow_by_id(op.id, op.flow_slug)
        flow["attrs"] = {**flow["attrs"], **update_body(op)}

    def delete_flow(self, op: Operation) -> None:
        assert not is_core_flow(op.flow_slug), "core flows cannot be deleted (405)"
        flow = self._flow_by_id(op.id, op.flow_slug)
        assert not flow["fields"], "a flow is deleted after its fields"
        del self.flows[op.flow_slug]

    def create_field(self, op: Operation) -> None:
        assert op.field_slug is not None
        self._create(op.flow_slug, op.field_slug, op.after)

    def update_field(self, op: Operation) -> None:
        flow_slug, slug = self._find_field(op.id)
        field = self.flows[flow_slug]["fields"][slug]
        body = update_body(op)
        assert "field_type" not in body or body["field_type"] == field["attrs"]["field_type"]
        field["attrs"] = {**field["attrs"], **{k: v for k, v in body.items() if k != "slug"}}

    def rename_field(self, op: Operation) -> None:
        flow_slug, slug = self._find_field(op.id)
        assert flow_slug == op.flow_slug
        assert slug == op.from_slug
        assert op.field_slug not in self.flows[flow_slug]["fields"], "rename onto a live slug"
        self.update_field(op)
        fields = self.flows[flow_slug]["fields"]
        fields[op.field_slug] = fields.pop(slug)

    def replace_field(self, op: Operation) -> None:
        self.delete_field(op)
        assert op.field_slug is not None
        self._create(op.flow_slug, op.field_slug, op.after)

    def delete_field(self, op: Operation) -> None:
        flow_slug, slug = self._find_field(op.id)
        del self.flows[flow_slug]["fields"][slug]


def live_from(state: State) -> State:
    """`state` as a store lists it, with IDs."""
    store = MemoryStore(State())
    for flow in state.flows.values():
        store.flows[flow.slug] = {
            "id": f"id-{flow.slug}",
            "attrs": flow_attributes(flow),
            "fields": {
                f.slug: {"id": f"id-{flow.slug}.{f.slug}", "attrs": field_attributes(f)}
                for f in flow.fields.values()
            },
        }
    return store.state()


# -- properties -------------------------------------------------------------------------------


@SETTINGS
@given(states())
def test_a_state_planned_against_itself_is_empty(state: State) -> None:
    result = plan(state, live_from(state))
    assert result.is_empty, [op.describe() for op in result.operations]


@pytest.mark.slow
@SETTINGS
@given(start_and_desired(), st.booleans())
def test_executing_a_plan_converges(states: tuple[State, State], prune: bool) -> None:
    start, desired = states
    live = live_from(start)
    if prune:  # every declared flow prunes
        flows = {slug: dataclasses.replace(f, prune=True) for slug, f in desired.flows.items()}
        desired = dataclasses.replace(desired, flows=flows)
    result = plan(desired, live)
    store = MemoryStore(live)
    for op in result.operations:
        store.apply(op)
    after = store.state()
    again = plan(desired, after)
    assert again.is_empty, [op.describe() for op in again.operations]
    # The fingerprints name exactly what the plan touches: every other live object is
    # unchanged, and each recorded digest (or absence) is the live one.
    for key, digest in result.fingerprints.items():
        assert live_fingerprint(live, key) == digest
    for key in object_keys(live):
        if key not in result.fingerprints:
            assert live_fingerprint(after, key) == live_fingerprint(live, key), key
    assert all(slug in after.flows for slug in live.flows if is_core_flow(slug))


def object_keys(state: State) -> list[str]:
    keys = [flow_key(slug) for slug in state.flows]
    keys += [field_key(f.slug, s) for f in state.flows.values() for s in f.fields]
    return keys


@pytest.mark.slow
@SETTINGS
@given(desired_states(), states())
def test_plans_are_deterministic_and_round_trip(desired: State, start: State) -> None:
    live = live_from(start)
    first = plan(desired, live)
    assert plan(desired, live) == first
    assert Plan.from_json(first.to_json()) == first
    for op in first.operations:
        if op.kind is OpKind.DELETE_FLOW:
            assert not is_core_flow(op.flow_slug)
