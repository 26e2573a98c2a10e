"""The resilience bench suites (issue 17) cannot rot: a `--quick` run, checked on outcomes.

`--suite heavy --quick`: one seed of a 2×5 scenario through 50% failed and 30% lost answers,
CLI applies until converged; `--suite concurrent --quick`: two simultaneous CLI applies of
2×5. Asserted: the store ends equal to the files, nothing twice, and both simultaneous applies
exit 0; never timing. One test per suite, so that pytest-xdist spreads them over its workers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bench import run


def quick_run(suite: str, tmp_path: Path) -> tuple[Any, str]:
    """`bench/run.py --suite SUITE --quick`: its one figure and its Markdown; no failed check."""
    out = tmp_path / "bench.md"
    report = run.main(["--suite", suite, "--quick", "--out", str(out)], tmp_path)
    assert report.failures == []
    found = report.figures[suite]
    assert isinstance(found, list)
    [figure] = found
    return figure, out.read_text(encoding="utf-8")


@pytest.mark.slow
def test_quick_heavy_faults_suite_converges_without_duplicates(tmp_path: Path) -> None:
    heavy, text = quick_run("heavy", tmp_path)
    assert heavy.applies >= 1
    assert heavy.rows == (2, 10)
    assert heavy.duplicates == []
    assert "Heavy faults" in text


@pytest.mark.slow
def test_quick_simultaneous_applies_suite_converges_without_duplicates(tmp_path: Path) -> None:
    together, text = quick_run("concurrent", tmp_path)
    assert together.codes == [0, 0]
    assert together.equal
    assert together.extra_applies == 0
    assert together.rows == (2, 10)
    assert together.duplicates == []
    assert "Simultaneous applies" in text
