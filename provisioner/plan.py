"""The Plan: an immutable, ordered tuple of operations (`provisioner.operations`), and its JSON
form.

A Plan serialises to JSON (`--format json`, `plan --out`) and back; the JSON format is
versioned by `PLAN_FORMAT_VERSION` and documented in README.md ("Plan JSON format").

`fingerprints` maps the key of every object the plan touches (`provisioner.keys`: `flow:SLUG`,
`field:FLOW.SLUG`) to a digest of its live form, or to None when the plan expects it not to
exist; apply of a saved plan compares them with the store before doing anything. A flow the
plan deletes also records what the deletion destroys: `fields:SLUG`, a digest of its set of
fields, and `entries:SLUG`, the number of its entries (read by the command, not the planner).

`Plan.from_dict` reads a plan file strictly (issue 10 item 2): the version, every operation's
required keys for its kind, no unknown kind; a malformed file is one `PlanFormatError` naming
the operation and the key. Safety is never taken from the file where it can be derived:
deletes and replaces are destructive whatever the file says.

Pure: no I/O.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from provisioner.errors import PlanFormatError
from provisioner.keys import entries_key, field_key, fields_key, flow_key
from provisioner.operations import (
    CREATE_KINDS,
    DELETE_KINDS,
    Action,
    AttributeChange,
    Operation,
    OpKind,
    Safety,
)

__all__ = [
    "PLAN_FORMAT_VERSION",
    "Action",
    "AttributeChange",
    "OpKind",
    "Operation",
    "Plan",
    "Safety",
    "entries_key",
    "field_key",
    "fields_key",
    "fingerprint",
    "flow_key",
]

PLAN_FORMAT_VERSION = 1
# Issue 14: a plan holding Custom API operations (their kinds, `custom_api`, `custom_api_id`,
# `parent_ids`) is version 2; a plan of flows alone keeps the version 1 shape and number.
CUSTOM_API_PLAN_FORMAT_VERSION = 2
KNOWN_FORMAT_VERSIONS = (PLAN_FORMAT_VERSION, CUSTOM_API_PLAN_FORMAT_VERSION)


@dataclass(frozen=True)
class Plan:
    """An ordered tuple of operations; the whole output of the planner."""

    operations: tuple[Operation, ...] = ()
    unmanaged: tuple[str, ...] = ()
    fingerprints: Mapping[str, str | None] = field(default_factory=dict)
    # Keys of organization-owned live objects a store-level apply leaves alone (ownership.py).
    owned_elsewhere: tuple[str, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not self.operations

    @property
    def destructive(self) -> tuple[Operation, ...]:
        """Operations that lose data: by their kind (deletes, replaces), or so classed."""
        return tuple(
            op for op in self.operations if op.kind.destructive or op.safety is Safety.DESTRUCTIVE
        )

    @property
    def deleted_flows(self) -> tuple[str, ...]:
        """Slugs of the flows this plan deletes."""
        return tuple(op.flow_slug for op in self.operations if op.kind is OpKind.DELETE_FLOW)

    @property
    def deleted_custom_apis(self) -> tuple[str, ...]:
        """Slugs of the Custom APIs this plan deletes or replaces (their entries are lost)."""
        kinds = (OpKind.DELETE_CUSTOM_API, OpKind.REPLACE_CUSTOM_API)
        return tuple(op.flow_slug for op in self.operations if op.kind in kinds)

    @property
    def has_custom_apis(self) -> bool:
        return any(op.kind.custom for op in self.operations) or any(
            key.startswith("custom_") for key in (*self.unmanaged, *self.fingerprints)
        )

    def with_fingerprints(self, extra: Mapping[str, str | None]) -> Plan:
        """The same plan recording more fingerprints (e.g. the entry counts of deleted flows)."""
        merged = {**self.fingerprints, **extra}
        return Plan(
            operations=self.operations,
            unmanaged=self.unmanaged,
            fingerprints=dict(sorted(merged.items())),
            owned_elsewhere=self.owned_elsewhere,
        )

    def counts(self) -> dict[str, int]:
        """Counts for the summary line: create, update (incl. rename), replace, delete."""
        counts = {"create": 0, "update": 0, "replace": 0, "delete": 0}
        for op in self.operations:
            action = op.action
            if action is Action.CREATE:
                counts["create"] += 1
            elif action in (Action.UPDATE, Action.RENAME):
                counts["update"] += 1
            elif action is Action.REPLACE:
                counts["replace"] += 1
            else:
                counts["delete"] += 1
        return counts

    def summary(self) -> str:
        c = self.counts()
        if self.is_empty:
            return "No changes. The store matches the configuration."
        return (
            f"Plan: {c['create']} to create, {c['update']} to update, "
            f"{c['replace']} to replace, {c['delete']} to delete."
        )

    # -- JSON -------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        custom = self.has_custom_apis
        data: dict[str, Any] = {
            "format_version": CUSTOM_API_PLAN_FORMAT_VERSION if custom else PLAN_FORMAT_VERSION,
            "summary": self.counts(),
            "operations": [_operation_to_dict(op) for op in self.operations],
            "unmanaged": list(self.unmanaged),
            "fingerprints": dict(sorted(self.fingerprints.items())),
        }
        if self.owned_elsewhere:  # added in a backwards-compatible way: only when there are
            data["owned_elsewhere"] = list(self.owned_elsewhere)
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=False, ensure_ascii=False) + "\n"

    def to_saved_json(self) -> str:
        """The plan as `plan --out` saves it: the same JSON document as `to_json`, written
        compactly, one operation per line (issue 16: a plan of 25,500 creates was 17.75 MiB
        indented). `from_json` reads either."""
        data = self.to_dict()
        compact = {"separators": (",", ":"), "ensure_ascii": False}
        head = {key: value for key, value in data.items() if key != "operations"}
        lines = [json.dumps(op, **compact) for op in data["operations"]]  # type: ignore[arg-type]
        parts = [f"{json.dumps(key)}:{json.dumps(value, **compact)}" for key, value in head.items()]  # type: ignore[arg-type]
        operations = '"operations":[\n' + ",\n".join(lines) + "\n]"
        return "{" + ",\n".join([*parts[:2], operations, *parts[2:]]) + "}\n"

    @classmethod
    def from_dict(cls, data: Any) -> Plan:
        """A plan from its JSON form, checked strictly: any problem is one `PlanFormatError`."""
        if not isinstance(data, dict):
            raise PlanFormatError("not a plan: expected a JSON object")
        version = data.get("format_version")
        if version not in KNOWN_FORMAT_VERSIONS or isinstance(version, bool):
            known = " or ".join(str(v) for v in KNOWN_FORMAT_VERSIONS)
            raise PlanFormatError(f"unsupported plan format_version {version!r} (expected {known})")
        raw_operations = data.get("operations")
        if not isinstance(raw_operations, list):
            raise PlanFormatError("malformed plan: `operations` is missing (expected a list)")
        operations = tuple(
            _operation_from_dict(index, op) for index, op in enumerate(raw_operations)
        )
        custom = next((op for op in operations if op.kind.custom), None)
        if custom is not None and version != CUSTOM_API_PLAN_FORMAT_VERSION:
            raise PlanFormatError(
                f"malformed plan: {custom.kind.value} needs format_version "
                f"{CUSTOM_API_PLAN_FORMAT_VERSION} (the plan says {version})"
            )
        unmanaged = data.get("unmanaged", [])
        if not isinstance(unmanaged, list) or not all(isinstance(k, str) for k in unmanaged):
            raise PlanFormatError("malformed plan: `unmanaged` must be a list of strings")
        fingerprints = data.get("fingerprints", {})
        if not isinstance(fingerprints, dict) or not all(
            isinstance(v, str | None) for v in fingerprints.values()
        ):
            raise PlanFormatError(
                "malformed plan: `fingerprints` must map object keys to strings or null"
            )
        owned = data.get("owned_elsewhere", [])
        if not isinstance(owned, list) or not all(isinstance(k, str) for k in owned):
            raise PlanFormatError("malformed plan: `owned_elsewhere` must be a list of strings")
        _check_flow_ids(operations)
        return cls(
            operations=operations,
            unmanaged=tuple(unmanaged),
            fingerprints={str(k): v for k, v in fingerprints.items()},
            owned_elsewhere=tuple(owned),
        )

    @classmethod
    def from_json(cls, text: str) -> Plan:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise PlanFormatError(f"not a plan: invalid JSON ({error})") from error
        return cls.from_dict(data)


def fingerprint(value: Any) -> str:
    """A stable digest of a JSON-able value (used for live objects in saved plans)."""
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def _operation_to_dict(op: Operation) -> dict[str, Any]:
    if op.kind.custom:
        return _custom_operation_to_dict(op)
    return {
        "action": op.action.value,
        "kind": op.kind.value,
        "address": op.address,
        "flow": op.flow_slug,
        "field": op.field_slug,
        "from_slug": op.from_slug,
        "from_flow": op.from_flow_slug,
        "id": op.id,
        "flow_id": op.flow_id,
        "safety": op.safety.value,
        "reasons": list(op.reasons),
        "changes": [{"path": c.path, "before": c.before, "after": c.after} for c in op.changes],
        "before": None if op.before is None else dict(op.before),
        "after": None if op.after is None else dict(op.after),
    }


def _custom_operation_to_dict(op: Operation) -> dict[str, Any]:
    """A Custom API operation: `custom_api`/`custom_api_id` name the API (format version 2)."""
    return {
        "action": op.action.value,
        "kind": op.kind.value,
        "address": op.address,
        "custom_api": op.flow_slug,
        "field": op.field_slug,
        "from_slug": op.from_slug,
        "id": op.id,
        "custom_api_id": op.flow_id,
        "parent_ids": dict(sorted(op.parent_ids.items())),
        "safety": op.safety.value,
        "reasons": list(op.reasons),
        "changes": [{"path": c.path, "before": c.before, "after": c.after} for c in op.changes],
        "before": None if op.before is None else dict(op.before),
        "after": None if op.after is None else dict(op.after),
    }


class _OperationReader:
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


def _operation_from_dict(index: int, data: Any) -> Operation:
    """One operation of a plan file; `index` locates it in the error."""
    if not isinstance(data, Mapping):
        raise PlanFormatError(f"malformed plan: operations[{index}] is not an object")
    read = _OperationReader(index, data)
    kind = read.kind
    read.check_shape()
    object_id = read.text("id", required=kind not in CREATE_KINDS)
    after = read.after()
    before = read.attributes("before", required=False)
    renames = (OpKind.RENAME_FIELD, OpKind.RENAME_CUSTOM_FIELD)
    from_slug = read.text("from_slug", required=kind in renames)
    changes = read.changes()
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


def _check_flow_ids(operations: tuple[Operation, ...]) -> None:
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
        if op.kind not in (OpKind.CREATE_FIELD, OpKind.REPLACE_FIELD):
            continue
        if op.flow_id is None and op.flow_slug not in created:
            raise PlanFormatError(
                f"malformed plan: operations[{index}] ({op.kind.value} {op.address}): "
                f"`flow_id` is required (the plan does not create flow {op.flow_slug})"
            )
