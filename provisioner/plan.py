"""The Plan: an immutable, ordered tuple of operations, and its JSON form.

Operations are a closed vocabulary named verb + noun (`OpKind`); each carries the live object's
ID where one exists, the normalised attributes before and after, the attribute changes that
caused it, its safety class and the reasons for that class. `Action` values are the symbols the
views print. A Plan serialises to JSON (`--format json`, `plan --out`) and back; the JSON format
is versioned by `PLAN_FORMAT_VERSION` and documented in README.md ("Plan JSON format").

`fingerprints` maps the key of every object the plan touches (`flow:SLUG`,
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
from enum import StrEnum
from typing import Any

from provisioner.errors import PlanFormatError

PLAN_FORMAT_VERSION = 1


class Action(StrEnum):
    """What happens to an object; the value is the symbol the views print."""

    CREATE = "+"
    UPDATE = "~"
    RENAME = "~>"
    REPLACE = "-/+"
    DELETE = "-"


class OpKind(StrEnum):
    """The closed vocabulary of operations."""

    CREATE_FLOW = "create_flow"
    UPDATE_FLOW = "update_flow"
    DELETE_FLOW = "delete_flow"
    CREATE_FIELD = "create_field"
    UPDATE_FIELD = "update_field"
    RENAME_FIELD = "rename_field"
    REPLACE_FIELD = "replace_field"
    DELETE_FIELD = "delete_field"

    @property
    def action(self) -> Action:
        return _ACTIONS[self]

    @property
    def destructive(self) -> bool:
        """Deletes and replaces lose data, whatever a plan file says about them."""
        return self in _DESTRUCTIVE_KINDS

    @property
    def on_field(self) -> bool:
        return self in _FIELD_KINDS


_ACTIONS = {
    OpKind.CREATE_FLOW: Action.CREATE,
    OpKind.UPDATE_FLOW: Action.UPDATE,
    OpKind.DELETE_FLOW: Action.DELETE,
    OpKind.CREATE_FIELD: Action.CREATE,
    OpKind.UPDATE_FIELD: Action.UPDATE,
    OpKind.RENAME_FIELD: Action.RENAME,
    OpKind.REPLACE_FIELD: Action.REPLACE,
    OpKind.DELETE_FIELD: Action.DELETE,
}


_DESTRUCTIVE_KINDS = frozenset({OpKind.DELETE_FLOW, OpKind.DELETE_FIELD, OpKind.REPLACE_FIELD})
_FIELD_KINDS = frozenset(
    {
        OpKind.CREATE_FIELD,
        OpKind.UPDATE_FIELD,
        OpKind.RENAME_FIELD,
        OpKind.REPLACE_FIELD,
        OpKind.DELETE_FIELD,
    }
)


class Safety(StrEnum):
    """How dangerous an operation is to the store's data; ordered safe < risky < destructive."""

    SAFE = "safe"
    RISKY = "risky"
    DESTRUCTIVE = "destructive"

    @property
    def rank(self) -> int:
        return ("safe", "risky", "destructive").index(self.value)


@dataclass(frozen=True)
class AttributeChange:
    """One attribute that differs: `path` is e.g. `name` or `validation_rules[0].options.to`."""

    path: str
    before: Any
    after: Any


def flow_key(flow_slug: str) -> str:
    return f"flow:{flow_slug}"


def field_key(flow_slug: str, field_slug: str) -> str:
    return f"field:{flow_slug}.{field_slug}"


def fields_key(flow_slug: str) -> str:
    """The key of a deleted flow's set of fields."""
    return f"fields:{flow_slug}"


def entries_key(flow_slug: str) -> str:
    """The key of a deleted flow's entry count."""
    return f"entries:{flow_slug}"


