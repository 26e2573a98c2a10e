"""The counts `plan --impact` measures (issue 15): made from the records read, saved in plans.

`count(need, scan, total, note)` turns what was read for one `Need` (`impact.needs_of`) into an
`Impact`: the records concerned among those scanned, out of the store's total, and whether every
record was read; a read stopped by the request budget keeps what it saw, with the reason.
`report` gathers them into the `ImpactReport` a saved plan keeps (`to_dict`/`from_dict`), and
`grown(saved, fresh)` names the counts that grew since the plan was saved.

Pure: the reading is `impact_reader.py`; the counts in the operations' reasons are
`impact_reasons.py`.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from provisioner import rules
from provisioner.impact import ENTRIES, KINDS, MISSING, OUTSIDE, VALUES, Need
from provisioner.records import RecordScan, has_value, readable_flow, record_value

__all__ = ["Impact", "ImpactReport", "count", "grown", "report", "unreadable_note"]


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


def _outside(value: Any, new_rules: Sequence[Mapping[str, Any]]) -> bool:
    """Whether a held value breaks one of the new enum or between rules, as the rules judge
    it (`rules.rule_violations`, what the store then refuses a write of)."""
    return value is not None and bool(rules.rule_violations(value, new_rules))


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
