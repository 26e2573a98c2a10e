"""The measured counts in a plan (issue 15): each one a reason of the operation it measures.

`measured(plan, report)` attaches an `ImpactReport` (`impact_counts.py`) to a plan and adds a
reason line per count to its operation: a flow deletion holds N entries, a field deletion or
replace holds values in N of M records, a required field is missing in N of M records, values
outside a narrowed enum or range, repeated values under a new `unique`, values clients read
from a field being disabled. A read stopped by the request budget says "at least N of the S
scanned". `impact_line(plan)` is the line the views show about impact. Pure.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from provisioner.impact import ENTRIES, MISSING, OUTSIDE, REPEATS, UNIQUE_REASON, VALUES, needs_of
from provisioner.impact_counts import Impact, ImpactReport
from provisioner.operations import Safety

__all__ = ["NOT_MEASURED", "describe", "impact_line", "measured"]

NOT_MEASURED = "Impact not measured: `plan --impact` counts the records these operations touch."
REPEATS_LISTED = 10  # repeated values named in a reason (the JSON lists as many)


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
