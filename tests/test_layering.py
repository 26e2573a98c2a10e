"""Pure modules never import I/O libraries (design.md: imports run one way)."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

import provisioner

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
    "provisioner.pacing_inflight",
    "provisioner.pacing_noise",
    "provisioner.pacing_tuning",
    "provisioner.pacing_turns",
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


# --- every module in a contract (issue 12 item 6) ---------------------------------------------

ROOT = Path(__file__).resolve().parent.parent
PURE_CORE = "The pure core imports no adapter and no I/O library"
LOCAL_STORE = "The local store imports only the API facts, the rules and errors"
VIEWS = "Views import no adapter"
# What the local store may import: the API's facts, the rules (the Custom API rules and their
# building blocks among them), errors, and `printable`, which the rules' wording uses.
LOCAL_STORE_MAY_IMPORT = {
    "provisioner.custom_api_checks",
    "provisioner.custom_api_rules",
    "provisioner.custom_api_values",
    "provisioner.epcc",
    "provisioner.errors",
    "provisioner.printable",
    "provisioner.rules",
}


def _contracts() -> dict[str, dict[str, Any]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return {c["name"]: c for c in config["tool"]["importlinter"]["contracts"]}


def _package_modules() -> set[str]:
    """The contracts' unit: each module and subpackage directly under `provisioner/`."""
    return {f"provisioner.{info.name}" for info in pkgutil.iter_modules(provisioner.__path__)}


def _ours(modules: list[str]) -> set[str]:
    return {module for module in modules if module.startswith("provisioner.")}


def _marked_pure(readme: str) -> set[str]:
    """The modules and packages directly under `provisioner/` that README's map marks pure."""
    block = readme[readme.index("```text\nprovisioner/\n") :].split("```", 2)[1]
    marked = set()
    for line in block.splitlines():
        if line.startswith("  ") and not line.startswith("   ") and "(pure" in line:
            name = line.split()[0].removesuffix(".py").removesuffix("/")
            marked.add(f"provisioner.{name}")
    return marked


def test_every_module_is_pure_core_or_adapter_in_the_contracts() -> None:
    """A new module must be put in the pure core's contract (its sources) or among the adapters
    that contract forbids; none is in both, and the local store's and the views' contracts
    forbid every module they may not use, not a hand-kept subset."""
    contracts = _contracts()
    modules = _package_modules()
    pure = set(contracts[PURE_CORE]["source_modules"])
    adapters = _ours(contracts[PURE_CORE]["forbidden_modules"])
    where = "pyproject.toml [tool.importlinter]"
    unclassified = sorted(modules - pure - adapters)
    assert not unclassified, (
        f"add to the pure core's sources or forbidden ({where}): {unclassified}"
    )
    assert not pure & adapters
    assert not (pure | adapters) - modules, "a contract names a module that does not exist"
    store_forbidden = _ours(contracts[LOCAL_STORE]["forbidden_modules"])
    missing = sorted(
        modules - LOCAL_STORE_MAY_IMPORT - {"provisioner.localstore"} - store_forbidden
    )
    assert not missing, f"the local store's contract does not forbid {missing} ({where})"
    views_missing = sorted(
        adapters - {"provisioner.views"} - _ours(contracts[VIEWS]["forbidden_modules"])
    )
    assert not views_missing, f"the views' contract does not forbid {views_missing} ({where})"


def test_what_readme_marks_pure_is_in_the_pure_core_contract() -> None:
    marked = _marked_pure((ROOT / "README.md").read_text(encoding="utf-8"))
    assert {"provisioner.planner", "provisioner.config"} <= marked  # the reader works
    pure = set(_contracts()[PURE_CORE]["source_modules"])
    assert sorted(marked - pure) == []
