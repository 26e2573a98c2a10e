"""`provisioner export`: write the YAML of an existing store, to adopt it in one command.

Reads the store through the list endpoints only (`reader.read_live_state`: two paginated
lists, so read-only credentials suffice and the cost does not grow per object) and writes our
format (`exporter`): to stdout, one file (`-o flows.yaml`) or one file per flow (`-o flows/`,
any existing directory or a path ending in `/`).

Writing never clobbers silently: when any target file exists the command refuses, names every
such file, and writes nothing, unless `--force`. Every file or none (`_output.write_files`):
temporary files with short names beside the targets, renamed into place, all put back if any
fails, so a failed or interrupted export leaves no half-written YAML and no partial set.

The schema modeline points at `schemas/provisioner.schema.json` in the current directory (the
root of the user's repository, where `provisioner schema > schemas/provisioner.schema.json`
puts it), written relative to each file so the repository can move; `--schema-ref` overrides
it (a URL, or any path), `--schema-ref ''` leaves it out. README: "export: adopting an
existing store".
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath

import click

from provisioner import asyncrun
from provisioner.commands._output import ensure_directory, refuse_existing
from provisioner.commands._output import write_files as _write_all
from provisioner.commands._project import (
    Choice,
    Selected,
    open_store,
    project_options,
    select,
)
from provisioner.commands._target import Target, store_options
from provisioner.config import validate_paths
from provisioner.custom_api_reader import with_custom_apis
from provisioner.errors import Diagnostic, ExportError, OutputError
from provisioner.exporter import DEFAULT_SCHEMA_LOCATION, export_files, export_text
from provisioner.model import State
from provisioner.reader import read_live_state
from provisioner.yamlload import MAX_FILE_BYTES

EXIT_OK = 0


@click.command("export")
@click.option(
    "--flow",
    "flow_slugs",
    multiple=True,
    metavar="SLUG",
    help="Export only this flow (repeatable). Default: every flow of the store.",
)
@click.option(
    "-o",
    "--output",
    metavar="FILE|DIR/",
    help="Write one file, or one <slug>.yaml per flow into a directory (an existing one, or a "
    "path ending in /). Default: stdout.",
)
@click.option("--force", is_flag=True, help="Overwrite files that already exist.")
@click.option(
    "--schema-ref",
    metavar="REF",
    help="What the `# yaml-language-server: $schema=` modeline points at (a URL or a path; "
    f"'' for none). Default: ./{DEFAULT_SCHEMA_LOCATION}, relative to each written file.",
)
@store_options
@project_options(all_flag=False)
def command(
    flow_slugs: Sequence[str],
    output: str | None,
    force: bool,
    schema_ref: str | None,
    target: Target,
    choice: Choice,
) -> int:
    """Write the flows and fields of a store as YAML in provisioner's format.

    \b
    Examples:
      provisioner export                          print every flow
      provisioner export -o flows/                one file per flow: flows/customers.yaml, ...
      provisioner export --flow customers -o customers.yaml
      provisioner export --env staging             adopt it: the project's shared files
    Then `provisioner plan flows/` shows no changes: the store is adopted.
    """
    selected = select(choice, [Path(".")], target)  # export reads no PATH
    target = selected.target
    if output is None and selected.env is not None:
        output = adopt_into(selected)
    if output is not None and not output.strip():
        raise OutputError(
            "-o/--output is empty: give a file (flows.yaml) or a directory (flows/); "
            "nothing was read or written."
        )
    if output is not None and not force and _is_file_target(output) and Path(output).exists():
        write_files({Path(output): ""}, force=False)  # refuse before spending any request
    elif output is not None and _is_file_target(output):
        refuse_existing([Path(output)], force=True)  # a FIFO or a device, before any request
    live = asyncrun.run(_read(target, flow_slugs, selected.env))
    _check_flows_found(live, flow_slugs)
    if output is None:
        ref = DEFAULT_SCHEMA_LOCATION if schema_ref is None else schema_ref
        text = export_text(live, ref or None)
        click.echo(text, nl=False)
        _warn_if_invalid_text(text)
        return EXIT_OK
    directory = not _is_file_target(output)
    base = Path(output) if directory else Path(output).parent
    ref = _schema_ref(base) if schema_ref is None else schema_ref
    if directory:
        files = {base / name: text for name, text in export_files(live, ref or None).items()}
        where = f"{base}{os.sep} ({len(files)} file{'s' if len(files) != 1 else ''})"
    else:
        files = {Path(output): export_text(live, ref or None)}
        where = output
    if directory and not files:
        ensure_directory(base)
    _check_sizes(files, directory)
    write_files(files, force=force)
    _report(live, where, modeline_default=schema_ref is None)
    _warn_if_invalid(list(files))
    return EXIT_OK


def adopt_into(selected: Selected) -> str | None:
    """Where `export --env NAME` writes without `-o`: an environment without overlays is
    adopted as the project's shared files (its first `paths` directory); else stdout."""
    project = selected.project
    assert project is not None
    assert selected.env is not None
    env = project.environment(selected.env)
    if env.overlays or not project.paths or not project.paths[0].is_dir():
        return None
    return f"{project.paths[0]}{os.sep}"


