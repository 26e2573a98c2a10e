"""Plans that know the data (issue 15): breaking-change classes, and what to read to count.

Two passes over a plan's flow operations, both pure and both reading no data:

- `annotate(op)` (the planner runs it on every operation): the breaking-change classes that
  need no data. `required: true` added on a core flow says what breaks (the docs: Commerce
  Manager cannot create customers, checkout breaks for orders); `unique: true` added is
  risky, because the store does not check the values it already holds.
- `needs_of(plan)` says what `plan --impact` must read for each operation (`Need`): the
  entries a flow deletion holds, the values of a field deleted, replaced or disabled, records
  lacking a field that becomes required, values outside a narrowed enum or range, repeated
  values under a new `unique`.

Split by job: the counts made from what was read, saved with a plan (`ImpactReport`), are
`impact_counts.py`; the counts written into the operations' reasons are `impact_reasons.py`.
The reading itself is `impact_reader.py` (through `provisioner.client.records`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from provisioner.epcc.flows import CORE_FLOW_SLUGS
from provisioner.operations import Operation, OpKind, Safety

__all__ = [
    "DEFAULT_IMPACT_BUDGET",
    "KINDS",
    "REQUIRED_MIGRATED",
    "UNIQUE_REASON",
    "Need",
    "annotate",
    "needs_of",
]

# `plan --impact` reads at most this many pages by default: 10,000 records at 100 a page, a
# flow as large as `page[offset]` lets a list go (epcc-api.md §2.2); 4 s at the default pace.
DEFAULT_IMPACT_BUDGET = 100
UNIQUE_REASON = "becomes unique: the values the store holds are not checked"
# A migration that makes the field required: the store enforces `required` on creates and on
# a PUT sending null (epcc-api.md, the local store's table), so records lacking a value keep
# none and the migration is not refused; the count comes from the migration's own reading.
REQUIRED_MIGRATED = (
    "becomes required: records without a value keep none (the store enforces it on creates "
    "only), creating objects without it fails"
)

# What a need counts, in the records of the flow it reads.
ENTRIES = "entries"  # a flow deletion: the records it holds (a total)
VALUES = "values"  # records holding a value of the field
MISSING = "missing"  # records without a value of the field (it becomes required)
OUTSIDE = "outside"  # records holding a value outside the field's new enum or range
REPEATS = "repeats"  # records whose value another record holds too (it becomes unique)
KINDS = (ENTRIES, VALUES, MISSING, OUTSIDE, REPEATS)

# What `required: true` breaks on a core flow (epcc-api.md 4.9; the docs' warning).
_CORE_REQUIRED = {
    "customers": "Commerce Manager cannot create customers without it",
    "orders": "checkout breaks: orders are created without it",
}


# -- breaking-change classes that need no data ------------------------------------------------


def _becomes(op: Operation, attribute: str) -> bool:
    """True when the operation turns `attribute` on (an update or rename), or creates the
    field with it on in a flow that already exists."""
    after = op.after or {}
    if not after.get(attribute):
        return False
    if op.kind is OpKind.CREATE_FIELD:
        return op.flow_id is not None
    if op.kind in (OpKind.UPDATE_FIELD, OpKind.RENAME_FIELD):
        return not (op.before or {}).get(attribute)
    if op.kind in (OpKind.REPLACE_FIELD, OpKind.MIGRATE_FIELD):
        # A type change that also turns it on (the follow-up: its reasons were missing).
        return not (op.before or {}).get(attribute)
    return False


def annotate(op: Operation) -> Operation:
    """`op` with the reasons of the breaking-change classes that need no data."""
    if op.kind.custom or op.field_slug is None:
        return op
    reasons: list[str] = []
    if _becomes(op, "required") and op.flow_slug in CORE_FLOW_SLUGS:
        breaks = _CORE_REQUIRED.get(
            op.flow_slug,
            f"{op.flow_slug} created without it fail (Commerce Manager and integrations "
            "do not send it)",
        )
        reasons.append(f"required on the core flow {op.flow_slug}: {breaks}")
    elif _becomes(op, "required") and op.kind is OpKind.MIGRATE_FIELD:
        reasons.append(REQUIRED_MIGRATED)
    if _becomes(op, "unique") and op.kind in (OpKind.UPDATE_FIELD, OpKind.RENAME_FIELD):
        reasons.append(UNIQUE_REASON)
    if not reasons:
        return op
    safety = max(op.safety, Safety.RISKY, key=lambda s: s.rank)
    return dataclasses.replace(op, safety=safety, reasons=(*op.reasons, *reasons))


# -- what to read -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Need:
    """One count an operation needs: `kind` (one of `KINDS`) over the records of the live
    flow `flow`, about its live field `field`; `rules` are the new enum/between rules an
    `outside` count checks values against; `scan`: the records must be read (a count of
    entries, or of records lacking a field just created, needs one request)."""

    key: str
    kind: str
    flow: str
    field: str | None = None
    rules: tuple[Mapping[str, Any], ...] = ()

    @property
    def scan(self) -> bool:
        return self.kind not in (ENTRIES,) and self.field is not None


def _narrowing_rules(op: Operation) -> tuple[Mapping[str, Any], ...]:
    """The enum rules of `after` that lose options, and its between rules that narrow, against
    `before`'s rule of the same type (a rule added anew counts too)."""
    old = {
        str(rule.get("type")): rule
        for rule in (op.before or {}).get("validation_rules") or []
        if isinstance(rule, Mapping)
    }
    return tuple(
        rule
        for rule in (op.after or {}).get("validation_rules") or []
        if isinstance(rule, Mapping)
        and rule.get("type") in ("enum", "between")
        and _narrows(old.get(str(rule.get("type"))), rule)
    )


