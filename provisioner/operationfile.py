"""Reading one operation of a plan file, strictly (issue 10 item 2): every required key for
its kind, no unknown kind; a malformed operation is one `PlanFormatError` naming it and the key.
Safety is never taken from the file where it can be derived.

The body a create or update would send is checked on load against the facts `validate` and the
planner use, and `changes` against `before` and `after` (`operationcontent.ContentChecks`): a
key the API requires and the client does not fill with the API's default, a value of the wrong
JSON type, an unknown field type or `api_type` are one error before any request, never a 422
half-way (issue 10 follow-up). Other rules (a blank name, say) stay the store's to judge, as
for any plan the planner makes. Pure."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from provisioner.errors import PlanFormatError
from provisioner.operationcontent import ContentChecks
from provisioner.operations import (
    CREATE_KINDS,
    DELETE_KINDS,
    AttributeChange,
    Operation,
    OpKind,
    Safety,
)


class _OperationReader(ContentChecks):
    """Reads one operation of a plan file; every problem names the operation (`label`)."""

    def __init__(self, index: int, data: Mapping[str, Any]) -> None:
        self.data = data
        where = f"operations[{index}]"
        kind_value = data.get("kind")
        try:
            self.kind = OpKind(str(kind_value))
        except ValueError:
            known = ", ".join(k.value for k in OpKind)
            raise PlanFormatError(
                f"malformed plan: {where}: unknown kind {kind_value!r} (expected one of {known})"
            ) from None
        owner_key = "custom_api" if self.kind.custom else "flow"
        flow_slug = data.get(owner_key)
        if not isinstance(flow_slug, str) or not flow_slug:
            raise PlanFormatError(
                f"malformed plan: {where} ({self.kind.value}): `{owner_key}` must be a slug"
            )
        self.flow_slug = flow_slug
        field_slug = data.get("field")
        named = f".{field_slug}" if isinstance(field_slug, str) and field_slug else ""
        self.label = f"{where} ({self.kind.value} {flow_slug}{named})"

    @property
    def slug_key(self) -> str:
        """The key naming the object an operation creates or changes."""
        return "field" if self.kind.on_field else ("custom_api" if self.kind.custom else "flow")

    def fail(self, message: str) -> PlanFormatError:
        return PlanFormatError(f"malformed plan: {self.label}: {message}")

    def text(self, key: str, *, required: bool) -> str | None:
        value = self.data.get(key)
        if value is None and not required:
            return None
        if not isinstance(value, str) or not value:
            raise self.fail(f"`{key}` must be a non-empty string (got {json.dumps(value)})")
        return value

    def attributes(self, key: str, *, required: bool) -> Mapping[str, Any] | None:
        value = self.data.get(key)
        if value is None and not required:
            return None
        if not isinstance(value, dict):
            raise self.fail(f"`{key}` must be an object of attributes (got {json.dumps(value)})")
        return value

    def check_shape(self) -> None:
        """The field a field operation names, the action matching the kind."""
        kind = self.kind
        if kind.on_field:
            self.text("field", required=True)
        elif self.data.get("field") is not None:
            raise self.fail("`field` must be null for a flow operation")
        action = self.data.get("action")
        if action is not None and action != kind.action.value:
            raise self.fail(
                f"`action` {action!r} does not match the kind (expected {kind.action.value!r})"
            )

    def after(self) -> Mapping[str, Any] | None:
        kind = self.kind
        after = self.attributes("after", required=kind not in DELETE_KINDS)
        if kind in (
            OpKind.CREATE_FIELD,
            OpKind.REPLACE_FIELD,
            OpKind.MIGRATE_FIELD,
            OpKind.CREATE_CUSTOM_FIELD,
            OpKind.REPLACE_CUSTOM_FIELD,
        ):
            assert after is not None
            field_type = after.get("field_type")
            if not isinstance(field_type, str) or not field_type:
                raise self.fail("`after.field_type` is required to create a field")
        return after

    def changes(self) -> tuple[AttributeChange, ...]:
        raw_changes = self.data.get("changes", [])
        if not isinstance(raw_changes, list) or not all(
            isinstance(c, Mapping) and isinstance(c.get("path"), str) for c in raw_changes
        ):
            raise self.fail("`changes` must be a list of {path, before, after}")
        updates = (OpKind.UPDATE_FLOW, OpKind.UPDATE_FIELD, OpKind.UPDATE_CUSTOM_API)
        if self.kind in (*updates, OpKind.UPDATE_CUSTOM_FIELD) and not raw_changes:
            raise self.fail("an update must list its `changes`")
        return tuple(
            AttributeChange(path=str(c["path"]), before=c.get("before"), after=c.get("after"))
            for c in raw_changes
        )

    def reasons(self) -> tuple[str, ...]:
        reasons = self.data.get("reasons", [])
        if not isinstance(reasons, list) or not all(isinstance(r, str) for r in reasons):
            raise self.fail("`reasons` must be a list of strings")
        return tuple(reasons)

    def safety(self) -> Safety:
        try:
            safety = Safety(self.data.get("safety", "safe"))
        except ValueError:
            raise self.fail(f"unknown safety {self.data.get('safety')!r}") from None
        # Derived from the kind, whatever the file says.
        return Safety.DESTRUCTIVE if self.kind.destructive else safety

    def parent_ids(self) -> dict[str, str]:
        """A Custom API operation's parents by slug -> live ID."""
        parent_ids = self.data.get("parent_ids", {}) if self.kind.custom else {}
        if not isinstance(parent_ids, dict) or not all(
            isinstance(v, str) and v for v in parent_ids.values()
        ):
            raise self.fail("`parent_ids` must map parent slugs to IDs")
        return {str(k): v for k, v in parent_ids.items()}


