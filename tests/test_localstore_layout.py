"""The local store's shape (issue 12.5): the checks load without the web framework, the store
imports only the API's facts, the rules and its own errors, and no module grows past ~400 lines.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

STORE = Path(__file__).resolve().parents[1] / "provisioner" / "localstore"
WEB = ["starlette", "uvicorn", "httpx"]
# What the local store may import from the rest of the package.
ALLOWED = ("provisioner.localstore", "provisioner.epcc", "provisioner.rules",
           "provisioner.custom_api_rules", "provisioner.errors")  # fmt: skip


@pytest.mark.parametrize("module", ["validation", "errors", "storage", "settings"])
def test_the_checks_and_storage_load_without_the_web_framework(module: str) -> None:
    code = (
        f"import sys, provisioner.localstore.{module}\n"
        f"print(','.join(m for m in {WEB!r} if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


def test_the_public_names_still_load_on_first_use() -> None:
    import provisioner.localstore as store

    assert store.StoreSettings(latency_ms=1).latency_ms == 1
    assert store.STATS_ROUTE == "/v2/local-store/stats"
    with pytest.raises(AttributeError):
        _ = store.no_such_name


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


@pytest.mark.parametrize("path", sorted(STORE.glob("*.py")), ids=lambda p: p.name)
def test_the_store_imports_only_the_facts_the_rules_and_errors(path: Path) -> None:
    outside = sorted(
        name
        for name in _imports(path)
        if name.startswith("provisioner.") and not name.startswith(ALLOWED)
    )
    assert outside == []
    assert len(path.read_text(encoding="utf-8").splitlines()) <= 420, path.name
