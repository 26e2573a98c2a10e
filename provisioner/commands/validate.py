"""`provisioner validate PATH...`: check desired-state YAML offline and report every problem.

No network call is made. Text output is one line per problem,
`file:line:col: path: what is wrong (expected what)`, sorted, then a summary; `--format json`
prints one JSON object for machines. Exit 0 when the files are valid, 1 otherwise.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from provisioner.commands._planfile import refuse_saved_plan
from provisioner.commands._project import Choice, load_chosen, project_options, shared_paths
from provisioner.config import find_yaml_files, load_desired
from provisioner.errors import ConfigError, Diagnostic
from provisioner.model import State

if TYPE_CHECKING:
    from provisioner.custom_api_model import CustomApi

EXIT_VALID = 0
EXIT_INVALID = 1


@click.command("validate")
@click.argument("paths", nargs=-1, metavar="[PATH]...", type=click.Path(path_type=str))
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text for people, json for machines.",
)
@project_options()
def command(paths: tuple[str, ...], output_format: str, choice: Choice) -> int:
    """Check flow YAML files offline: format, JSON Schema and API rules.

    PATH is a file or a directory (its *.yaml and *.yml files, sorted, not recursive).
    Every problem is reported, sorted, as file:line:col: path: problem (expected ...).
    Exit code 0 when valid, 1 otherwise. No network call is made.

    \b
    Examples:
      provisioner validate flows/
      provisioner validate flows/customers.yaml flows/store.yaml --format json
      provisioner validate --env staging           the shared files with staging's overlays
      provisioner validate --all                   every environment of provisioner.toml
    """
    refuse_saved_plan([Path(p) for p in paths], "validate", choice.env)
    project = load_chosen(choice, needed=not paths)
    if choice.env is not None or choice.all:
        assert project is not None
        # Imported here: the environments module needs the client, a plain validate does not.
        from provisioner.commands._environments import validate_environments

        return validate_environments(project, [Path(p) for p in paths], choice.env, output_format)
    paths = tuple(str(p) for p in shared_paths([Path(p) for p in paths], project))
    files, _ = find_yaml_files(paths)
    try:
        state = load_desired(paths)
    except ConfigError as error:
        diagnostics = list(error.diagnostics)
        flows = fields = 0
    else:
        diagnostics = []
        flows, fields = len(state.flows), state.field_count()
    warnings = [] if diagnostics else unchecked_target_warnings(state)
    custom = {} if diagnostics else state.custom_apis
    if not diagnostics:
        warnings += unchecked_parent_warnings(state)
    if output_format == "json":
        report = _as_json(files, diagnostics, flows, fields, custom)
        if warnings:
            report["warnings"] = warnings
        click.echo(json.dumps(report, indent=2))
    else:
        for diagnostic in diagnostics:
            click.echo(str(diagnostic))
        for warning in warnings:
            click.echo(f"warning: {warning}")
        click.echo(_summary(len(files), diagnostics, flows, fields, custom))
    return EXIT_INVALID if diagnostics else EXIT_VALID


def unchecked_target_warnings(state: State) -> list[str]:
    """One line per relationship to a flow these files do not declare (a live flow, perhaps):
    offline it cannot be checked, so it is a warning, and `plan` checks it against the store."""
    # After the files are read, and from planchecks, not the whole planner (issue 16).
    from provisioner.planchecks import undeclared_targets

    return [
        f"flows.{flow}.fields.{field}: relationship target `{target}` is not declared in these "
        "files; validate cannot check it offline (plan checks that the store has that flow)"
        for flow, field, target in undeclared_targets(state)
    ]


def unchecked_parent_warnings(state: State) -> list[str]:
    """One line per parent Custom API these files do not declare (plan checks the store)."""
    if not state.custom_apis:
        return []
    from provisioner.custom_api_config import undeclared_parents  # only then (issue 16)

    return [
        f"custom_apis.{slug}.parent_apis: `{parent}` is not declared in these files; validate "
        "cannot check it offline (plan checks that the store has that Custom API)"
        for slug, parent in undeclared_parents(state)
    ]


def _summary(
    file_count: int,
    diagnostics: list[Diagnostic],
    flows: int,
    fields: int,
    custom: Mapping[str, CustomApi] | None = None,
) -> str:
    """The last line; the Custom APIs counted when there are any (`validate --env/--all`
    too)."""
    files = f"{file_count} file{'s' if file_count != 1 else ''}"
    if diagnostics:
        count = len(diagnostics)
        return f"{count} problem{'s' if count != 1 else ''} found in {files}."
    apis = ""
    if custom:
        count = sum(len(api.fields) for api in custom.values())
        apis = (
            f", {len(custom)} Custom API{'s' if len(custom) != 1 else ''} "
            f"({count} field{'s' if count != 1 else ''})"
        )
    return (
        f"{files} valid: {flows} flow{'s' if flows != 1 else ''}, "
        f"{fields} field{'s' if fields != 1 else ''}{apis}."
    )


def _as_json(
    files: list[Any],
    diagnostics: list[Diagnostic],
    flows: int,
    fields: int,
    custom: Mapping[str, CustomApi] | None = None,
) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    if custom:
        extra["custom_apis"] = len(custom)
        extra["custom_fields"] = sum(len(api.fields) for api in custom.values())
    report = {
        "valid": not diagnostics,
        "files": [str(file) for file in files],
        "flows": flows,
        "fields": fields,
        "diagnostics": [
            {
                "file": d.file,
                "line": d.line,
                "column": d.column,
                "path": d.path,
                "message": d.message,
                "expected": d.expected,
                "text": str(d),
            }
            for d in diagnostics
        ],
    }
    return report | extra