def _narrows(before: Mapping[str, Any] | None, after: Mapping[str, Any]) -> bool:
    if before is None:
        return True
    old, new = before.get("options"), after.get("options")
    if after.get("type") == "enum":
        if not isinstance(old, list) or not isinstance(new, list):
            return old != new
        return any(value not in new for value in old)
    if not isinstance(old, Mapping) or not isinstance(new, Mapping):
        return old != new
    return _stricter(old.get("from"), new.get("from"), lower=True) or _stricter(
        old.get("to"), new.get("to"), lower=False
    )


def _stricter(old: Any, new: Any, *, lower: bool) -> bool:
    """Whether the bound `new` admits less than `old` (None: unbounded)."""
    if new is None:
        return False
    if old is None:
        return True
    try:
        return bool(new > old) if lower else bool(new < old)
    except TypeError:
        return bool(old != new)


def _field_needs(op: Operation, flow: str, field: str | None) -> list[Need]:
    """What `plan --impact` reads for one field operation (`flow`/`field`: the live ones)."""
    needs: list[Need] = []
    if op.kind in (OpKind.DELETE_FIELD, OpKind.REPLACE_FIELD):
        needs.append(Need(op.key, VALUES, flow, field))
        if op.kind is OpKind.REPLACE_FIELD and _becomes(op, "required"):
            needs.append(Need(op.key, MISSING, op.flow_slug))  # re-created: all lack it
    elif op.kind is OpKind.MIGRATE_FIELD:
        if _becomes(op, "required"):
            needs.append(Need(op.key, MISSING, flow, field))  # the values are kept
    elif op.kind is OpKind.CREATE_FIELD:
        if _becomes(op, "required"):
            needs.append(Need(op.key, MISSING, op.flow_slug))  # every record lacks it
    elif op.kind in (OpKind.UPDATE_FIELD, OpKind.RENAME_FIELD):
        if _becomes(op, "required"):
            needs.append(Need(op.key, MISSING, flow, field))
        if _becomes(op, "unique"):
            needs.append(Need(op.key, REPEATS, flow, field))
        rules = _narrowing_rules(op)
        if rules:
            needs.append(Need(op.key, OUTSIDE, flow, field, rules))
        if (op.before or {}).get("enabled") and not (op.after or {}).get("enabled"):
            needs.append(Need(op.key, VALUES, flow, field))
    return needs


def needs_of(plan: Any) -> list[Need]:
    """What `plan --impact` reads for each flow operation of `plan` (a `Plan`)."""
    needs: list[Need] = []
    deleted = {op.flow_slug for op in plan.operations if op.kind is OpKind.DELETE_FLOW}
    for op in plan.operations:
        if op.kind.custom or (op.field_slug is not None and op.flow_slug in deleted):
            continue  # a field of a deleted flow: the flow's entries say what is lost
        flow = op.from_flow_slug or op.flow_slug
        field = op.from_slug or op.field_slug
        if op.kind is OpKind.DELETE_FLOW:
            needs.append(Need(op.key, ENTRIES, op.flow_slug))
        else:
            needs += _field_needs(op, flow, field)
    return needs
