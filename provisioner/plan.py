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

A plan saved by the command (`plan --out`, `--format json`) records the store it was made
against (`store`: the redacted URL and a digest of the client id, or the embedded database's
path; never a secret) and is format version 4; `apply` refuses it against another store
(issue 10 follow-up). Versions 1-3 (written before) record no store and are still read.

Pure: no I/O.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from provisioner.errors import PlanFormatError
from provisioner.impact_counts import ImpactReport
from provisioner.keys import ObjectKey, entries_key, field_key, fields_key, flow_key
from provisioner.operationfile import check_flow_ids, operation_from_dict
from provisioner.operations import (
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
    "PlanParts",
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
# Issue 15: a plan measured by `plan --impact` (its `impact` report) is version 3, whatever
# it holds: an older provisioner refuses it rather than skip the check of its counts.
IMPACT_PLAN_FORMAT_VERSION = 3
# Issue 10 follow-up: a plan that records its store (`store`) is version 4, whatever it holds
# (Custom API operations, `impact`): an older provisioner refuses it rather than apply it to
# another store; a version 4 plan without `store` is malformed.
STORE_PLAN_FORMAT_VERSION = 4
KNOWN_FORMAT_VERSIONS = (
    PLAN_FORMAT_VERSION,
    CUSTOM_API_PLAN_FORMAT_VERSION,
    IMPACT_PLAN_FORMAT_VERSION,
    STORE_PLAN_FORMAT_VERSION,
)


@dataclass(frozen=True)
class Plan:
    """An ordered tuple of operations; the whole output of the planner."""

    operations: tuple[Operation, ...] = ()
    unmanaged: tuple[str, ...] = ()
    fingerprints: Mapping[str, str | None] = field(default_factory=dict)
    # Keys of organization-owned live objects a store-level apply leaves alone (ownership.py).
    owned_elsewhere: tuple[str, ...] = ()
    # What `plan --impact` measured (issue 15); None: impact was not measured.
    impact: ImpactReport | None = None
    # The store the plan was made against (set by the command that reads it); None: unknown.
    store: Mapping[str, str] | None = None

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
    def url_slug_custom_apis(self) -> tuple[str, ...]:
        """Slugs of the live Custom APIs in which this plan sets `use_as_url_slug` on a field
        (created or replaced): allowed only while the API holds no entries (section 10)."""
        kinds = (OpKind.CREATE_CUSTOM_FIELD, OpKind.REPLACE_CUSTOM_FIELD)
        return tuple(
            sorted(
                {
                    op.flow_slug
                    for op in self.operations
                    if op.kind in kinds
                    and op.flow_id is not None
                    and (op.after or {}).get("use_as_url_slug") is True
                }
            )
        )

    @property
    def counted_custom_apis(self) -> tuple[str, ...]:
        """The Custom APIs whose entries are counted (and recorded) with this plan: those it
        deletes or replaces, and those it sets `use_as_url_slug` in."""
        return tuple(sorted({*self.deleted_custom_apis, *self.url_slug_custom_apis}))

    @property
    def has_custom_apis(self) -> bool:
        return any(op.kind.custom for op in self.operations) or any(
            key.startswith("custom_") for key in (*self.unmanaged, *self.fingerprints)
        )

    def with_fingerprints(self, extra: Mapping[str, str | None]) -> Plan:
        """The same plan recording more fingerprints (e.g. the entry counts of deleted flows)."""
        merged = {**self.fingerprints, **extra}
        return replace(self, fingerprints=dict(sorted(merged.items())))

    def made_against(self, store: Mapping[str, str]) -> Plan:
        """The same plan recording the store it was made against (version 4 when saved)."""
        return replace(self, store=dict(store))

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
        version = CUSTOM_API_PLAN_FORMAT_VERSION if custom else PLAN_FORMAT_VERSION
        if self.impact is not None:
            version = IMPACT_PLAN_FORMAT_VERSION
        if self.store is not None:
            version = STORE_PLAN_FORMAT_VERSION
        data: dict[str, Any] = {
            "format_version": version,
            "summary": self.counts(),
            "operations": [_operation_to_dict(op) for op in self.operations],
            "unmanaged": list(self.unmanaged),
            "fingerprints": dict(sorted(self.fingerprints.items())),
        }
        if self.owned_elsewhere:  # added in a backwards-compatible way: only when there are
            data["owned_elsewhere"] = list(self.owned_elsewhere)
        if self.impact is not None:
            data["impact"] = self.impact.to_dict()
        if self.store is not None:
            data["store"] = dict(self.store)
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
            operation_from_dict(index, op) for index, op in enumerate(raw_operations)
        )
        custom = next((op for op in operations if op.kind.custom), None)
        if custom is not None and version == PLAN_FORMAT_VERSION:
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
        _check_keys("unmanaged", unmanaged)
        _check_keys("fingerprints", fingerprints)
        _check_keys("owned_elsewhere", owned)
        check_flow_ids(operations)
        impact = None
        if "impact" in data:
            if version not in (IMPACT_PLAN_FORMAT_VERSION, STORE_PLAN_FORMAT_VERSION):
                raise PlanFormatError(
                    f"malformed plan: `impact` needs format_version {IMPACT_PLAN_FORMAT_VERSION} "
                    f"(the plan says {version})"
                )
            try:
                impact = ImpactReport.from_dict(data["impact"])
            except ValueError as error:
                raise PlanFormatError(f"malformed plan: {error}") from None
        elif version == IMPACT_PLAN_FORMAT_VERSION:
            raise PlanFormatError(
                f"malformed plan: format_version {IMPACT_PLAN_FORMAT_VERSION} needs `impact`"
            )
        plan = cls(
            operations=operations,
            unmanaged=tuple(unmanaged),
            fingerprints={str(k): v for k, v in fingerprints.items()},
            owned_elsewhere=tuple(owned),
            impact=impact,
            store=_store(data, version),
        )
        _check_summary(data, plan)
        return plan

    @classmethod
    def from_json(cls, text: str) -> Plan:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise PlanFormatError(f"not a plan: invalid JSON ({error})") from error
        return cls.from_dict(data)


