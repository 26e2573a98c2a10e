"""`provisioner schema`: print the JSON Schema of the YAML format (draft 2020-12).

The schema is generated from the API's facts (`provisioner.schema`); the same text ships in the
wheel and sits in the repository's `schemas/` (a test keeps them equal). Editors use it through
the modeline `# yaml-language-server: $schema=<path or URL>`.
"""

from __future__ import annotations

import click

from provisioner.schema import schema_text


@click.command("schema")
def command() -> int:
    """Print the JSON Schema of the flows YAML format.

    \b
    Examples:
      provisioner schema > provisioner.schema.json
      # then, first line of a flows file:
      # yaml-language-server: $schema=provisioner.schema.json
    """
    click.echo(schema_text().rstrip("\n"))
    return 0
