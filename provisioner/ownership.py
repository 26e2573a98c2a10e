"""Ownership: flows and fields at the organization level are not a store's to change.

A flow or field lives at the organization or the store level (`meta.owner`, epcc-api.md 3.3).
A store-level apply never changes or deletes an organization-owned one: `restrict` takes the
planner's plan and drops every operation that would update, rename, replace or delete an
organization-owned live object (prune included), and lists those objects, with the unmanaged
organization-owned fields, as *owned elsewhere*. New fields on an organization-owned flow are
the store's own, and stay in the plan. `foreign_operations` tells a saved plan that touches
organization-owned objects, which `apply` refuses.

Pure: no I/O.
"""

from __future__ import annotations

from provisioner.model import State
from provisioner.plan import Operation, OpKind, Plan, field_key, flow_key

ORGANIZATION = "organization"

_FLOW_KINDS = (OpKind.UPDATE_FLOW, OpKind.DELETE_FLOW)
_FIELD_KINDS = (
    OpKind.UPDATE_FIELD,
    OpKind.RENAME_FIELD,
    OpKind.REPLACE_FIELD,
    OpKind.MIGRATE_FIELD,
    OpKind.DELETE_FIELD,
)


def organization_owned(live: State) -> set[str]:
    """Keys (`flow:x`, `field:x.y`) of the live objects owned by the organization."""
    keys: set[str] = set()
    for flow_slug, flow in live.flows.items():
        if flow.owner == ORGANIZATION:
            keys.add(flow_key(flow_slug))
        for field_slug, field in flow.fields.items():
            if field.owner == ORGANIZATION:
                keys.add(field_key(flow_slug, field_slug))
    return keys


def touched_live_key(op: Operation) -> str | None:
    """The key of the live object an operation changes or deletes (None for creates)."""
    if op.kind in _FLOW_KINDS:
        return flow_key(op.flow_slug)
    if op.kind in _FIELD_KINDS:
        assert op.field_slug is not None
        return field_key(op.from_flow_slug or op.flow_slug, op.from_slug or op.field_slug)
    return None


def foreign_operations(plan: Plan, live: State) -> list[Operation]:
    """The operations of `plan` that would change or delete organization-owned objects."""
    owned = organization_owned(live)
    return [op for op in plan.operations if touched_live_key(op) in owned]


def restrict(plan: Plan, live: State) -> Plan:
    """`plan` without the operations on organization-owned objects, which it lists (with the
    unmanaged organization-owned fields) in `owned_elsewhere`."""
    owned = organization_owned(live)
    if not owned:
        return plan
    kept: list[Operation] = []
    elsewhere: set[str] = set()
    for op in plan.operations:
        key = touched_live_key(op)
        if key in owned:
            assert key is not None
            elsewhere.add(key)
        else:
            kept.append(op)
    unmanaged = [key for key in plan.unmanaged if key not in owned]
    elsewhere.update(key for key in plan.unmanaged if key in owned)
    still = {op.key for op in kept} | {k for op in kept if (k := touched_live_key(op))}
    fingerprints = {
        key: value
        for key, value in plan.fingerprints.items()
        if key not in elsewhere or key in still
    }
    return Plan(
        operations=tuple(kept),
        unmanaged=tuple(unmanaged),
        fingerprints=fingerprints,
        owned_elsewhere=tuple(sorted(elsewhere)),
    )
