"""`make demo` runs: examples/demo.sh end to end on a fresh embedded local store.

The script is run as `make demo` runs it (the venv's bin first on PATH), with a throw-away
store directory and no store configured, so it cannot rot unnoticed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # see the `slow` marker in pyproject.toml

REPO = Path(__file__).parent.parent


def test_demo_script_runs_the_main_job_end_to_end(tmp_path: Path) -> None:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("EPCC_") and key not in ("CI", "DEMO_DIR")
    }
    # --local in the script keeps it on the embedded store even with CI set: prove it.
    env["CI"] = "true"
    env["DEMO_DIR"] = str(tmp_path / "demo")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    result = subprocess.run(
        ["bash", str(REPO / "examples" / "demo.sh")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Apply complete:" in result.stdout
    assert "No changes." in result.stdout
    assert '"name": "Ron Swanson"' in result.stdout
    assert '"delivery_details": "Do NOT leave in a government building"' in result.stdout
    assert "Leave in Leslie Knope's office" in result.stdout
    assert (tmp_path / "demo" / "local-store.sqlite").is_file()
    # The default store file of the working directory was not touched.
    assert not (tmp_path / ".provisioner").exists()
    assert not (REPO / "examples" / ".provisioner").exists()
