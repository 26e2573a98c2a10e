"""Every command documents itself: `--help` with a short example, and `--version`."""

from __future__ import annotations

import click
import pytest
from support import Cli

from provisioner import __version__
from provisioner.cli import cli as group

COMMANDS = sorted(group.list_commands(click.Context(group)))  # loaded lazily (issue 16)


def test_every_issue_command_is_registered() -> None:
    # `convert`: issue 14 item 7 (a custom flow to a Custom API).
    assert COMMANDS == ["apply", "convert", "diff", "export", "plan", "schema", "serve", "validate"]


@pytest.mark.parametrize("command", COMMANDS)
def test_help_shows_an_example(cli: Cli, command: str) -> None:
    result = cli(command, "--help")
    assert result.code == 0
    assert "Examples:" in result.out
    assert f"provisioner {command}" in result.out.split("Examples:", 1)[1]


def test_version(cli: Cli) -> None:
    result = cli("--version")
    assert result.code == 0
    assert result.out.strip() == f"provisioner, version {__version__}"
