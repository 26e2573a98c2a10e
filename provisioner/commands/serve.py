"""`provisioner serve` (placeholder until its issue lands)."""

import click


@click.command("serve")
def command() -> int:
    """Not built yet."""
    raise click.ClickException("`serve` is not built yet")
