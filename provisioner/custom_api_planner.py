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
    field_attributes,
)
from provisioner.epcc import custom_apis as facts
from provisioner.errors import PlanError
from provisioner.keys import custom_api_key, custom_field_key, custom_fields_key
from provisioner.model import State
from provisioner.plan import AttributeChange, Operation, OpKind, Safety

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


def check_parents(desired: State, live: State) -> None:
    """Refuse parents that neither the files nor the store hold (validate could not know)."""
    missing = [
        f"{slug} -> {parent}"
        for slug, api in sorted(desired.custom_apis.items())
        if not api.absent
        for parent in api.parent_apis
        if parent != facts.API_LOCATION_ID
        and parent not in desired.custom_apis
        and parent not in live.custom_apis
    ]
    if missing:
        raise PlanError(
            "parent Custom APIs that are neither declared in the files nor in the store: "
            + ", ".join(missing)
            + ". Declare them, or name a Custom API that exists."
        )


def plan_custom_apis(desired: State, live: State) -> CustomPlan:
    """The operations for the declared Custom APIs (unordered: the planner orders them)."""
    check_parents(desired, live)
    out = CustomPlan()
    for slug, api in sorted(desired.custom_apis.items()):
        live_api = live.custom_apis.get(slug)
        if api.absent:
            if live_api is not None:
                _delete_api(out, live_api)
        elif live_api is None:
            _create_api(out, api, live, OpKind.CREATE_CUSTOM_API)
        elif api.api_type != live_api.api_type:
            _replace_api(out, api, live_api, desired, live)
        else:
            _update_api(out, api, live_api, live)
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


def _delete_api(out: CustomPlan, live_api: CustomApi) -> None:
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
    children = sorted(
        slug
        for slug, other in live.custom_apis.items()
        if api.slug in other.parent_apis
        and not (slug in desired.custom_apis and desired.custom_apis[slug].absent)
    )
    if children:
        raise PlanError(
            f"Custom API {api.slug}: api_type changes {live_api.api_type} -> {api.api_type}, "
            "which replaces it (set at creation only), but it is the parent of "
            + ", ".join(children)
            + ". Remove it from their parent_apis first, or keep its api_type."
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


def _update_api(out: CustomPlan, api: CustomApi, live_api: CustomApi, live: State) -> None:
    before, after = api_attributes(live_api), api_attributes(api)
    changes = _changes(before, after, API_ATTRIBUTES)
    if not changes:
        return
    reasons = []
    if before["allow_upserts"] and not after["allow_upserts"]:
        reasons.append("allow_upserts turns off: a PUT of an entry that does not exist fails")
    if before["parent_apis"] != after["parent_apis"]:
        reasons.append("parent_apis change: the places the API's entries are reached from")
    out.add(
        Operation(
            OpKind.UPDATE_CUSTOM_API,
            api.slug,
            id=live_api.id,
            before=before,
            after=after,
            changes=changes,
            safety=Safety.RISKY if reasons else Safety.SAFE,
            reasons=tuple(reasons),
            parent_ids=_parent_ids(api, live),
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
    changes = _changes(before, after, FIELD_ATTRIBUTES)
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
    old = before["validation"].get(field_type, {})
    new = after["validation"].get(field_type, {})
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
