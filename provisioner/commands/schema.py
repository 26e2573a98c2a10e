"""`provisioner schema` (placeholder until its issue lands)."""

import click


@click.command("schema")
def command() -> int:
    """Not built yet."""
    raise click.ClickException("`schema` is not built yet")
