"""The planner's part for a Custom API's fields (issue 14): create, change, rename, delete.

Fields match by (API slug, field slug), compared in canonical form (`custom_api_model`; JSON
Schemas as JSON values). A change to a create-only attribute (a field's `field_type`,
`use_as_url_slug`, string `unique` and `unique_case_insensitivity`, list `allowed_type`) is a
replace, destructive (`create_only_changes`); `renamed_from` naming a live slug of the same API
renames the field (one PUT keeps its ID and values); tightening validation is risky: it
applies to new writes only, existing entries are not checked (`tightening_reasons`, SPEC
"Validation"); live fields the files omit are unmanaged.

Pure: no I/O. The Custom APIs themselves are `custom_api_planner.py`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from provisioner.attrdiff import attribute_changes  # the flows' diff, one implementation
from provisioner.custom_api_fingerprints import field_fingerprint
from provisioner.custom_api_model import (
    FIELD_ATTRIBUTES,
    CustomApi,
    CustomField,
    comparable_field_attributes,
    continued_slugs,
    field_attributes,
)
from provisioner.epcc import custom_apis as facts
from provisioner.keys import custom_field_key
from provisioner.plan import AttributeChange, Operation, OpKind, PlanParts, Safety

__all__ = ["create_field", "create_only_changes", "plan_fields", "tightening_reasons"]

_TIGHTER_LOW = ("min_length", "min_value")
_TIGHTER_HIGH = ("max_length", "max_value")


def plan_fields(out: PlanParts, api: CustomApi, live_api: CustomApi) -> None:
    renames = continued_slugs(api.fields, live_api.fields)
    claimed = set(renames.values())
    for slug, custom_field in sorted(api.fields.items()):
        live_field = live_api.fields.get(slug)
        if custom_field.absent:
            if live_field is not None and slug not in claimed:
                _delete_field(out, live_api, live_field)
        elif slug in renames:
            _change_field(out, live_api, custom_field, live_api.fields[renames[slug]])
        elif live_field is None:
            create_field(out, api.slug, custom_field, live_api.id, new_api=False)
        else:
            _change_field(out, live_api, custom_field, live_field)
    for slug in sorted(live_api.fields):
        if slug not in api.fields and slug not in claimed:
            out.unmanaged.append(custom_field_key(api.slug, slug))


def create_field(
    out: PlanParts, api_slug: str, custom_field: CustomField, api_id: str | None, *, new_api: bool
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
    out: PlanParts, live_api: CustomApi, custom_field: CustomField, live_field: CustomField
) -> None:
    before, after = field_attributes(live_field), field_attributes(custom_field)
    # JSON Schemas compare as JSON values: one only re-formatted is no change (follow-up D).
    changes = attribute_changes(
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


def _delete_field(out: PlanParts, live_api: CustomApi, live_field: CustomField) -> None:
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


def _at(value: Any, path: Sequence[str]) -> Any:
    for part in path:
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def _show(value: Any) -> str:
    import json

    return json.dumps(value, ensure_ascii=False)
