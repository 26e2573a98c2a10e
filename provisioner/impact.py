"""Plans that know the data (issue 15): breaking-change classes and measured impact.

Two passes over a plan's flow operations, both pure:

- `annotate(op)` (the planner runs it on every operation): the breaking-change classes that
  need no data. `required: true` added on a core flow says what breaks (the docs: Commerce
  Manager cannot create customers, checkout breaks for orders); `unique: true` added is
  risky, because the store does not check the values it already holds.
- `needs_of(plan)` says what `plan --impact` must read for each operation (`Need`), and
  `measured(plan, report)` writes the counts read (`ImpactReport`, one `Impact` per need)
  into the operations' reasons: a flow deletion holds N entries, a field deletion or replace
  holds values in N of M records, a required field is missing in N of M records, values
  outside a narrowed enum or range, repeated values under a new `unique`, values clients read
  from a field being disabled. A read stopped by the request budget says "at least N of the
  S scanned".

The counts come from `provisioner.client.records` (read by `provisioner.impact_reader`);
saved plans keep the report, and `grown(saved, fresh)` names the counts that grew since.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from provisioner.epcc.flows import CORE_FLOW_SLUGS
from provisioner.operations import Operation, OpKind, Safety
from provisioner.records import RecordScan, has_value, readable_flow, record_value

__all__ = [
    "DEFAULT_IMPACT_BUDGET",
    "NOT_MEASURED",
    "Impact",
    "ImpactReport",
    "Need",
    "annotate",
    "grown",
    "impact_line",
    "measured",
    "needs_of",
    "report",
]

# `plan --impact` reads at most this many pages by default: 10,000 records at 100 a page, a
# flow as large as `page[offset]` lets a list go (epcc-api.md §2.2); 4 s at the default pace.
DEFAULT_IMPACT_BUDGET = 100
NOT_MEASURED = "Impact not measured: `plan --impact` counts the records these operations touch."
UNIQUE_REASON = "becomes unique: the values the store holds are not checked"
# A migration that makes the field required: the store enforces `required` on creates and on
# a PUT sending null (epcc-api.md, the local store's table), so records lacking a value keep
# none and the migration is not refused; the count comes from the migration's own reading.
REQUIRED_MIGRATED = (
    "becomes required: records without a value keep none (the store enforces it on creates "
    "only), creating objects without it fails"
)
REPEATS_LISTED = 10  # repeated values named in a reason (the JSON lists as many)

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


def impact_line(plan: Any) -> str:
    """The line the text and Markdown views show about impact: not measured (when the plan
    holds operations `--impact` would measure), or the requests the measure took."""
    report = plan.impact
    if report is None:
        return NOT_MEASURED if needs_of(plan) else ""
    plural = "" if report.requests == 1 else "s"
    return (
        f"Impact measured with {_number(report.requests)} request{plural} "
        f"(--impact-budget {_number(report.budget)})."
    )


# -- counts -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Impact:
    """One measured count (`Need`): `count` records concerned among the `scanned` ones read,
    out of `total` (the store's `meta.results.total`); `complete` when every record was
    read (or the total alone answers); `values`: for `repeats`, each repeated value with its
    number of records; `note`: why it is partial or not measured (`count` None)."""

    key: str
    kind: str
    count: int | None
    scanned: int = 0
    total: int | None = None
    complete: bool = False
    values: tuple[tuple[Any, int], ...] = ()
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "key": self.key,
            "kind": self.kind,
            "count": self.count,
            "scanned": self.scanned,
            "total": self.total,
            "complete": self.complete,
        }
        if self.values:
            data["values"] = [{"value": v, "records": n} for v, n in self.values]
        if self.note is not None:
            data["note"] = self.note
        return data

    @classmethod
    def from_dict(cls, data: Any) -> Impact:
        if not isinstance(data, Mapping):
            raise ValueError("an impact measure must be an object")
        key, kind, count = data.get("key"), data.get("kind"), data.get("count")
        if not isinstance(key, str) or kind not in KINDS:
            raise ValueError("an impact measure needs a `key` and a known `kind`")
        if count is not None and not _is_count(count):
            raise ValueError(f"impact {key}: `count` must be a whole number or null")
        scanned, total = data.get("scanned", 0), data.get("total")
        if not _is_count(scanned) or not (total is None or _is_count(total)):
            raise ValueError(f"impact {key}: `scanned` and `total` must be whole numbers")
        values = data.get("values", [])
        if not isinstance(values, list) or not all(
            isinstance(v, Mapping) and _is_count(v.get("records")) for v in values
        ):
            raise ValueError(f"impact {key}: `values` must list {{value, records}} objects")
        note = data.get("note")
        return cls(
            key=key,
            kind=str(kind),
            count=count,
            scanned=scanned,
            total=total,
            complete=bool(data.get("complete", False)),
            values=tuple((v.get("value"), int(v["records"])) for v in values),
            note=note if isinstance(note, str) else None,
        )


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


@dataclass(frozen=True)
class ImpactReport:
    """What `plan --impact` measured: the request `budget`, the `requests` it took, a count
    per need."""

    budget: int
    requests: int
    measures: tuple[Impact, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "budget": self.budget,
            "requests": self.requests,
            "measures": [m.to_dict() for m in self.measures],
        }

    @classmethod
    def from_dict(cls, data: Any) -> ImpactReport:
        if not isinstance(data, Mapping):
            raise ValueError("`impact` must be an object")
        budget, requests = data.get("budget", -1), data.get("requests", -1)
        if not _is_count(budget) or not _is_count(requests):
            raise ValueError("`impact` needs whole numbers `budget` and `requests`")
        measures = data.get("measures", [])
        if not isinstance(measures, list):
            raise ValueError("`impact.measures` must be a list")
        return cls(int(budget), int(requests), tuple(Impact.from_dict(m) for m in measures))


def count(need: Need, scan: RecordScan | None, total: int | None, note: str | None) -> Impact:
    """The count of `need` from what was read: `scan` (the flow's records) or only `total`
    (one `page[limit]=1` request); neither: not measured, for the reason `note`."""
    if scan is not None:
        total = scan.total if scan.total is not None else total
    if need.kind == ENTRIES or (need.kind == MISSING and need.field is None):
        if total is None and scan is not None and scan.complete:
            total = scan.scanned
        if total is None:
            return Impact(need.key, need.kind, None, note=note or "the store gave no total")
        return Impact(need.key, need.kind, total, total=total, complete=True)
    if scan is None:
        return Impact(need.key, need.kind, None, total=total, note=note)
    assert need.field is not None
    records = scan.records
    values: tuple[tuple[Any, int], ...] = ()
    if need.kind == VALUES:
        found = sum(1 for r in records if has_value(r, need.field))
    elif need.kind == MISSING:
        found = sum(1 for r in records if not has_value(r, need.field))
    elif need.kind == OUTSIDE:
        found = sum(1 for r in records if _outside(record_value(r, need.field), need.rules))
    else:
        values = _repeats(record_value(r, need.field) for r in records)
        found = sum(n for _, n in values)
    stopped = None if scan.complete else (scan.stopped or "incomplete")
    return Impact(
        need.key,
        need.kind,
        found,
        scanned=scan.scanned,
        total=total,
        complete=scan.complete,
        values=values,
        note=_STOPPED.get(stopped, stopped) if stopped else None,
    )


_STOPPED = {
    "budget": "the scan stopped at the request budget, --impact-budget",
    "offset limit": "records past page[offset] 10,000 cannot be listed",
}


def report(
    needs: Sequence[Need],
    scans: Mapping[str, RecordScan],
    totals: Mapping[str, int | None],
    notes: Mapping[str, str],
    budget: int,
    requests: int,
) -> ImpactReport:
    """The counts of `needs` from what was read (`scans` and `totals` by flow; `notes`: why a
    flow was not read), as `plan --impact` reports them."""
    measures = tuple(
        count(need, scans.get(need.flow), totals.get(need.flow), notes.get(need.flow))
        for need in needs
    )
    return ImpactReport(budget=budget, requests=requests, measures=measures)


def _outside(value: Any, rules: Sequence[Mapping[str, Any]]) -> bool:
    """Whether a held value breaks one of the new enum or between rules."""
    if value is None:
        return False
    for rule in rules:
        options = rule.get("options")
        if rule.get("type") == "enum" and isinstance(options, list):
            if value not in options:
                return True
        elif rule.get("type") == "between" and isinstance(options, Mapping):
            low, high = options.get("from"), options.get("to")
            try:
                if (low is not None and value < low) or (high is not None and value > high):
                    return True
            except TypeError:
                return True
    return False


def _repeats(values: Iterable[Any]) -> tuple[tuple[Any, int], ...]:
    """Each value more than one record holds, with its number of records; most first."""
    counts: Counter[str] = Counter()
    for value in values:
        if value is not None:
            counts[json.dumps(value, sort_keys=True, ensure_ascii=False)] += 1
    repeated = sorted(
        ((text, n) for text, n in counts.items() if n > 1), key=lambda x: (-x[1], x[0])
    )
    return tuple((json.loads(text), n) for text, n in repeated)


# -- the counts in the plan -------------------------------------------------------------------


def _number(value: int) -> str:
    return f"{value:,}"


def _records(impact: Impact) -> str:
    """`412 of 10,000 records` or `at least 412 of the 5,000 scanned (10,000 records; ...)`."""
    assert impact.count is not None
    if impact.complete:
        return f"{_number(impact.count)} of {_number(impact.total or impact.scanned)} records"
    of_all = "" if impact.total is None else f"{_number(impact.total)} records; "
    return (
        f"at least {_number(impact.count)} of the {_number(impact.scanned)} scanned "
        f"({of_all}{impact.note or 'the scan is incomplete'})"
    )


def describe(impact: Impact) -> str:
    """The reason line a measured count adds to its operation."""
    if impact.count is None:
        return f"impact not measured: {impact.note or 'nothing was read'}"
    if impact.kind == ENTRIES:
        return f"holds {_number(impact.count)} entries"
    if impact.kind == MISSING and impact.scanned == 0:
        return f"all {_number(impact.count)} records lack a value"
    where = _records(impact)
    if impact.kind == VALUES:
        return f"values in {where}"
    if impact.kind == MISSING:
        return f"no value in {where}"
    if impact.kind == OUTSIDE:
        return (
            f"values outside the new rule in {where}: the store keeps them, new writes of them fail"
        )
    if not impact.values:
        if impact.complete:
            return f"no value repeats in the {_number(impact.scanned)} records"
        return f"no value repeats in {where.removeprefix('at least 0 of ')}"
    shown = ", ".join(f"{_short(v)} ({n})" for v, n in impact.values[:REPEATS_LISTED])
    more = len(impact.values) - REPEATS_LISTED
    if more > 0:
        shown += f" and {more} more"
    return f"repeated values in {where}: {shown}"


def _short(value: Any, most: int = 40) -> str:
    """A repeated value as JSON, cut to `most` characters (the JSON plan keeps it whole)."""
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= most else text[: most - 3] + "..."


def measured(plan: Any, report: ImpactReport) -> Any:
    """`plan` (a `Plan`) with `report` attached and each count as a reason of its operation.

    A new `unique` whose every record was read and holds no repeated value is safe again."""
    by_key: dict[str, list[Impact]] = {}
    for impact in report.measures:
        by_key.setdefault(impact.key, []).append(impact)
    operations = []
    for op in plan.operations:
        impacts = by_key.get(op.key, [])
        if impacts and not op.kind.custom:
            reasons = tuple(op.reasons) + tuple(describe(i) for i in impacts)
            safety = op.safety
            clean_unique = [i for i in impacts if i.kind == REPEATS and i.complete and not i.values]
            if clean_unique and len(impacts) == 1 and tuple(op.reasons) == (UNIQUE_REASON,):
                safety = Safety.SAFE
            op = dataclasses.replace(op, reasons=reasons, safety=safety)
        operations.append(op)
    return dataclasses.replace(plan, operations=tuple(operations), impact=report)


def unreadable_note(flow: str) -> str | None:
    """Why the records of `flow` are not read, or None when they are."""
    if readable_flow(flow):
        return None
    return f"the records of the core flow {flow} are not read by provisioner"


def grown(saved: ImpactReport, fresh: ImpactReport) -> list[str]:
    """The measures whose count grew since the plan was saved (`impact:KIND:KEY`)."""
    now = {(i.key, i.kind): i for i in fresh.measures}
    changed = []
    for before in saved.measures:
        after = now.get((before.key, before.kind))
        if after is None or after.count is None or before.count is None:
            continue
        more_values = {json.dumps(v) for v, _ in after.values} - {
            json.dumps(v) for v, _ in before.values
        }
        if after.count > before.count or more_values:
            changed.append(f"impact:{before.kind}:{before.key}")
    return sorted(changed)
