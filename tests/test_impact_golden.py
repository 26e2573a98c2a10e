"""Golden scenarios of `plan --impact` (issue 15): one per breaking-change class, one for the
destructive counts, one for a scan stopped at the budget.

Each `tests/impact_cases/<name>/` holds `start.yaml` and `desired.yaml` (as in
tests/cases/), `records.yaml` (what the store's records hold: per flow the records' field
values, the store's total when it holds more than were read, why a read stopped; `counted`:
flows read for their total alone) and the expected `plan.txt`, `plan.json` and `plan.md`.
The test is pure: the plan is made as `provisioner plan` makes it, the counts by
`impact.report` from those records, exactly as `impact_reader` calls it after reading them
(tests/test_impact_cli.py reads them over HTTP). `UPDATE_GOLDEN=1` rewrites the files.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from support.golden import live_state, rendered

from provisioner.config import load_desired
from provisioner.errors import PlanFormatError
from provisioner.impact import Need, needs_of
from provisioner.impact_counts import Impact, ImpactReport, grown, report, unreadable_note
from provisioner.impact_reasons import measured
from provisioner.plan import Plan, Safety
from provisioner.planner import plan
from provisioner.records import RecordScan

CASES = Path(__file__).parent / "impact_cases"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


def case_names() -> list[str]:
    return sorted(path.name for path in CASES.iterdir() if (path / "records.yaml").is_file())


def scans_of(flows: dict[str, Any]) -> dict[str, RecordScan]:
    scans = {}
    for slug, held in flows.items():
        records = tuple(
            {"id": f"{slug}-{index}", "type": "entry", **values}
            for index, values in enumerate(held["records"], 1)
        )
        total = held.get("total", len(records))
        stopped = held.get("stopped")
        scans[slug] = RecordScan(slug, records, total, 1, stopped is None, stopped)
    return scans


def impact_plan(name: str) -> Plan:
    case = CASES / name
    start = load_desired([case / "start.yaml"])
    result = plan(load_desired([case / "desired.yaml"]), live_state(start))
    held = yaml.safe_load((case / "records.yaml").read_text(encoding="utf-8"))
    needs: list[Need] = needs_of(result)
    scans = scans_of(held.get("flows", {}))
    totals: dict[str, int | None] = dict(held.get("counted", {}))
    notes = {n.flow: unreadable_note(n.flow) or "not read" for n in needs if n.flow not in scans}
    notes = {flow: note for flow, note in notes.items() if flow not in totals}
    counts = report(needs, scans, totals, notes, held["budget"], held["requests"])
    measured_plan: Plan = measured(result, counts)
    return measured_plan


@pytest.mark.parametrize("name", case_names())
def test_impact_golden(name: str) -> None:
    case = CASES / name
    result = impact_plan(name)
    outputs = rendered(result)
    if UPDATE:
        for file_name, text in outputs.items():
            (case / file_name).write_text(text, encoding="utf-8")
    for file_name, text in outputs.items():
        expected = (case / file_name).read_text(encoding="utf-8")
        assert text == expected, f"{name}/{file_name} differs (UPDATE_GOLDEN=1 rewrites it)"
    assert Plan.from_json(outputs["plan.json"]) == result  # a saved plan keeps the counts


def test_every_class_is_risky_with_its_count() -> None:
    reasons = {
        name: {op.address: (op.safety, op.reasons) for op in impact_plan(name).operations}
        for name in case_names()
    }
    safety, why = reasons["required-core-flow"]["customers.nickname"]
    assert safety is Safety.RISKY
    assert "Commerce Manager cannot create customers without it" in " ".join(why)
    assert "no value in 2 of 5 records" in why
    assert "all 5 records lack a value" in reasons["required-core-flow"]["customers.tier"][1]
    assert "no value in 2 of 6 records" in reasons["required-custom-flow"]["notes.rating"][1]
    safety, why = reasons["unique-repeats"]["coupons.code"]
    assert safety is Safety.RISKY
    assert 'repeated values in 5 of 7 records: "SPRING" (3), "WELCOME" (2)' in why
    assert reasons["unique-repeats"]["coupons.ref"][0] is Safety.SAFE  # measured: no repeat
    narrowed = reasons["enum-between-narrowed"]
    assert any(
        r.startswith("values outside the new rule in 2 of 6")
        for r in narrowed["subscriptions.tier"][1]
    )
    assert any(
        r.startswith("values outside the new rule in 3 of 6")
        for r in narrowed["subscriptions.seats"][1]
    )
    assert "values in 3 of 4 records" in reasons["field-disabled"]["customers.legacy_code"][1]
    destroyed = reasons["destructive-counts"]
    assert "holds 1,204 entries" in destroyed["wishlists"][1]
    assert "values in 2 of 4 records" in destroyed["reviews.fax"][1]
    assert "values in 3 of 4 records" in destroyed["reviews.rating"][1]
    partial = reasons["budget-partial"]
    assert any("at least 2 of the 3 scanned (250 records" in r for r in partial["notes.body"][1])
    assert any("not measured" in r and "orders" in r for r in partial["orders.gift_note"][1])


def test_values_outside_a_new_rule_are_judged_by_the_rules() -> None:
    """The `outside` count asks `rules.rule_violations`, as the store does of a write: `true`
    is no `1` of an enum (1 and 1.0 are the same number), and a value that is no number is
    not outside a `between` range (its type, not the new rule, refuses it)."""
    from provisioner.impact import OUTSIDE
    from provisioner.impact_counts import count

    def outside(rule: dict[str, Any], *held: Any) -> int | None:
        records = tuple({"id": str(n), "x": value} for n, value in enumerate(held))
        scan = RecordScan("f", records, len(records), 1, True)
        return count(Need("field:f.x", OUTSIDE, "f", "x", (rule,)), scan, None, None).count

    enum = {"type": "enum", "options": [1, 2]}
    assert outside(enum, 1, 1.0, 2, None, 3, True) == 2  # 3 and true
    between = {"type": "between", "options": {"from": 1, "to": 5}}
    assert outside(between, 1, 5, 5.5, 0, None, "abc") == 2  # 5.5 and 0


def test_a_grown_count_or_a_new_repeated_value_is_a_change_a_smaller_count_is_not() -> None:
    def one(kind: str, count: int, values: tuple[tuple[Any, int], ...] = ()) -> ImpactReport:
        measure = Impact("field:f.x", kind, count, 5, 5, True, values)
        return ImpactReport(100, 1, (measure,))

    assert grown(one("values", 3), one("values", 4)) == ["impact:values:field:f.x"]
    assert grown(one("values", 3), one("values", 2)) == []
    assert grown(one("repeats", 2, (("a", 2),)), one("repeats", 2, (("b", 2),))) == [
        "impact:repeats:field:f.x"
    ]
    unmeasured = ImpactReport(100, 0, (Impact("field:f.x", "values", None, note="budget"),))
    assert grown(one("values", 3), unmeasured) == []  # nothing read now: nothing compared


@pytest.mark.parametrize(
    ("impact", "message"),
    [
        ({"budget": 1}, "whole numbers `budget` and `requests`"),
        ({"budget": 1, "requests": 0, "measures": {}}, "must be a list"),
        ({"budget": 1, "requests": 0, "measures": [{"key": "k", "kind": "x"}]}, "known `kind`"),
        (
            {"budget": 1, "requests": 0, "measures": [{"key": "k", "kind": "values", "count": -1}]},
            "whole number or null",
        ),
    ],
)
def test_a_malformed_impact_report_is_one_plan_error(impact: Any, message: str) -> None:
    with pytest.raises(PlanFormatError, match=message):
        Plan.from_dict({"format_version": 3, "operations": [], "impact": impact})