@dataclass(frozen=True)
class Operation:
    """One change to the store.

    - `flow_slug`/`field_slug` name the object as it will be after the operation; for a rename
      `from_slug` is the live slug, for a replace that moves a field `from_flow_slug` is the
      flow it leaves.
    - `id` is the live object's ID (None for creates); `flow_id` the live ID of the field's flow
      (None when that flow is created in the same run: the applier resolves it).
    - `before`/`after` are normalised attribute dicts (None where the object does not exist).
    - `changes` lists the attributes that differ; `safety` and `reasons` say why it is classed so.
    """

    kind: OpKind
    flow_slug: str
    field_slug: str | None = None
    id: str | None = None
    flow_id: str | None = None
    before: Mapping[str, Any] | None = None
    after: Mapping[str, Any] | None = None
    changes: tuple[AttributeChange, ...] = ()
    safety: Safety = Safety.SAFE
    reasons: tuple[str, ...] = ()
    from_slug: str | None = None
    from_flow_slug: str | None = None

    @property
    def action(self) -> Action:
        return self.kind.action

    @property
    def key(self) -> str:
        """Identity of the object after the operation (`flow:x`, `field:x.y`)."""
        if self.field_slug is None:
            return flow_key(self.flow_slug)
        return field_key(self.flow_slug, self.field_slug)

    @property
    def address(self) -> str:
        """Human name: `customers` or `customers.delivery_details` (with the old name if any)."""
        if self.field_slug is None:
            return self.flow_slug
        name = f"{self.flow_slug}.{self.field_slug}"
        # A replace may both move the field (from_flow_slug) and rename it (from_slug).
        old = f"{self.from_flow_slug or self.flow_slug}.{self.from_slug or self.field_slug}"
        return name if old == name else f"{old} -> {name}"

    def describe(self) -> str:
        """One line: `+ create_field customers.delivery_details`."""
        return f"{self.action.value} {self.kind.value} {self.address}"


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
        data: dict[str, Any] = {
            "format_version": PLAN_FORMAT_VERSION,
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
        if version != PLAN_FORMAT_VERSION or isinstance(version, bool):
            raise PlanFormatError(
                f"unsupported plan format_version {version!r} (expected {PLAN_FORMAT_VERSION})"
            )
        raw_operations = data.get("operations")
        if not isinstance(raw_operations, list):
            raise PlanFormatError("malformed plan: `operations` is missing (expected a list)")
        operations = tuple(
            _operation_from_dict(index, op) for index, op in enumerate(raw_operations)
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


def _operation_from_dict(index: int, data: Any) -> Operation:
    """One operation of a plan file; `index` locates it in the error."""
    where = f"operations[{index}]"
    if not isinstance(data, Mapping):
        raise PlanFormatError(f"malformed plan: {where} is not an object")
    kind_value = data.get("kind")
    try:
        kind = OpKind(str(kind_value))
    except ValueError:
        known = ", ".join(k.value for k in OpKind)
        raise PlanFormatError(
            f"malformed plan: {where}: unknown kind {kind_value!r} (expected one of {known})"
        ) from None
    flow_slug = data.get("flow")
    if not isinstance(flow_slug, str) or not flow_slug:
        raise PlanFormatError(f"malformed plan: {where} ({kind.value}): `flow` must be a slug")
    label = f"{where} ({kind.value} {flow_slug}"
    field_slug = data.get("field")
    if isinstance(field_slug, str) and field_slug:
        label += f".{field_slug}"
    label += ")"

    def fail(message: str) -> PlanFormatError:
        return PlanFormatError(f"malformed plan: {label}: {message}")

    def text(key: str, *, required: bool) -> str | None:
        value = data.get(key)
        if value is None and not required:
            return None
        if not isinstance(value, str) or not value:
            raise fail(f"`{key}` must be a non-empty string (got {json.dumps(value)})")
        return value

    def attributes(key: str, *, required: bool) -> Mapping[str, Any] | None:
        value = data.get(key)
        if value is None and not required:
            return None
        if not isinstance(value, dict):
            raise fail(f"`{key}` must be an object of attributes (got {json.dumps(value)})")
        return value

    if kind.on_field:
        text("field", required=True)
    elif data.get("field") is not None:
        raise fail("`field` must be null for a flow operation")
    action = data.get("action")
    if action is not None and action != kind.action.value:
        raise fail(f"`action` {action!r} does not match the kind (expected {kind.action.value!r})")
    creates = kind in (OpKind.CREATE_FLOW, OpKind.CREATE_FIELD)
    object_id = text("id", required=not creates)
    after = attributes("after", required=kind not in (OpKind.DELETE_FLOW, OpKind.DELETE_FIELD))
    before = attributes("before", required=False)
    if kind in (OpKind.CREATE_FIELD, OpKind.REPLACE_FIELD):
        assert after is not None
        field_type = after.get("field_type")
        if not isinstance(field_type, str) or not field_type:
            raise fail("`after.field_type` is required to create a field")
    from_slug = text("from_slug", required=kind is OpKind.RENAME_FIELD)
    raw_changes = data.get("changes", [])
    if not isinstance(raw_changes, list) or not all(
        isinstance(c, Mapping) and isinstance(c.get("path"), str) for c in raw_changes
    ):
        raise fail("`changes` must be a list of {path, before, after}")
    if kind in (OpKind.UPDATE_FLOW, OpKind.UPDATE_FIELD) and not raw_changes:
        raise fail("an update must list its `changes`")
    reasons = data.get("reasons", [])
    if not isinstance(reasons, list) or not all(isinstance(r, str) for r in reasons):
        raise fail("`reasons` must be a list of strings")
    try:
        safety = Safety(data.get("safety", "safe"))
    except ValueError:
        raise fail(f"unknown safety {data.get('safety')!r}") from None
    if kind.destructive:
        safety = Safety.DESTRUCTIVE  # derived from the kind, whatever the file says
    return Operation(
        kind=kind,
        flow_slug=flow_slug,
        field_slug=data.get("field") if kind.on_field else None,
        id=object_id,
        flow_id=text("flow_id", required=False),
        before=before,
        after=after,
        changes=tuple(
            AttributeChange(path=str(c["path"]), before=c.get("before"), after=c.get("after"))
            for c in raw_changes
        ),
        safety=safety,
        reasons=tuple(reasons),
        from_slug=from_slug,
        from_flow_slug=text("from_flow", required=False),
    )


def _check_flow_ids(operations: tuple[Operation, ...]) -> None:
    """A field created into a flow needs that flow's ID, or the flow's creation in the plan."""
    created = {op.flow_slug for op in operations if op.kind is OpKind.CREATE_FLOW}
    for index, op in enumerate(operations):
        if op.kind not in (OpKind.CREATE_FIELD, OpKind.REPLACE_FIELD):
            continue
        if op.flow_id is None and op.flow_slug not in created:
            raise PlanFormatError(
                f"malformed plan: operations[{index}] ({op.kind.value} {op.address}): "
                f"`flow_id` is required (the plan does not create flow {op.flow_slug})"
            )
