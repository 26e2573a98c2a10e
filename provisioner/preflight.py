"""Preflight: the checks before a plan runs. Destructive operations must be allowed
(`check_safe`), and a saved plan must still be fresh against the store (`check_fresh`, from
the plan's fingerprints). Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from provisioner import custom_api_fingerprints
from provisioner.errors import PlanFormatError, StalePlanError, UnsafePlanError
from provisioner.keys import entries_key, field_key, fields_key, flow_key
from provisioner.model import State
from provisioner.normalize import live_fingerprint
from provisioner.plan import Operation, OpKind, Plan


def check_safe(plan: Plan, allow_destructive: bool) -> None:
    """Refuse (exit 3) a plan with destructive operations unless they are allowed."""
    if plan.destructive and not allow_destructive:
        raise UnsafePlanError(
            [
                f"{op.describe()}: {'; '.join(op.reasons)}" if op.reasons else op.describe()
                for op in plan.destructive
            ]
        )


def fingerprint_keys(op: Operation) -> tuple[str, ...]:
    """The fingerprints a saved plan must record for `op`: every live object it changes or
    destroys, every place it expects empty, and for a flow deletion its fields and entries."""
    if op.kind.custom:
        return custom_api_fingerprints.fingerprint_keys(op)
    if op.field_slug is None:
        if op.kind is OpKind.DELETE_FLOW:
            return (flow_key(op.flow_slug), fields_key(op.flow_slug), entries_key(op.flow_slug))
        return (flow_key(op.flow_slug),)
    source = field_key(op.from_flow_slug or op.flow_slug, op.from_slug or op.field_slug)
    if op.kind is OpKind.CREATE_FIELD or source == op.key:
        return (op.key,)
    return (source, op.key)


def check_fresh(
    plan: Plan,
    live: State,
    entry_counts: Mapping[str, int] | None = None,
    custom_entry_counts: Mapping[str, int] | None = None,
    grown_counts: Sequence[str] = (),
) -> None:
    """Refuse a saved plan when an object it touches changed since it was made.

    Only the keys in `plan.fingerprints` are compared (an expected absence is None), so
    changes elsewhere in the store do not make the plan stale; a flow the plan deletes is
    compared with its fields and its entry count (`entry_counts`, read by the caller for
    `plan.deleted_flows`); `grown_counts` are the impact counts (`plan --impact`) that grew
    since, measured by the caller (`impact.grown`). Every operation must have its
    fingerprints (a plan without them was not made by `provisioner plan`), and the IDs it
    names must still be the live ones: the object it updates or deletes, and the flow a
    field operation names by ID (a field created into a flow deleted, and perhaps created
    again, since would be refused).
    """
    missing = sorted(
        {key for op in plan.operations for key in fingerprint_keys(op)} - set(plan.fingerprints)
    )
    if missing:
        raise PlanFormatError(
            "the saved plan records no fingerprint of "
            + ", ".join(missing)
            + ", so it cannot be checked against the store. Make it with `provisioner plan "
            "--out` (plans from older versions lack the contents of deleted flows)."
        )
    live = custom_api_fingerprints.as_planned(live, plan)  # renamed Custom APIs (issue 14)
    changed = {
        key
        for key, then in plan.fingerprints.items()
        if live_fingerprint(live, key, entry_counts, custom_entry_counts) != then
    }
    changed |= custom_api_fingerprints.stale_ids(plan, live)  # issue 14: Custom APIs
    changed |= set(grown_counts)  # issue 15: more records touched than the plan showed
    for op in plan.operations:
        if op.kind.custom:
            continue
        live_flow = live.flows.get(op.flow_slug)
        if op.flow_id is not None and (live_flow is None or live_flow.id != op.flow_id):
            changed.add(flow_key(op.flow_slug))
        if op.id is not None and _live_id(live, op) != op.id:
            changed.add(fingerprint_keys(op)[0])
    if changed:
        raise StalePlanError(sorted(changed))


def _live_id(live: State, op: Operation) -> str | None:
    """The ID of the live object `op` starts from (the flow, or the field before a move)."""
    flow = live.flows.get(op.from_flow_slug or op.flow_slug)
    if flow is None or op.field_slug is None:
        return None if flow is None else flow.id
    field = flow.fields.get(op.from_slug or op.field_slug)
    return None if field is None else field.id
