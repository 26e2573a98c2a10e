"""The resilience bench suites (issue 17) cannot rot: a `--quick` run, checked on outcomes.

`--suite heavy --quick`: one seed of a 2×5 scenario through 50% failed and 30% lost answers,
CLI applies until converged; `--suite concurrent --quick`: two simultaneous CLI applies of
2×5. Asserted: the store ends equal to the files, nothing twice, and both simultaneous applies
exit 0; never timing.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import run


@pytest.mark.slow
def test_quick_resilience_suites_converge_without_duplicates(tmp_path: Path) -> None:
    argv = ["--suite", "heavy", "--suite", "concurrent", "--quick"]
    report = run.main([*argv, "--out", str(tmp_path / "bench.md")], tmp_path)
    assert report.failures == []
    [heavy] = report.figures["heavy"]  # type: ignore[misc]
    assert heavy.applies >= 1
    assert heavy.rows == (2, 10)
    assert heavy.duplicates == []
    [together] = report.figures["concurrent"]  # type: ignore[misc]
    assert together.codes == [0, 0]
    assert together.equal
    assert together.extra_applies == 0
    assert together.rows == (2, 10)
    assert together.duplicates == []
    text = (tmp_path / "bench.md").read_text(encoding="utf-8")
    assert "Heavy faults" in text
    assert "Simultaneous applies" in text
