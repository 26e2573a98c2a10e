"""Checks around a plan: relationship targets the files cannot vouch for, relationship fields
a flow deletion leaves dangling, and the limit of fields per flow.

`validate` cannot tell whether a relationship's target flow exists when the files do not
declare it (issue 10 item 16): the commands ask the store, through
`check_relationship_targets`, before planning. `note_dangling_relationships` tells the
reviewer of a flow deletion which live relationship fields will point at nothing;
`check_field_limit` refuses a plan that would leave a flow with more than the API's 100 fields
(4.2). Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from provisioner.errors import PlanError
from provisioner.model import CORE_RELATIONSHIP_TARGETS, MAX_FIELDS_PER_FLOW, Field, State
from provisioner.normalize import field_attributes, relationship_targets
from provisioner.plan import Operation, OpKind, field_key


def undeclared_targets(desired: State) -> list[tuple[str, str, str]]:
    """(flow, field, target) of every relationship whose target is neither a core resource
    nor a flow declared in `desired`: a flow the live store may hold (issue 10 item 16).
    `validate` cannot check these offline; `plan` checks them against the store."""
    found = []
    for flow_slug, flow in sorted(desired.flows.items()):
        if flow.absent:
            continue
        for field_slug, field in sorted(flow.fields.items()):
            if field.absent:
                continue
            for target in _targets(field):
                if target not in CORE_RELATIONSHIP_TARGETS and target not in desired.flows:
                    found.append((flow_slug, field_slug, target))
    return found


def _targets(field: Field) -> tuple[str, ...]:
    """`relationship_targets(field_attributes(field))` without the canonical copy (a `to` is a
    string either way): 50,000 fields are checked before every plan (issue 16)."""
    return tuple(
        rule["to"]
        for rule in field.validation_rules
        if isinstance(rule, Mapping) and isinstance(rule.get("to"), str)
    )


def check_relationship_targets(desired: State, live: State) -> None:
    """Refuse relationships to flows that neither the files nor the store hold (the commands
    call it before planning files: `validate` could not check these targets offline)."""
    missing = [
        f"{flow}.{field} -> {target}"
        for flow, field, target in undeclared_targets(desired)
        if target not in live.flows
    ]
    if missing:
        raise PlanError(
            "relationship targets that are neither declared in the files nor flows of the "
            "store: " + ", ".join(missing) + ". Declare those flows, or point at a flow or a "
            "singular core resource that exists."
        )


def check_field_limit(live: State, operations: Sequence[Operation]) -> None:
    """Refuse a plan that would leave a flow with more than 100 fields (4.2).

    The API would refuse the creates one by one in the middle of an apply; unmanaged live
    fields count too, which a reviewer cannot see from the files alone.
    """
    counts = {slug: len(flow.fields) for slug, flow in live.flows.items()}
    for op in operations:
        if op.kind is OpKind.CREATE_FIELD:
            counts[op.flow_slug] = counts.get(op.flow_slug, 0) + 1
        elif op.kind is OpKind.DELETE_FIELD:
            counts[op.flow_slug] -= 1
        elif op.kind is OpKind.REPLACE_FIELD and op.from_flow_slug is not None:
            counts[op.from_flow_slug] -= 1
            counts[op.flow_slug] = counts.get(op.flow_slug, 0) + 1
    over = sorted(slug for slug, count in counts.items() if count > MAX_FIELDS_PER_FLOW)
    if over:
        raise PlanError(
            "; ".join(
                f"flow {slug} would hold {counts[slug]} fields after this plan "
                f"({len(live.flows[slug].fields) if slug in live.flows else 0} "
                "in the store now, unmanaged ones included)"
                for slug in over
            )
            + f". The API allows at most {MAX_FIELDS_PER_FLOW} fields per flow: delete "
            "fields (`state: absent`, or `prune: true` for the unmanaged ones) or declare "
            "fewer."
        )


def note_dangling_relationships(live: State, operations: list[Operation]) -> None:
    """Say so when a deleted flow stays the target of live relationship fields (the reason is
    added to the flow's deletion in `operations`).

    Only fields the plan leaves alone qualify (undeclared, or in undeclared flows): a
    declared field cannot point at an absent flow (config.py), so it has its own operation.
    """
    if not any(op.kind is OpKind.DELETE_FLOW for op in operations):
        return
    handled = {
        field_key(op.from_flow_slug or op.flow_slug, op.from_slug or op.field_slug)
        for op in operations
        if op.field_slug is not None
    }
    for index, op in enumerate(operations):
        if op.kind is not OpKind.DELETE_FLOW:
            continue
        dangling = [
            f"{live_flow.slug}.{live_field.slug}"
            for live_flow in sorted(live.flows.values(), key=lambda f: f.slug)
            if live_flow.slug != op.flow_slug
            for live_field in sorted(live_flow.fields.values(), key=lambda f: f.slug)
            if op.flow_slug in relationship_targets(field_attributes(live_field))
            and field_key(live_flow.slug, live_field.slug) not in handled
        ]
        if dangling:
            reason = "relationship fields left pointing at it: " + ", ".join(dangling)
            operations[index] = replace(op, reasons=(*op.reasons, reason))
