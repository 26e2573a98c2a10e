"""`--version` and `validate` start without the heavy libraries they do not use (issue 16).

Commands load lazily: `provisioner --version` and `provisioner validate` of valid files must
not import httpx, rich, deepdiff, the local store or (for valid files) jsonschema. Checked in a
fresh interpreter, since the test process has imported everything already.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("httpx", "rich", "deepdiff", "provisioner.localstore", "provisioner.client", "uvicorn")

PROBE = """
import json, sys
from provisioner.cli import main
try:
    main(sys.argv[1:])
except SystemExit as exit:
    code = exit.code
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def loaded(*argv: str) -> tuple[int, set[str]]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *argv],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    report = json.loads(result.stdout.strip().splitlines()[-1])
    return int(report["code"]), set(report["modules"])


@pytest.mark.parametrize(
    ("argv", "also_absent"),
    [
        (("--version",), ("jsonschema", "provisioner.config", "yaml")),
        (("validate", "examples/"), ("jsonschema",)),
    ],
)
def test_light_commands_import_no_heavy_library(
    argv: tuple[str, ...], also_absent: tuple[str, ...]
) -> None:
    code, modules = loaded(*argv)
    assert code == 0
    assert modules.isdisjoint({*HEAVY, *also_absent}), sorted(modules & {*HEAVY, *also_absent})


def test_invalid_files_still_get_jsonschema_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("flows:\n  wishlists:\n    name: W\n    colour: red\n", encoding="utf-8")
    code, modules = loaded("validate", str(bad))
    assert code == 1
    assert "jsonschema" in modules


# Imported only when the files in hand need them: the Custom API rules (and RE2) for a file
# with `custom_apis:`, the applied record and overlays for a project, the planner for `plan`,
# SQLite for the local store.
ON_DEMAND = (
    "provisioner.custom_api_config",
    "provisioner.custom_api_rules",
    "provisioner.custom_api_checks",
    "re2",
    "provisioner.drift",
    "provisioner.overlay",
    "provisioner.planner",
    "provisioner.projectcheck",
    "sqlite3",
)


def test_flows_only_validate_imports_only_what_it_needs(tmp_path: Path) -> None:
    flows = tmp_path / "flows.yaml"
    flows.write_text(
        "flows:\n  wishlists:\n    name: W\n    fields:\n"
        "      title: {name: Title, field_type: string}\n"
        "      items:\n        name: Items\n        field_type: relationship\n"
        "        validation_rules: [{type: one-to-many, to: registry}]\n",
        encoding="utf-8",
    )
    code, modules = loaded("validate", str(flows))
    assert code == 0
    assert modules.isdisjoint({*HEAVY, *ON_DEMAND, "jsonschema"}), sorted(
        modules & {*HEAVY, *ON_DEMAND, "jsonschema"}
    )


def test_custom_api_rules_load_when_a_file_needs_them(tmp_path: Path) -> None:
    # A file with neither `flows:` nor `custom_apis:` is reported by the Custom API pass.
    neither = tmp_path / "neither.yaml"
    neither.write_text("flow:\n  wishlists: {}\n", encoding="utf-8")
    code, modules = loaded("validate", str(neither), "examples/gift-registries.yaml")
    assert code == 1
    assert "provisioner.custom_api_config" in modules


def test_heavy_commands_still_load() -> None:
    code, modules = loaded("plan", "--help")
    assert code == 0
    assert "httpx" in modules


def test_a_valid_project_file_is_checked_without_jsonschema(tmp_path: Path) -> None:
    # Issue 13 start-up: every --env/--all command reads the project file; jsonschema words
    # the problems of an invalid one only.
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "a.yaml").write_text("flows:\n  wishlists:\n    name: W\n", encoding="utf-8")
    project = tmp_path / "provisioner.toml"
    project.write_text('paths = ["flows/"]\n\n[environments.dev]\n', encoding="utf-8")
    code, modules = loaded("validate", "--project", str(project), "--all")
    assert code == 0
    assert "jsonschema" not in modules
    project.write_text('paths = ["flows/"]\n\n[environments.dev]\ncolour = 1\n', encoding="utf-8")
    code, modules = loaded("validate", "--project", str(project), "--all")
    assert code == 1
    assert "jsonschema" in modules


def test_commands_that_talk_to_a_store_skip_httpx_command_line() -> None:
    # httpx's own command line (rich tables, pygments) is never imported (issue 13 start-up).
    code, modules = loaded("plan", "--help")
    assert code == 0
    assert "httpx" in modules
    assert modules.isdisjoint({"rich", "pygments"}), sorted(modules & {"rich", "pygments"})
