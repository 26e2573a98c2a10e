"""`make demo-environments` runs: examples/demo-environments.sh end to end (issue 13, the
local demo): dev applied, staging and production pending, production refused until staging
is applied, everything in sync, then a change made by hand reported as drift."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # see the `slow` marker in pyproject.toml

REPO = Path(__file__).parent.parent


def test_the_environments_demo_rolls_out_in_order_and_reports_drift(tmp_path: Path) -> None:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("EPCC_") and key not in ("CI", "DEMO_DIR")
    }
    env["CI"] = "true"  # the script unsets it: its environments are embedded on purpose
    env["DEMO_DIR"] = str(tmp_path / "demo")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    result = subprocess.run(
        ["bash", str(REPO / "examples" / "demo-environments.sh")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "staging           3       0        0       0  unknown  changes" in result.stdout
    assert "refusing to apply production: it comes after staging" in result.stderr
    assert "production        0       0        0       0  no     in sync" in result.stdout
    assert "production        0       1        0       0  drifted  changes" in result.stdout
    assert "Drift (live changes no file asked for):\n  ~ update_field customers.loyalty_tier" in (
        result.stdout
    )
    project = tmp_path / "demo" / "project"
    assert sorted(p.name for p in (project / ".provisioner").glob("*.sqlite")) == [
        "dev.sqlite",
        "production.sqlite",
        "staging.sqlite",
    ]
