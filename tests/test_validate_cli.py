"""`provisioner validate` and `provisioner schema` as users run them: exit codes, text and
JSON output, help examples, and the pre-commit hook definition."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from provisioner.cli import main

ROOT = Path(__file__).resolve().parent.parent
INVALID = ROOT / "tests" / "invalid"


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        main(args)
    out, err = capsys.readouterr()
    code = exited.value.code
    return (code if isinstance(code, int) else 1), out, err


def test_valid_examples_exit_0_with_a_summary(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["validate", str(ROOT / "examples")], capsys)
    assert code == 0
    assert out == "3 files valid: 3 flows, 13 fields, 2 Custom APIs (8 fields).\n"


def test_invalid_input_exits_1_and_lists_every_problem(
    capsys: pytest.CaptureFixture[str],
) -> None:
    files = [INVALID / "default_wrong_type.yaml", INVALID / "relationship_unknown_target.yaml"]
    code, out, _ = run(["validate", *map(str, files)], capsys)
    assert code == 1
    lines = out.splitlines()
    expected = [
        line.replace(f"{p.name}:", f"{p}:", 1)
        for p in files
        for line in (INVALID / f"{p.stem}.expected").read_text("utf-8").splitlines()
    ]
    assert lines == [*expected, "2 problems found in 2 files."]


def test_json_format_for_machines(capsys: pytest.CaptureFixture[str]) -> None:
    target = INVALID / "relationship_required.yaml"
    code, out, _ = run(["validate", "--format", "json", str(target)], capsys)
    assert code == 1
    report = json.loads(out)
    assert report == {
        "valid": False,
        "files": [str(target)],
        "flows": 0,
        "fields": 0,
        "diagnostics": [
            {
                "file": str(target),
                "line": 8,
                "column": 19,
                "path": "flows.wishlists.fields.owner.required",
                "message": "a relationship field cannot be required",
                "expected": "false, which the API requires for relationships",
                "text": (INVALID / "relationship_required.expected")
                .read_text("utf-8")
                .strip()
                .replace("relationship_required.yaml", str(target)),
            }
        ],
    }


def test_json_format_when_valid(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["validate", str(ROOT / "examples"), "--format", "json"], capsys)
    assert code == 0
    report = json.loads(out)
    assert report["valid"] is True
    assert report["diagnostics"] == []
    assert (report["flows"], report["fields"]) == (3, 13)
    assert (report["custom_apis"], report["custom_fields"]) == (2, 8)
    names = [Path(f).name for f in report["files"]]
    assert names == ["customers.yaml", "gift-registries.yaml", "store.yaml"]


def test_a_missing_path_exits_1(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = run(["validate", str(tmp_path / "nope")], capsys)
    assert code == 1
    assert "no such file or directory" in out


def test_validate_needs_a_path(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["validate"], capsys)
    assert code == 1
    assert "Missing argument" in err


@pytest.mark.parametrize(
    ("command", "example"),
    [("validate", "provisioner validate flows/"), ("schema", "provisioner schema >")],
)
def test_help_shows_an_example(
    command: str, example: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run([command, "--help"], capsys)
    assert code == 0
    assert example in out


def test_schema_prints_the_shipped_schema(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["schema"], capsys)
    assert code == 0
    assert json.loads(out) == json.loads((ROOT / "schemas" / "provisioner.schema.json").read_text())


def test_python_dash_m_validate_in_a_fresh_process() -> None:
    env = {**os.environ, "NO_COLOR": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "provisioner", "validate", "examples/", "--format", "json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["valid"] is True


# --- pre-commit -------------------------------------------------------------------------------


def test_pre_commit_hook_definition() -> None:
    [hook] = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text("utf-8"))
    assert hook["id"] == "provisioner-validate"
    assert hook["entry"] == "provisioner validate"
    assert hook["language"] == "python"
    # Whole directories, so cross-file checks (relationship targets, flows declared twice)
    # see every file even when only one changed.
    assert hook["pass_filenames"] is False
    files = re.compile(hook["files"])
    assert files.search("flows/customers.yaml")
    assert files.search("flows/store.yml")
    assert not files.search("flows/README.md")


def test_the_hook_command_runs_on_a_repository_layout(tmp_path: Path) -> None:
    [hook] = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text("utf-8"))
    (tmp_path / "flows").mkdir()
    (tmp_path / "flows" / "customers.yaml").write_bytes(
        (ROOT / "examples/customers.yaml").read_bytes()
    )
    entry = [sys.executable, "-m", "provisioner", *hook["entry"].split()[1:], *hook["args"]]
    ok = subprocess.run(entry, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    (tmp_path / "flows" / "broken.yaml").write_text("flows:\n  customer: {name: C}\n")
    bad = subprocess.run(entry, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert bad.returncode == 1
    assert "flows/broken.yaml:2:3: flows.customer: `customer` is reserved" in bad.stdout


def test_readme_validate_block_matches_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    block = readme.split("## validate\n", 1)[1].split("```text\n", 1)[1].split("```", 1)[0]
    (tmp_path / "flows").mkdir()
    for source, name in [
        ("default_wrong_type.yaml", "customers.yaml"),
        ("relationship_unknown_target.yaml", "wishlists.yaml"),
    ]:
        (tmp_path / "flows" / name).write_bytes((INVALID / source).read_bytes())
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(["validate", "flows/"], capsys)
    assert code == 1
    assert out == block
