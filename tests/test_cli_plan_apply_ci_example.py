"""The GitHub Actions example (examples/ci/) stays valid: YAML, jobs, and real CLI options.

Every `provisioner ...` command in the workflow is parsed by the real click command, so an
option renamed or removed in the CLI breaks this test instead of users' pipelines.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from provisioner.cli import cli

WORKFLOW = Path(__file__).parent.parent / "examples" / "ci" / "github-actions.yml"


def _workflow() -> dict[Any, Any]:
    data = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _provisioner_commands() -> list[list[str]]:
    commands = []
    for job in _workflow()["jobs"].values():
        for step in job["steps"]:
            for line in str(step.get("run", "")).splitlines():
                line = line.strip()
                if line.startswith("provisioner "):
                    words = shlex.split(line.split(">")[0].split("||")[0])
                    # Shell variables stand for values (or, unquoted, for optional flags).
                    commands.append([w for w in words[1:] if not w.startswith("$ALLOW")])
    return commands


def test_the_workflow_plans_on_pull_requests_and_applies_the_saved_plan_on_main() -> None:
    workflow = _workflow()
    triggers = workflow[True] if True in workflow else workflow["on"]  # YAML 1.1: on -> True
    assert "pull_request" in triggers
    assert triggers["push"]["branches"] == ["main"]
    commands = [" ".join(words[:2]) for words in _provisioner_commands()]
    assert "plan $FLOWS" in commands
    assert "apply plan.json" in commands
    assert workflow["jobs"]["apply"]["environment"] == "production"


@pytest.mark.parametrize("words", _provisioner_commands(), ids=" ".join)
def test_every_command_in_the_workflow_parses(
    words: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The files the commands name exist in a checkout; click checks that they do.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "flows").mkdir()
    (tmp_path / "plan.json").write_text("{}")
    name, *args = words
    command = cli.get_command(click.Context(cli), name)  # commands load lazily (issue 16)
    assert command is not None
    with command.make_context(name, [a.replace("$FLOWS", "flows/") for a in args]) as ctx:
        assert isinstance(ctx, click.Context)
