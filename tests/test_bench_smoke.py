"""The bench harness cannot rot: a `--quick` run of every suite, checked on counts only.

`bench/run.py --quick` shrinks each suite (tiny scenarios, one fault seed, two kills, a few
fuzz examples, five schemathesis examples per operation) and this test asserts on the
structure and the correctness figures of its report, never on timing: speed is what the full
bench measures (BENCHMARKS.md). One test per suite, so that pytest-xdist spreads them over its
workers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bench import run
from bench.apifuzz import SPEC
from bench.common import minimum_plan_requests

SUITES = ["plan", "planner", "scale", "faults", "kill", "fuzz", "api"]


def quick_run(suite: str, tmp_path: Path) -> tuple[run.Report, str]:
    """`bench/run.py --suite SUITE --quick`: the report and its Markdown; no failed check."""
    out = tmp_path / "bench.md"
    report = run.main(["--suite", suite, "--quick", "--out", str(out)], tmp_path)
    assert report.failures == []
    return report, out.read_text(encoding="utf-8")


def figures(report: run.Report, name: str) -> list[Any]:
    found = report.figures[name]
    assert isinstance(found, list)
    return found


@pytest.mark.slow
@pytest.mark.parametrize("suite", SUITES)
def test_quick_bench_suite_runs_and_every_check_passes(suite: str, tmp_path: Path) -> None:
    if suite == "api" and not SPEC.is_file():
        pytest.skip(f"the OpenAPI spec is not beside the repository ({SPEC})")
    report, text = quick_run(suite, tmp_path)
    if suite == "plan":
        sizes = figures(report, "sizes")
        assert [(r.flows, r.fields) for r in sizes] == [(1, 3), (2, 3)]
        for r in sizes:
            fields = r.flows * r.fields
            assert r.ours["apply"].writes == r.flows + fields
            assert r.ours["replan"].requests == minimum_plan_requests(r.flows, fields)
            assert r.ours["reapply"].writes == 0
            assert r.baseline["apply"].writes == r.flows + fields
            assert r.baseline["replan"].requests == 1 + r.flows + fields  # one GET per object
        assert "Plan: requests" in text
        assert "Apply from empty" in text
    elif suite == "planner":
        assert [f.operations for f in figures(report, "planner")][1:] == [1010, 0, 100]
        assert "Pure planner" in text
    elif suite == "scale":
        scale = figures(report, "scale")
        assert [r.code for r in scale] == [0, 0, 0, 0, 0, 0, 0, 0]
        # export also lists the store's Custom APIs (issue 14): one more request than plan.
        assert [r.requests for r in scale][3:] == [3, 3, 3, 5, 6]
        assert "Scale: whole processes" in text
        assert "CPU per 1,000 fields" in text
    elif suite == "faults":
        assert [f.rows for f in figures(report, "faults")] == [(2, 10), (2, 10)]
    elif suite == "kill":
        assert len(figures(report, "kills")) == 2
        assert "SIGKILLed" in text
    elif suite == "fuzz":
        assert "Bad input" in text
    else:
        assert figures(report, "api")
