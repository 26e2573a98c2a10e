"""`provisioner convert FLOW_SLUG [PATH...]`: a custom flow's Custom API declaration (issue 14).

Reads the files (like `validate`, offline), finds the flow, and prints the `custom_apis:`
YAML that carries the same data, or writes it with `-o FILE` through the writer `export -o`
and `plan --out` use (missing directories made, never over an existing file without `--force`,
a path that cannot be written is one error naming it and why). Every construct with no
equivalent is a located note on stderr. Copying the flow's entries is out of scope.
"""

from __future__ import annotations

from pathlib import Path

import click

from provisioner.commands._output import write_files
from provisioner.config import load_desired
from provisioner.custom_api_convert import convert
from provisioner.errors import ProvisionerError
from provisioner.exporter import dump, modeline
from provisioner.model import is_core_flow

EXIT_OK = 0


@click.command("convert")
@click.argument("flow_slug")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write a file."
)
@click.option("--force", is_flag=True, help="Overwrite the output file if it exists.")
def command(flow_slug: str, paths: tuple[Path, ...], output: Path | None, force: bool) -> int:
    """Write the Custom API declaration of a custom flow declared in PATH (default: flows/).

    \b
    Examples:
      provisioner convert wishlists flows/              print it
      provisioner convert wishlists flows/ -o apis/wishlists.yaml
    """
    state = load_desired(list(paths) or [Path("flows")])
    flow = state.flows.get(flow_slug)
    if flow is None or flow.absent:
        raise ProvisionerError(f"no flow `{flow_slug}` is declared in these files")
    if is_core_flow(flow.slug):
        raise ProvisionerError(
            f"`{flow_slug}` is a core flow: it extends a core resource, which only a flow can "
            "do (Custom APIs are new resources); convert a custom flow"
        )
    conversion = convert(flow)
    text = modeline("schemas/provisioner.schema.json") + dump(
        {"custom_apis": {conversion.slug: conversion.declaration}}
    )
    for note in conversion.notes:
        click.echo(f"note: {note}", err=True)
    if output is None:
        click.echo(text, nl=False)
    else:
        # The same writer as `export -o` and `plan --out`: parents made, written whole or
        # not at all, and a path that cannot be written is one line naming it and why.
        write_files({output: text}, force=force)
        click.echo(f"Wrote Custom API `{conversion.slug}` to {output}.", err=True)
    return EXIT_OK