def _check_sizes(files: Mapping[Path, str], directory: bool) -> None:
    """Issue 16: never write a file that `validate` refuses for its size (the loader reads at
    most `MAX_FILE_BYTES`). One file of a large store is refused before anything is written,
    pointing at directory output, where each flow (at most 100 fields, 4.2) is a file."""
    for path, text in files.items():
        size = len(text.encode("utf-8"))
        if size <= MAX_FILE_BYTES:
            continue
        hint = (
            "this flow alone is too large for one file"
            if directory
            else f"write one file per flow instead: -o {path.parent / path.stem}{os.sep}"
        )
        raise ExportError(
            f"{path} would be {size} bytes, more than the {MAX_FILE_BYTES} bytes validate reads "
            f"in one file; {hint}. Nothing was written."
        )


def _is_file_target(output: str) -> bool:
    """`-o` names one file unless it ends with a slash or is an existing directory."""
    return not (output.endswith(("/", os.sep)) or Path(output).is_dir())


async def _read(target: Target, flow_slugs: Sequence[str], env: str | None = None) -> State:
    async with open_store(target, env) as client:
        live = await read_live_state(client, flow_slugs or None)
        if not flow_slugs:  # issue 14: every Custom API too (`--flow` asks for flows only)
            if client.read_only:
                click.echo(
                    "Custom APIs are not exported: reading their definitions needs client "
                    "credentials (set EPCC_CLIENT_SECRET).",
                    err=True,
                )
            else:
                live = await with_custom_apis(client, live)
        if target.verbose:
            click.echo(client.stats.summary(), err=True)
        return live


def _check_flows_found(live: State, flow_slugs: Sequence[str]) -> None:
    """A `--flow` the store does not hold is a typo more often than not: say so, write nothing."""
    missing = sorted(set(flow_slugs) - set(live.flows))
    if missing:
        names = ", ".join(missing)
        raise ExportError(f"no such flow in the store: {names}; nothing was written.")


def _schema_ref(base: Path) -> str:
    """`./schemas/provisioner.schema.json` as seen from the directory `base` (POSIX slashes)."""
    schema = Path.cwd() / DEFAULT_SCHEMA_LOCATION
    relative = os.path.relpath(schema, start=base.resolve())
    return PurePosixPath(*Path(relative).parts).as_posix()


def write_files(files: Mapping[Path, str], *, force: bool) -> None:
    """Write every file, or none: existing targets are refused (all named) unless `force`."""
    _write_all(files, force=force)


def _report(live: State, where: str, *, modeline_default: bool) -> None:
    """What was written, on stderr (stdout stays the YAML's when there is no `-o`)."""
    flows = len(live.flows)
    fields = live.field_count()
    apis = len(live.custom_apis)
    custom = f" and {apis} Custom API{'s' if apis != 1 else ''}" if apis else ""
    click.echo(
        f"Exported {flows} flow{'s' if flows != 1 else ''} and {fields} "
        f"field{'s' if fields != 1 else ''}{custom} to {where}.",
        err=True,
    )
    schema = Path(DEFAULT_SCHEMA_LOCATION)
    if modeline_default and flows and not schema.exists():
        click.echo(
            f"Editors will look for the schema at {schema}: create it with "
            f"`provisioner schema > {schema}` (or choose another with --schema-ref).",
            err=True,
        )


def _warn_if_invalid(paths: Sequence[Path]) -> None:
    """The store can hold what `validate` refuses (a `default` of the wrong type, epcc-api.md
    section 0; a relationship to a flow left out by `--flow`): say so now, not at `plan`."""
    _warn(
        validate_paths(paths),
        "validate will refuse what was written; fix it in the store or in the files",
    )


def _warn_if_invalid_text(text: str) -> None:
    """The same check for YAML printed to stdout, worded for it (no file was written)."""
    with tempfile.TemporaryDirectory(prefix="provisioner-export-") as directory:
        path = Path(directory) / "export.yaml"
        path.write_text(text, encoding="utf-8")
        problems = [dataclasses.replace(p, file="<stdout>") for p in validate_paths([path])]
    fix = "fix it in the store, or in the file once you save it"
    if len(text.encode("utf-8")) > MAX_FILE_BYTES:
        fix = "export with -o DIR/ for one file per flow"
    _warn(
        problems,
        f"validate will refuse this YAML as printed (line numbers are those of the output); {fix}",
    )


def _warn(problems: Sequence[Diagnostic], what: str) -> None:
    if problems:
        listed = "\n".join(f"  {problem}" for problem in problems)
        click.echo(f"Warning: {what}:\n{listed}", err=True)
