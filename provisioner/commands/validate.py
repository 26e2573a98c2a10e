"""`provisioner validate` (placeholder until its issue lands)."""

import click


@click.command("validate")
def command() -> int:
    """Not built yet."""
    raise click.ClickException("`validate` is not built yet")
