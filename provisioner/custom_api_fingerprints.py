"""Fingerprints of live Custom APIs for saved plans (issue 14), and entry counts.

A saved plan records a digest of every live Custom API and field it touches (ID, slug and
canonical attributes: definitions carry no ETag), the set of fields of an API it deletes or
replaces, and the number of entries such an API holds (read by the command). Definitions
carry no ETag, so the stale check compares what was fingerprinted and the IDs the plan
names (`fingerprint_keys`, `stale_ids`, used by `preflight`). Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from provisioner.custom_api_model import (
    CustomApi,
    CustomField,
    api_attributes,
    field_attributes,
    renamed_view,
)
from provisioner.keys import (
    CUSTOM_API,
    CUSTOM_ENTRIES,
    CUSTOM_FIELD,
    CUSTOM_FIELDS,
    ObjectKey,
    custom_api_key,
    custom_entries_key,
    custom_field_key,
    custom_fields_key,
)
from provisioner.model import State
from provisioner.plan import Operation, OpKind, Plan, fingerprint


def api_fingerprint(api: CustomApi) -> str:
    return fingerprint({"id": api.id, "slug": api.slug, **api_attributes(api)})


def field_fingerprint(custom_field: CustomField) -> str:
    return fingerprint(
        {"id": custom_field.id, "slug": custom_field.slug, **field_attributes(custom_field)}
    )


def fields_fingerprint(api: CustomApi) -> str:
    """Digest of an API's set of fields (a field added after the review makes a plan stale)."""
    return fingerprint(sorted([slug, f.id] for slug, f in api.fields.items()))


def entry_count_fingerprint(count: int) -> str:
    return str(count)


def live_fingerprint(
    live: State, key: ObjectKey, entry_counts: Mapping[str, int] | None
) -> str | None:
    """`custom_api:S`, `custom_field:S.F`, `custom_fields:S`, `custom_entries:S` in `live`
    (the key as `ObjectKey.parse` reads it)."""
    kind, api_slug = key.kind, key.flow_slug
    if kind == CUSTOM_ENTRIES:  # counted by the caller (by the slug the plan names)
        count = (entry_counts or {}).get(api_slug)
        return None if count is None else entry_count_fingerprint(count)
    api = live.custom_apis.get(api_slug)
    if api is None:
        return None
    if kind == CUSTOM_API:
        return api_fingerprint(api)
    if kind == CUSTOM_FIELDS:
        return fields_fingerprint(api)
    if kind == CUSTOM_FIELD:
        found = api.fields.get(str(key.field_slug))
        return None if found is None else field_fingerprint(found)
    raise ValueError(f"not a Custom API key: {key}")


def with_entry_counts(plan: Plan, counts: Mapping[str, int]) -> Plan:
    """The plan with the entry counts of the Custom APIs it deletes or replaces: recorded as
    fingerprints (`custom_entries:S`) and said in the operation's reasons."""
    if not counts:
        return plan
    operations = []
    for op in plan.operations:
        count = counts.get(op.flow_slug)
        if op.kind in (OpKind.DELETE_CUSTOM_API, OpKind.REPLACE_CUSTOM_API) and count is not None:
            held = f"it holds {count} entr{'y' if count == 1 else 'ies'}"
            op = replace(op, reasons=(*op.reasons, held))
        operations.append(op)
    extra = {custom_entries_key(slug): entry_count_fingerprint(n) for slug, n in counts.items()}
    updated = replace(plan, operations=tuple(operations))
    return updated.with_fingerprints(extra)


def fingerprint_keys(op: Operation) -> tuple[str, ...]:
    """The fingerprints a saved plan must record for a Custom API operation."""
    if op.field_slug is None:
        if op.kind in (OpKind.DELETE_CUSTOM_API, OpKind.REPLACE_CUSTOM_API):
            return (custom_api_key(op.flow_slug), custom_fields_key(op.flow_slug))
        return (custom_api_key(op.flow_slug),)
    if op.flow_id is None:
        return ()  # a field of an API this plan creates or replaces: the API's key covers it
    source = custom_field_key(op.flow_slug, op.from_slug or op.field_slug)
    if op.kind is OpKind.CREATE_CUSTOM_FIELD or source == op.key:
        return (op.key,)
    return (source, op.key)


def plan_renames(plan: Plan) -> dict[str, str]:
    """The Custom APIs a plan renames: new slug -> live slug."""
    return {
        op.flow_slug: op.from_slug
        for op in plan.operations
        if op.kind is OpKind.RENAME_CUSTOM_API and op.from_slug is not None
    }


def as_planned(live: State, plan: Plan) -> State:
    """`live` as the plan was made against it: the Custom APIs it renames under their new
    slugs (the planner compares and fingerprints them so)."""
    renames = plan_renames(plan)
    if not renames:
        return live
    return State(flows=live.flows, custom_apis=renamed_view(live.custom_apis, renames))


def stale_ids(plan: Plan, live: State) -> set[str]:
    """Keys of the objects whose live IDs are no longer the ones the plan names."""
    changed: set[str] = set()
    for op in plan.operations:
        if not op.kind.custom:
            continue
        api = live.custom_apis.get(op.flow_slug)
        if op.flow_id is not None and (api is None or api.id != op.flow_id):
            changed.add(custom_api_key(op.flow_slug))
        if op.id is None:
            continue
        if op.field_slug is None:
            live_id = None if api is None else api.id
        else:
            found = None if api is None else api.fields.get(op.from_slug or op.field_slug)
            live_id = None if found is None else found.id
        if live_id != op.id:
            keys = fingerprint_keys(op)
            changed.add(keys[0] if keys else op.key)
        for parent, parent_id in op.parent_ids.items():
            held = live.custom_apis.get(parent)
            if held is None or held.id != parent_id:
                changed.add(custom_api_key(parent))
    return changed