@dataclass
class PlanParts:
    """What a planner collects before it orders a `Plan`: the operations, the fingerprint of
    every live object they touch (None: an object they create, expected absent) and the keys
    of the live objects the files leave unmanaged. The flows' planner and the Custom APIs'
    build one each; `extend` merges them."""

    operations: list[Operation] = field(default_factory=list)
    fingerprints: dict[str, str | None] = field(default_factory=dict)
    unmanaged: list[str] = field(default_factory=list)

    def add(
        self, op: Operation, *, touched: Mapping[str, str] | None = None, absent: Sequence[str] = ()
    ) -> None:
        self.operations.append(op)
        self.fingerprints.update(touched or {})
        for key in absent:
            self.fingerprints.setdefault(key, None)

    def extend(self, other: PlanParts) -> None:
        self.operations += other.operations
        self.fingerprints.update(other.fingerprints)
        self.unmanaged += other.unmanaged


def _check_summary(data: Mapping[str, Any], plan: Plan) -> None:
    """The summary is always counted from the operations; a file whose `summary` says
    otherwise had operations removed or added by hand since the plan was made: refused."""
    if "summary" in data and data["summary"] != plan.counts():
        raise PlanFormatError(
            f"malformed plan: `summary` {json.dumps(data['summary'])} does not match the "
            f"operations ({json.dumps(plan.counts())})"
        )


def _store(data: Mapping[str, Any], version: int) -> dict[str, str] | None:
    """`store`: required in a version 4 plan (a non-empty object of strings), absent before."""
    if version != STORE_PLAN_FORMAT_VERSION:
        if "store" in data:
            raise PlanFormatError(
                f"malformed plan: `store` needs format_version {STORE_PLAN_FORMAT_VERSION} "
                f"(the plan says {version})"
            )
        return None
    store = data.get("store")
    if (
        not isinstance(store, dict)
        or not store
        or not all(isinstance(v, str) and v for v in store.values())
    ):
        raise PlanFormatError(
            f"malformed plan: `store` is required in a format_version "
            f"{STORE_PLAN_FORMAT_VERSION} plan (the store it was made against, an object of "
            f"strings; got {json.dumps(store)})"
        )
    return {str(k): v for k, v in store.items()}


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


def _check_keys(where: str, keys: Iterable[str]) -> None:
    """Every object key a plan file records is one `ObjectKey.parse` reads (a tampered key
    would otherwise fail later, in the stale check or the view)."""
    for key in keys:
        try:
            ObjectKey.parse(key)
        except ValueError as error:
            raise PlanFormatError(f"malformed plan: `{where}`: {error}") from None
