"""`provisioner apply` (placeholder until its issue lands)."""

import click


@click.command("apply")
def command() -> int:
    """Not built yet."""
    raise click.ClickException("`apply` is not built yet")
