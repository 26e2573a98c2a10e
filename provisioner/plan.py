"""The Plan: an immutable, ordered tuple of operations, and its JSON form.

Operations are a closed vocabulary named verb + noun (`OpKind`); each carries the live object's
ID where one exists, the normalised attributes before and after, the attribute changes that
caused it, its safety class and the reasons for that class. `Action` values are the symbols the
views print. A Plan serialises to JSON (`--format json`, `plan --out`) and back; the JSON format
is versioned by `PLAN_FORMAT_VERSION` and documented in README.md ("Plan JSON format").

`fingerprints` maps the key of every object the plan touches (`flow:SLUG`,
`field:FLOW.SLUG`) to a digest of its live form, or to None when the plan expects it not to
exist; apply of a saved plan compares them with the store before doing anything.

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

    @property
    def is_empty(self) -> bool:
        return not self.operations

    @property
    def destructive(self) -> tuple[Operation, ...]:
        return tuple(op for op in self.operations if op.safety is Safety.DESTRUCTIVE)

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
        return {
            "format_version": PLAN_FORMAT_VERSION,
            "summary": self.counts(),
            "operations": [_operation_to_dict(op) for op in self.operations],
            "unmanaged": list(self.unmanaged),
            "fingerprints": dict(sorted(self.fingerprints.items())),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=False, ensure_ascii=False) + "\n"

    @classmethod
    def from_dict(cls, data: Any) -> Plan:
        if not isinstance(data, dict):
            raise PlanFormatError("not a plan: expected a JSON object")
        version = data.get("format_version")
        if version != PLAN_FORMAT_VERSION:
            raise PlanFormatError(
                f"unsupported plan format_version {version!r} (expected {PLAN_FORMAT_VERSION})"
            )
        try:
            operations = tuple(_operation_from_dict(op) for op in data["operations"])
            unmanaged = tuple(str(key) for key in data.get("unmanaged", []))
            fingerprints = {str(k): v for k, v in dict(data.get("fingerprints", {})).items()}
        except (KeyError, TypeError, ValueError) as error:
            raise PlanFormatError(f"malformed plan: {error}") from error
        return cls(operations=operations, unmanaged=unmanaged, fingerprints=fingerprints)

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


def _operation_from_dict(data: Mapping[str, Any]) -> Operation:
    return Operation(
        kind=OpKind(data["kind"]),
        flow_slug=str(data["flow"]),
        field_slug=data.get("field"),
        id=data.get("id"),
        flow_id=data.get("flow_id"),
        before=data.get("before"),
        after=data.get("after"),
        changes=tuple(
            AttributeChange(path=str(c["path"]), before=c.get("before"), after=c.get("after"))
            for c in data.get("changes", [])
        ),
        safety=Safety(data.get("safety", "safe")),
        reasons=tuple(str(r) for r in data.get("reasons", [])),
        from_slug=data.get("from_slug"),
        from_flow_slug=data.get("from_flow"),
    )
