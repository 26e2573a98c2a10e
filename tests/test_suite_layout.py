"""The test suite's own rules (issue 12.7): shared support comes from `tests/support/`, never
from another test module, and nothing reaches `bench` or `support` by editing `sys.path`."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def _python_files() -> list[Path]:
    return sorted(TESTS.glob("*.py")) + sorted((TESTS / "support").glob("*.py"))


def _imported_modules(tree: ast.AST) -> list[str]:
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.append(node.module)
    return names


def test_no_test_imports_another_test_module_or_conftest() -> None:
    offending = [
        f"{path.name}: {module}"
        for path in _python_files()
        for module in _imported_modules(ast.parse(path.read_text("utf-8")))
        if module.split(".")[0] in ("tests", "conftest") or module.startswith("test_")
    ]
    assert offending == [], "import shared helpers from tests/support/ instead"


def test_no_test_edits_sys_path() -> None:
    offending = []
    for path in _python_files():
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if (
                isinstance(node, ast.Attribute)
                and node.attr == "path"
                and isinstance(node.value, ast.Name)
                and node.value.id == "sys"
            ):
                offending.append(f"{path.name}:{node.lineno}")
    assert offending == [], "bench and support are importable (pytest pythonpath)"
