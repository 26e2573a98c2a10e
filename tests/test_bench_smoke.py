"""The bench harness cannot rot: a `--quick` run of every suite, checked on counts only.

`bench/run.py --quick` shrinks each suite (tiny scenarios, one fault seed, two kills, a few
fuzz examples, five schemathesis examples per operation) and this test asserts on the
structure and the correctness figures of its report, never on timing: speed is what the full
bench measures (BENCHMARKS.md).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import run
from bench.apifuzz import SPEC
from bench.common import minimum_plan_requests


@pytest.mark.slow
def test_quick_bench_runs_every_suite_and_every_check_passes(tmp_path: Path) -> None:
    suites = ["plan", "planner", "scale", "faults", "kill", "fuzz"]
    if SPEC.is_file():
        suites.append("api")
    argv = [arg for suite in suites for arg in ("--suite", suite)]
    report = run.main([*argv, "--quick", "--out", str(tmp_path / "bench.md")], tmp_path)

    assert report.failures == []
    sizes = report.figures["sizes"]
    assert [(r.flows, r.fields) for r in sizes] == [(1, 3), (2, 3)]  # type: ignore[attr-defined]
    for r in sizes:  # type: ignore[attr-defined]
        fields = r.flows * r.fields
        assert r.ours["apply"].writes == r.flows + fields
        assert r.ours["replan"].requests == minimum_plan_requests(r.flows, fields)
        assert r.ours["reapply"].writes == 0
        assert r.baseline["apply"].writes == r.flows + fields
        assert r.baseline["replan"].requests == 1 + r.flows + fields  # one GET per object
    planner = report.figures["planner"]
    assert [f.operations for f in planner][1:] == [1010, 0, 100]  # type: ignore[attr-defined]
    faults = report.figures["faults"]
    assert [f.rows for f in faults] == [(2, 10), (2, 10)]  # type: ignore[attr-defined]
    assert len(report.figures["kills"]) == 2  # type: ignore[arg-type]
    scale = report.figures["scale"]
    assert [r.code for r in scale] == [0, 0, 0, 0, 0, 0, 0, 0]  # type: ignore[attr-defined]
    assert [r.requests for r in scale][3:] == [3, 3, 3, 5, 5]  # type: ignore[attr-defined]
    text = (tmp_path / "bench.md").read_text(encoding="utf-8")
    titles = ("Plan: requests", "Apply from empty", "Pure planner", "SIGKILLed", "Bad input")
    for title in (*titles, "Scale: whole processes", "CPU per 1,000 fields"):
        assert title in text
