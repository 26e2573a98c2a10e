"""The planner's part for Custom APIs (issue 14): operations, safety classes, fingerprints.

`plan_custom_apis(desired, live)` is called by `planner.plan` when the files declare Custom
APIs; flows are planned as before. Custom APIs match by slug, their fields by (API slug, field
slug), compared in canonical form (`custom_api_model`). Decisions:

- an API or field not live is created (an API with all its fields);
- a change to a create-only attribute (10: `api_type`; a field's `field_type`,
  `use_as_url_slug`, string `unique` and `unique_case_insensitivity`, list `allowed_type`) is a
  replace: delete + create, destructive (an API's entries, a field's values are lost);
- `renamed_from` naming a live slug of the same API renames the field: one PUT keeps its ID
  and values (a rename that also changes a create-only attribute is a replace);
- `state: absent` deletes (an API with its fields and entries; the command adds the number
  of entries it holds to the reason); live fields the files omit are unmanaged;
- tightening validation is risky: it applies to new writes only, existing entries are not
  checked (SPEC "Validation").

Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from provisioner.custom_api_fingerprints import (
    api_fingerprint,
    field_fingerprint,
    fields_fingerprint,
)
from provisioner.custom_api_model import (
    API_ATTRIBUTES,
    FIELD_ATTRIBUTES,
    CustomApi,
    CustomField,
    api_attributes,
    comparable_field_attributes,
    field_attributes,
    renamed_view,
)
from provisioner.epcc import custom_apis as facts
from provisioner.errors import PlanError
from provisioner.keys import custom_api_key, custom_field_key, custom_fields_key
from provisioner.model import State
from provisioner.plan import AttributeChange, Operation, OpKind, Plan, Safety

_TIGHTER_LOW = ("min_length", "min_value")
_TIGHTER_HIGH = ("max_length", "max_value")


@dataclass
class CustomPlan:
    """What the Custom API planner adds to a plan."""

    operations: list[Operation] = field(default_factory=list)
    fingerprints: dict[str, str | None] = field(default_factory=dict)
    unmanaged: list[str] = field(default_factory=list)

    def add(
        self, op: Operation, touched: Mapping[str, str] | None = None, absent: Sequence[str] = ()
    ) -> None:
        self.operations.append(op)
        self.fingerprints.update(touched or {})
        for key in absent:
            self.fingerprints.setdefault(key, None)


# -- planning ---------------------------------------------------------------------------------


def api_renames(desired: State, live: State) -> dict[str, str]:
    """Declared slug -> the live slug it continues (`renamed_from`: the new slug is not live,
    the old one is live and not declared; the first that applies)."""
    found: dict[str, str] = {}
    for slug, api in sorted(desired.custom_apis.items()):
        if api.absent or slug in live.custom_apis:
            continue
        for old in api.renamed_from:
            declared = desired.custom_apis.get(old)
            if old in live.custom_apis and declared is None and old not in found.values():
                found[slug] = old
                break
    return found


def check_rename_targets(desired: State, live: State) -> None:
    """`renamed_from` naming a live Custom API the files no longer declare, while the new slug
    is held by another live Custom API: the rename cannot happen (a slug is unique), so say
    that, instead of planning the declared API as if `renamed_from` were not there."""
    problems = []
    for slug, api in sorted(desired.custom_apis.items()):
        holder = live.custom_apis.get(slug)
        if api.absent or holder is None:
            continue
        for old in api.renamed_from:
            declared = desired.custom_apis.get(old)
            if old in live.custom_apis and (declared is None or declared.absent):
                problems.append(
                    f"{_where(api, 'renamed_from')}: cannot rename `{old}` to `{slug}`: the slug "
                    f"`{slug}` is taken by the live Custom API `{slug}` (api_type "
                    f"`{holder.api_type}`); rename or delete that one first (declare it under "
                    f"another slug, or `state: absent`), or drop `{old}` from renamed_from"
                )
    if problems:
        raise PlanError(
            "a rename needs a free slug, nothing was written:\n  " + "\n  ".join(problems)
        )


def _where(api: CustomApi, *path: str) -> str:
    dotted = ".".join(("custom_apis", api.slug, *path))
    return f"{api.location}: {dotted}" if api.location is not None else dotted


def check_parents(desired: State, live: State, renames: Mapping[str, str]) -> None:
    """Refuse parents that neither the files nor the store hold (validate could not know),
    located at the child's `parent_apis`. A parent named by the slug it is being renamed from
    is refused with the new slug to name: the store links a child to its parent by ID
    (section 10), so the link survives the rename, but the files would name a slug that no
    longer exists."""
    renamed_to = {old: new for new, old in renames.items()}
    missing, renamed = [], []
    for _slug, api in sorted(desired.custom_apis.items()):
        if api.absent:
            continue
        for parent in api.parent_apis:
            if (
                parent == facts.API_LOCATION_ID
                or parent in desired.custom_apis
                or parent in live.custom_apis
            ):
                continue
            if parent in renamed_to:
                new = renamed_to[parent]
                renamed.append(
                    f"{_where(api, 'parent_apis')}: `{parent}` is being renamed to `{new}` "
                    f"(custom_apis.{new}.renamed_from); name `{new}` here (the store links "
                    "parents by ID, so the link is kept through the rename)"
                )
            else:
                missing.append(
                    f"{_where(api, 'parent_apis')}: `{parent}` is neither declared in the files "
                    "nor a Custom API in the store"
                )
    if renamed:
        raise PlanError(
            "parent_apis name a Custom API by the slug it is renamed from, nothing was "
            "written:\n  " + "\n  ".join(renamed + missing)
        )
    if missing:
        raise PlanError(
            "parent Custom APIs that are neither declared in the files nor in the store, "
            "nothing was written:\n  "
            + "\n  ".join(missing)
            + "\nDeclare them, or name a Custom API that exists."
        )


def _final_parents(desired: State, live: State) -> dict[str, list[str]]:
    """Every Custom API after the plan (declared ones as declared, live ones the files do not
    declare as they are; absent ones gone) -> its parent Custom APIs."""
    graph: dict[str, list[str]] = {
        slug: [p for p in api.parent_apis if p != facts.API_LOCATION_ID]
        for slug, api in live.custom_apis.items()
        if slug not in desired.custom_apis
    }
    for slug, api in desired.custom_apis.items():
        if not api.absent:
            graph[slug] = [p for p in api.parent_apis if p != facts.API_LOCATION_ID]
    return graph


def check_parent_graph(desired: State, live: State) -> None:
    """Depth at most 2 and no cycle once the declared parents meet the live ones (SPEC
    CustomAPIRelationships): validate checks the files alone; the store would refuse the
    write half-way through an apply (issue 14 follow-up B)."""
    from provisioner import custom_api_rules as rules

    graph = _final_parents(desired, live)
    before = {
        (slug, violation.code)
        for slug, violation in rules.parent_graph_violations(
            {
                s: [p for p in a.parent_apis if p != facts.API_LOCATION_ID]
                for s, a in live.custom_apis.items()
            }
        )
    }
    problems = []
    for slug, violation in rules.parent_graph_violations(graph):
        if violation.code == "parent_missing" or (slug, violation.code) in before:
            continue  # missing parents: check_parents; a live graph as it was: not ours
        chain = " -> ".join(_chain(graph, slug))
        declared = desired.custom_apis.get(slug)
        if declared is not None:
            where = _where(declared, "parent_apis")
        else:
            where = f"Custom API {slug} (live, not in the files)"
        problems.append(
            f"{where}: {violation.what} with the store's Custom APIs ({chain}; expected "
            f"{violation.expected})"
        )
    if problems:
        raise PlanError(
            "parent_apis would break the store's rules (depth at most "
            f"{facts.MAX_PARENT_DEPTH}, no cycle), nothing was written:\n  " + "\n  ".join(problems)
        )


def _chain(graph: Mapping[str, Sequence[str]], slug: str) -> list[str]:
    """`slug` and its deepest line of parents (a cycle shown once round)."""
    chain, seen = [slug], {slug}
    current = slug
    while True:
        parents = [p for p in graph.get(current, ()) if p in graph]
        if not parents:
            return chain
        nxt = max(parents, key=lambda p: (p in seen, _height(graph, p, frozenset({current}))))
        chain.append(nxt)
        if nxt in seen:
            return chain
        seen.add(nxt)
        current = nxt


def _height(graph: Mapping[str, Sequence[str]], slug: str, trail: frozenset[str]) -> int:
    if slug in trail:
        return 99
    return 1 + max(
        (_height(graph, p, trail | {slug}) for p in graph.get(slug, ()) if p in graph),
        default=0,
    )


def check_api_types(desired: State, live: State) -> None:
    """An `api_type` a plan creates must not belong to another live Custom API (unique in a
    store, 409), unless this plan deletes or replaces that API first (issue 14 follow-up C)."""
    freed = {
        slug
        for slug, api in desired.custom_apis.items()
        if slug in live.custom_apis
        and (api.absent or api.api_type != live.custom_apis[slug].api_type)
    }
    holders = {api.api_type: slug for slug, api in live.custom_apis.items()}
    problems = []
    for slug, api in sorted(desired.custom_apis.items()):
        live_api = live.custom_apis.get(slug)
        if api.absent or (live_api is not None and live_api.api_type == api.api_type):
            continue
        holder = holders.get(api.api_type)
        if holder is None or holder == slug or holder in freed:
            continue
        if holder in desired.custom_apis:
            how = "declared in these files with it too"
        else:
            how = (
                "not in these files; if this is that API under a new slug, say "
                f"`renamed_from: [{holder}]` (a rename keeps its entries)"
            )
        problems.append(
            f"{_where(api, 'api_type')}: `{api.api_type}` is already the api_type of the live "
            f"Custom API `{holder}` ({how})"
        )
    if problems:
        raise PlanError(
            "api_type must be unique in a store, nothing was written:\n  " + "\n  ".join(problems)
        )


def check_renames(desired: State, live: State, renames: Mapping[str, str]) -> None:
    """A renamed Custom API keeps its api_type (set at creation only)."""
    problems = [
        f"{_where(desired.custom_apis[new], 'renamed_from')}: `{old}` has api_type "
        f"`{live.custom_apis[old].api_type}`, not `{desired.custom_apis[new].api_type}`"
        for new, old in sorted(renames.items())
        if live.custom_apis[old].api_type != desired.custom_apis[new].api_type
    ]
    if problems:
        raise PlanError(
            "a Custom API keeps its api_type through a rename (set at creation only); rename "
            "it first, then change the api_type (a replace):\n  " + "\n  ".join(problems)
        )


def plan_custom_apis(desired: State, live: State) -> CustomPlan:
    """The operations for the declared Custom APIs (unordered: the planner orders them)."""
    check_rename_targets(desired, live)
    renames = api_renames(desired, live)
    check_renames(desired, live, renames)
    # Compared as the plan leaves them: a renamed API under its new slug (parents too).
    live = State(flows=live.flows, custom_apis=renamed_view(live.custom_apis, renames))
    check_parents(desired, live, renames)
    check_parent_graph(desired, live)
    check_api_types(desired, live)
    out = CustomPlan()
    for slug, api in sorted(desired.custom_apis.items()):
        live_api = live.custom_apis.get(slug)
        if api.absent:
            if live_api is not None:
                _delete_api(out, live_api, desired, live)
        elif live_api is None:
            _create_api(out, api, live, OpKind.CREATE_CUSTOM_API)
        elif api.api_type != live_api.api_type:
            _replace_api(out, api, live_api, desired, live)
        else:
            _update_api(out, api, live_api, live, renames.get(slug))
            _plan_fields(out, api, live_api)
    return out


def _parent_ids(api: CustomApi, live: State) -> dict[str, str]:
    ids = {}
    for parent in api.parent_apis:
        found = live.custom_apis.get(parent)
        if found is not None and found.id is not None:
            ids[parent] = found.id
    return ids


def _create_api(out: CustomPlan, api: CustomApi, live: State, kind: OpKind) -> None:
    if kind is OpKind.CREATE_CUSTOM_API:
        out.add(
            Operation(kind, api.slug, after=api_attributes(api), parent_ids=_parent_ids(api, live)),
            absent=[custom_api_key(api.slug)],
        )
    for custom_field in sorted(api.fields.values(), key=lambda f: f.slug):
        if not custom_field.absent:
            _create_field(out, api.slug, custom_field, None, new_api=True)


def _children_kept(slug: str, desired: State, live: State) -> list[str]:
    """The Custom APIs that still name `slug` as a parent after the plan: the store refuses
    to delete a parent (409)."""
    return sorted(
        child
        for child, parents in _final_parents(desired, live).items()
        if child != slug and slug in parents
    )


def _children_listed(children: Sequence[str], desired: State) -> str:
    """Each child where it names the parent: its `parent_apis` in the files, else live."""
    lines = []
    for child in children:
        declared = desired.custom_apis.get(child)
        if declared is not None:
            lines.append(f"{_where(declared, 'parent_apis')}: names it as a parent")
        else:
            lines.append(f"Custom API {child} (live, not in the files) names it as a parent")
    return "\n  " + "\n  ".join(lines)


def _delete_api(out: CustomPlan, live_api: CustomApi, desired: State, live: State) -> None:
    children = _children_kept(live_api.slug, desired, live)
    if children:
        declared = desired.custom_apis[live_api.slug]
        raise PlanError(
            f"{_where(declared, 'state')}: Custom API {live_api.slug} is marked `state: "
            "absent`, but it is the parent of "
            + ", ".join(children)
            + " (the store refuses to delete a parent). Remove it from their parent_apis "
            "first, or delete them too:" + _children_listed(children, desired)
        )
    count = len(live_api.fields)
    out.add(
        Operation(
            OpKind.DELETE_CUSTOM_API,
            live_api.slug,
            id=live_api.id,
            before=api_attributes(live_api),
            safety=Safety.DESTRUCTIVE,
            reasons=(
                f"the Custom API, its {count} field{'s' if count != 1 else ''} and its entries "
                "are deleted (state: absent)",
            ),
        ),
        touched={
            custom_api_key(live_api.slug): api_fingerprint(live_api),
            custom_fields_key(live_api.slug): fields_fingerprint(live_api),
        },
    )


def _replace_api(
    out: CustomPlan, api: CustomApi, live_api: CustomApi, desired: State, live: State
) -> None:
    children = _children_kept(api.slug, desired, live)
    if children:
        raise PlanError(
            f"{_where(api, 'api_type')}: Custom API {api.slug}: api_type changes "
            f"{live_api.api_type} -> {api.api_type}, which replaces it (set at creation only), "
            "but it is the parent of "
            + ", ".join(children)
            + ". Remove it from their parent_apis first, or keep its api_type:"
            + _children_listed(children, desired)
        )
    before, after = api_attributes(live_api), api_attributes(api)
    out.add(
        Operation(
            OpKind.REPLACE_CUSTOM_API,
            api.slug,
            id=live_api.id,
            before=before,
            after=after,
            changes=_changes(before, after, API_ATTRIBUTES),
            safety=Safety.DESTRUCTIVE,
            reasons=(
                f"api_type changes {live_api.api_type} -> {api.api_type} (set at creation "
                "only): the Custom API is deleted and created again with its fields, its "
                "entries are lost",
            ),
            parent_ids=_parent_ids(api, live),
        ),
        touched={
            custom_api_key(api.slug): api_fingerprint(live_api),
            custom_fields_key(api.slug): fields_fingerprint(live_api),
        },
    )
    _create_api(out, api, live, OpKind.REPLACE_CUSTOM_API)


def _update_api(
    out: CustomPlan, api: CustomApi, live_api: CustomApi, live: State, renamed_from: str | None
) -> None:
    before, after = api_attributes(live_api), api_attributes(api)
    changes = _changes(before, after, API_ATTRIBUTES)
    if renamed_from is not None:
        changes = (AttributeChange("slug", renamed_from, api.slug), *changes)
    if not changes:
        return
    reasons = []
    if renamed_from is not None:
        reasons.append(
            f"renamed from {renamed_from}: its entries move to /v2/extensions/{api.slug} "
            f"(clients using /v2/extensions/{renamed_from} lose them); its fields and entries "
            "are kept"
        )
    if before["allow_upserts"] and not after["allow_upserts"]:
        reasons.append("allow_upserts turns off: a PUT of an entry that does not exist fails")
    if before["parent_apis"] != after["parent_apis"]:
        reasons.append("parent_apis change: the places the API's entries are reached from")
    out.add(
        Operation(
            OpKind.RENAME_CUSTOM_API if renamed_from is not None else OpKind.UPDATE_CUSTOM_API,
            api.slug,
            id=live_api.id,
            before=before,
            after=after,
            changes=changes,
            safety=Safety.RISKY if reasons else Safety.SAFE,
            reasons=tuple(reasons),
            parent_ids=_parent_ids(api, live),
            from_slug=renamed_from,
        ),
        touched={custom_api_key(api.slug): api_fingerprint(live_api)},
    )


# -- fields -----------------------------------------------------------------------------------


def _plan_fields(out: CustomPlan, api: CustomApi, live_api: CustomApi) -> None:
    renames = _renames(api, live_api)
    claimed = set(renames.values())
    for slug, custom_field in sorted(api.fields.items()):
        live_field = live_api.fields.get(slug)
        if custom_field.absent:
            if live_field is not None and slug not in claimed:
                _delete_field(out, live_api, live_field)
        elif slug in renames:
            _change_field(out, live_api, custom_field, live_api.fields[renames[slug]])
        elif live_field is None:
            _create_field(out, api.slug, custom_field, live_api.id, new_api=False)
        else:
            _change_field(out, live_api, custom_field, live_field)
    for slug in sorted(live_api.fields):
        if slug not in api.fields and slug not in claimed:
            out.unmanaged.append(custom_field_key(api.slug, slug))


def _renames(api: CustomApi, live_api: CustomApi) -> dict[str, str]:
    """Desired slug -> the live slug it continues (`renamed_from`, first that applies)."""
    found: dict[str, str] = {}
    for slug, custom_field in sorted(api.fields.items()):
        if custom_field.absent or slug in live_api.fields:
            continue
        for old in custom_field.renamed_from:
            declared = api.fields.get(old)
            free = declared is None or declared.absent
            if old in live_api.fields and free and old not in found.values():
                found[slug] = old
                break
    return found


def _create_field(
    out: CustomPlan, api_slug: str, custom_field: CustomField, api_id: str | None, *, new_api: bool
) -> None:
    after = field_attributes(custom_field)
    rules = after["validation"].get(custom_field.field_type, {})
    safety, reasons = Safety.SAFE, tuple[str, ...]()
    if not new_api and rules.get("allow_null_values") is False:
        safety = Safety.RISKY
        reasons = ("new field allows no null value: creating entries without it fails",)
    out.add(
        Operation(
            OpKind.CREATE_CUSTOM_FIELD,
            api_slug,
            custom_field.slug,
            flow_id=api_id,
            after=after,
            safety=safety,
            reasons=reasons,
        ),
        absent=[] if new_api else [custom_field_key(api_slug, custom_field.slug)],
    )


def _change_field(
    out: CustomPlan, live_api: CustomApi, custom_field: CustomField, live_field: CustomField
) -> None:
    before, after = field_attributes(live_field), field_attributes(custom_field)
    # JSON Schemas compare as JSON values: one only re-formatted is no change (follow-up D).
    changes = _changes(
        comparable_field_attributes(before), comparable_field_attributes(after), FIELD_ATTRIBUTES
    )
    renamed = live_field.slug != custom_field.slug
    if renamed:
        changes = (AttributeChange("slug", live_field.slug, custom_field.slug), *changes)
    if not changes:
        return
    create_only = create_only_changes(before, after)
    if create_only:
        kind, safety = OpKind.REPLACE_CUSTOM_FIELD, Safety.DESTRUCTIVE
        reasons: tuple[str, ...] = (
            f"{create_only} (set at creation only): the field is deleted and created again, "
            "its values are lost",
        )
    else:
        kind = OpKind.RENAME_CUSTOM_FIELD if renamed else OpKind.UPDATE_CUSTOM_FIELD
        reasons = tuple(tightening_reasons(before, after))
        if renamed:
            reasons = (f"renamed from {live_field.slug}: clients reading the old key lose it",)
            reasons += tuple(tightening_reasons(before, after))
        safety = Safety.RISKY if reasons else Safety.SAFE
    key = custom_field_key(live_api.slug, live_field.slug)
    out.add(
        Operation(
            kind,
            live_api.slug,
            custom_field.slug,
            id=live_field.id,
            flow_id=live_api.id,
            before=before,
            after=after,
            changes=changes,
            safety=safety,
            reasons=reasons,
            from_slug=live_field.slug if renamed else None,
        ),
        touched={key: field_fingerprint(live_field)},
        absent=[custom_field_key(live_api.slug, custom_field.slug)] if renamed else [],
    )


def _delete_field(out: CustomPlan, live_api: CustomApi, live_field: CustomField) -> None:
    out.add(
        Operation(
            OpKind.DELETE_CUSTOM_FIELD,
            live_api.slug,
            live_field.slug,
            id=live_field.id,
            flow_id=live_api.id,
            before=field_attributes(live_field),
            safety=Safety.DESTRUCTIVE,
            reasons=("the field and its values in every entry are deleted (state: absent)",),
        ),
        touched={custom_field_key(live_api.slug, live_field.slug): field_fingerprint(live_field)},
    )


def check_url_slug_entries(
    plan: Plan, counts: Mapping[str, int], desired: State | None = None
) -> None:
    """SPEC use_as_url_slug: "no entries have been created yet". Creating (or re-creating) a
    field with it in a Custom API that holds entries fails in the store, after a replace has
    deleted the old field: refused while planning (issue 14 follow-up A)."""
    problems = []
    for op in plan.operations:
        if op.flow_slug not in plan.url_slug_custom_apis or op.field_slug is None:
            continue
        if not (op.after or {}).get("use_as_url_slug") or not counts.get(op.flow_slug):
            continue
        count = counts[op.flow_slug]
        api = None if desired is None else desired.custom_apis.get(op.flow_slug)
        declared = None if api is None else api.fields.get(op.field_slug)
        path = f"custom_apis.{op.flow_slug}.fields.{op.field_slug}.use_as_url_slug"
        where = (
            path
            if declared is None or declared.location is None
            else (f"{declared.location}: {path}")
        )
        problems.append(
            f"{where}: Custom API {op.flow_slug} holds {count} entr"
            f"{'y' if count == 1 else 'ies'} ({op.describe()})"
        )
    if problems:
        raise PlanError(
            "use_as_url_slug can be set only while a Custom API holds no entries (section "
            "10), so the store would refuse this field after the plan started; nothing was "
            "written:\n  "
            + "\n  ".join(problems)
            + "\nDeclare the field without use_as_url_slug, or delete the entries first."
        )


def create_only_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> str:
    """`field_type changes string -> integer`, ... for the create-only attributes that differ
    (facts.FIELD_CREATE_ONLY); empty when none does."""
    found = []
    for path in facts.FIELD_CREATE_ONLY:
        old, new = _at(before, path), _at(after, path)
        if path[0] == "validation" and before["field_type"] != after["field_type"]:
            continue  # the type's change says it all
        if old != new:
            found.append(f"{'.'.join(path)} changes {_show(old)} -> {_show(new)}")
    return "; ".join(found)


def tightening_reasons(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """Validation that refuses more than before (SPEC: applies to new writes only)."""
    field_type = str(after["field_type"])
    old = comparable_field_attributes(before)["validation"].get(field_type, {})
    new = comparable_field_attributes(after)["validation"].get(field_type, {})
    found = []
    for key in _TIGHTER_LOW:
        if new.get(key) is not None and (old.get(key) is None or new[key] > old[key]):
            found.append(f"{key} {_show(old.get(key))} -> {_show(new[key])}")
    for key in _TIGHTER_HIGH:
        if new.get(key) is not None and (old.get(key) is None or new[key] < old[key]):
            found.append(f"{key} {_show(old.get(key))} -> {_show(new[key])}")
    for key in ("regex", "json_schema"):
        if new.get(key) is not None and new.get(key) != old.get(key):
            found.append(f"{key} {'added' if old.get(key) is None else 'changes'}")
    if old.get("allow_null_values", True) and new.get("allow_null_values") is False:
        found.append("null values no longer allowed")
    if not old.get("immutable") and new.get("immutable"):
        found.append("values become immutable")
    if not found:
        return []
    return [
        "validation tightens ("
        + ", ".join(found)
        + "): it applies to new writes only; existing entries are not checked"
    ]


def _changes(
    before: Mapping[str, Any], after: Mapping[str, Any], order: Sequence[str]
) -> tuple[AttributeChange, ...]:
    from provisioner.attrdiff import attribute_changes  # the flows' diff, one implementation

    return attribute_changes(before, after, order)


def _at(value: Any, path: Sequence[str]) -> Any:
    for part in path:
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def _show(value: Any) -> str:
    import json

    return json.dumps(value, ensure_ascii=False)
