"""Pure modules never import I/O libraries (design.md: imports run one way)."""

from __future__ import annotations

import subprocess
import sys

import pytest

PURE_MODULES = [
    "provisioner.model",
    "provisioner.plan",
    "provisioner.errors",
    "provisioner.normalize",
    "provisioner.graph",
    "provisioner.planner",
    "provisioner.planchecks",
    "provisioner.attrdiff",
    "provisioner.safety",
    "provisioner.yamlemit",
    "provisioner.asyncrun",
    "provisioner.gcpause",
    "provisioner.views.text",
    "provisioner.views.json",
    "provisioner.views.markdown",
    "provisioner.exporter",
    "provisioner.project",
    "provisioner.overlay",
    "provisioner.drift",
    "provisioner.ownership",
    "provisioner.views.environments",
    "provisioner.epcc.flows",
    "provisioner.rules",
    "provisioner.pacing",
]
FORBIDDEN = ["httpx", "click", "rich", "starlette", "uvicorn", "provisioner.localstore"]


@pytest.mark.parametrize("module", PURE_MODULES)
def test_pure_module_imports_no_io_library(module: str) -> None:
    code = (
        f"import sys, {module}\n"
        f"bad = [m for m in {FORBIDDEN!r} if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""
