"""The environment workflows in examples/ci/ (issue 13.7) stay valid: YAML, triggers, jobs,
and every `provisioner ...` command parsed by the real click command."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from provisioner.cli import cli

EXAMPLES = Path(__file__).parent.parent / "examples" / "ci"
WORKFLOWS = ("drift.yml", "promotion.yml")


def workflow(name: str) -> dict[Any, Any]:
    data = yaml.safe_load((EXAMPLES / name).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def triggers(data: dict[Any, Any]) -> dict[str, Any]:
    found = data[True] if True in data else data["on"]  # YAML 1.1: on -> True
    assert isinstance(found, dict)
    return found


def commands(name: str) -> list[list[str]]:
    found = []
    for job in workflow(name)["jobs"].values():
        for step in job["steps"]:
            for line in str(step.get("run", "")).splitlines():
                line = line.strip()
                if line.startswith("provisioner "):
                    words = shlex.split(line.split(">")[0].split("||")[0])
                    found.append([w for w in words[1:] if not w.startswith("$ALLOW")])
    return found


def test_the_drift_workflow_runs_on_a_schedule_and_keeps_one_issue() -> None:
    data = workflow("drift.yml")
    assert "schedule" in triggers(data)
    assert ["plan", "--all", "--detailed-exitcode", "--format", "markdown", "--no-color"] in (
        commands("drift.yml")
    )
    steps = data["jobs"]["drift"]["steps"]
    text = "\n".join(str(step.get("run", "")) for step in steps)
    assert "gh issue edit" in text
    assert "gh issue create" in text
    assert "gh issue close" in text


def test_the_promotion_workflow_comments_then_applies_staging_then_production() -> None:
    data = workflow("promotion.yml")
    assert "pull_request" in triggers(data)
    assert triggers(data)["push"]["branches"] == ["main"]
    jobs = data["jobs"]
    assert jobs["apply-production"]["needs"] == "apply-staging"
    assert jobs["apply-production"]["environment"] == "production"
    found = [" ".join(words[:3]) for words in commands("promotion.yml")]
    assert "plan --all --format" in found
    assert "apply --env staging" in found
    assert "apply --env production" in found


@pytest.mark.parametrize(
    "words",
    [words for name in WORKFLOWS for words in commands(name)],
    ids=" ".join,
)
def test_every_command_in_the_workflows_parses(words: list[str]) -> None:
    name, *args = words
    command = cli.get_command(click.Context(cli), name)  # commands load lazily
    assert command is not None, f"the workflow runs an unknown command {name!r}"
    with command.make_context(name, args) as ctx:
        assert isinstance(ctx, click.Context)