def operation_from_dict(index: int, data: Any) -> Operation:
    """One operation of a plan file; `index` locates it in the error."""
    if not isinstance(data, Mapping):
        raise PlanFormatError(f"malformed plan: operations[{index}] is not an object")
    read = _OperationReader(index, data)
    kind = read.kind
    read.check_shape()
    object_id = read.text("id", required=kind not in CREATE_KINDS)
    after = read.after()
    before = read.attributes("before", required=False)
    renames = (OpKind.RENAME_FIELD, OpKind.RENAME_CUSTOM_FIELD, OpKind.RENAME_CUSTOM_API)
    from_slug = read.text("from_slug", required=kind in renames)
    if kind is OpKind.MIGRATE_FIELD:
        assert after is not None
        read.check_migration(before, after, from_slug)
    read.check_known_keys("after", after)
    read.check_known_keys("before", before)
    read.check_body(after)
    changes = read.changes()
    read.check_changes(before, after, changes, from_slug)
    reasons = read.reasons()
    safety = read.safety()
    return Operation(
        kind=kind,
        flow_slug=read.flow_slug,
        field_slug=data.get("field") if kind.on_field else None,
        id=object_id,
        flow_id=read.text("custom_api_id" if kind.custom else "flow_id", required=False),
        before=before,
        after=after,
        changes=changes,
        safety=safety,
        reasons=reasons,
        from_slug=from_slug,
        from_flow_slug=None if kind.custom else read.text("from_flow", required=False),
        parent_ids=read.parent_ids(),
    )


def check_flow_ids(operations: tuple[Operation, ...]) -> None:
    """A field created into a flow needs that flow's ID, or the flow's creation in the plan."""
    created = {op.flow_slug for op in operations if op.kind is OpKind.CREATE_FLOW}
    apis = {
        op.flow_slug
        for op in operations
        if op.kind in (OpKind.CREATE_CUSTOM_API, OpKind.REPLACE_CUSTOM_API)
    }
    for index, op in enumerate(operations):
        custom_create = op.kind in (OpKind.CREATE_CUSTOM_FIELD, OpKind.REPLACE_CUSTOM_FIELD)
        if custom_create and op.flow_id is None and op.flow_slug not in apis:
            raise PlanFormatError(
                f"malformed plan: operations[{index}] ({op.kind.value} {op.address}): "
                f"`custom_api_id` is required (the plan does not create Custom API "
                f"{op.flow_slug})"
            )
        if op.kind not in (OpKind.CREATE_FIELD, OpKind.REPLACE_FIELD, OpKind.MIGRATE_FIELD):
            continue
        if op.flow_id is None and op.flow_slug not in created:
            raise PlanFormatError(
                f"malformed plan: operations[{index}] ({op.kind.value} {op.address}): "
                f"`flow_id` is required (the plan does not create flow {op.flow_slug})"
            )
