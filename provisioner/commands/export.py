"""`provisioner export` (placeholder until its issue lands)."""

import click


@click.command("export")
def command() -> int:
    """Not built yet."""
    raise click.ClickException("`export` is not built yet")
