"""What plan, apply and diff share: planning against a store, showing a plan, the client's
statistics. (`commands/apply` and `commands/diff` import this, not `commands/plan`.)"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import click

from provisioner.client import Client
from provisioner.commands._target import Target
from provisioner.custom_api_reader import count_into, read_for
from provisioner.keys import entries_key
from provisioner.model import State
from provisioner.normalize import entry_count_fingerprint
from provisioner.ownership import restrict
from provisioner.plan import Plan
from provisioner.planner import check_relationship_targets
from provisioner.planner import plan as make_plan
from provisioner.reader import read_entry_counts
from provisioner.views.json import render_json
from provisioner.views.markdown import render_markdown
from provisioner.views.text import render_text

F = TypeVar("F", bound=Callable[..., Any])

FORMATS = ("text", "json", "markdown")

# The options plan, apply and diff share.
no_color_option = click.option(
    "--no-color", is_flag=True, help="No colour (also: the NO_COLOR variable)."
)


def format_option(help_text: str) -> Callable[[F], F]:
    """`--format` of a plan: one of `FORMATS`, text by default."""
    return click.option(
        "--format",
        "output_format",
        type=click.Choice(FORMATS),
        default="text",
        show_default=True,
        help=help_text,
    )


def use_color(no_color: bool, env: Mapping[str, str] | None = None) -> bool:
    """Colour only on a terminal, and never when asked not to."""
    env = os.environ if env is None else env
    return not no_color and not env.get("NO_COLOR") and sys.stdout.isatty()


def render(plan: Plan, output_format: str, color: bool = False) -> str:
    """The plan in one of `FORMATS`."""
    if output_format == "json":
        return render_json(plan)
    if output_format == "markdown":
        return render_markdown(plan)
    return render_text(plan, color=color)


async def plan_against(client: Client, desired: State, *, migrate: bool = False) -> Plan:
    """Read the live state and plan `desired` against it.

    With `migrate` (issue 15), replaces whose values convert are migrations, checked against
    the records (`provisioner.migrator.check_migrations`: values that do not convert refuse
    the plan).

    A flow the plan deletes takes its entries with it: their number is recorded with the
    plan's fingerprints (one `page[limit]=1` read per deleted flow, none otherwise), so a
    saved plan goes stale when entries are added after the review.
    """
    live = await read_for(client, desired)
    check_relationship_targets(desired, live)
    plan = await count_into(client, restrict(make_plan(desired, live), live), live, desired)
    plan = await migrated(client, plan, live) if migrate else note_stopped(plan, live)
    if not plan.deleted_flows:
        return plan
    counts = await read_entry_counts(client, live, plan.deleted_flows)
    return plan.with_fingerprints(
        {entries_key(slug): entry_count_fingerprint(count) for slug, count in counts.items()}
    )


def note_stopped(plan: Plan, live: State) -> Plan:
    """Without --migrate: a stopped migration's field says so (issue 15)."""
    from provisioner.migration_plan import note_stopped as note

    return note(plan, live)


async def migrated(client: Client, plan: Plan, live: State) -> Plan:
    """`plan` with its convertible replaces as migrations, their values checked (issue 15)."""
    from provisioner.migration_plan import with_migrations
    from provisioner.migrator import check_migrations

    return await check_migrations(client, with_migrations(plan, live))


MIGRATE_HELP = (
    "Field type changes whose values convert (integer -> float; integer, float, boolean, date"
    " -> string; string -> date, integer, float, boolean) keep their values: a migration"
    " through a temporary field instead of a replace. Resumes a stopped one."
)


def echo_stats(client: Client, target: Target) -> None:
    if target.verbose:
        click.echo(client.stats.summary(), err=True)
        echo_ceiling_note(client, target)


def echo_ceiling_note(client: Client, target: Target) -> None:
    """With --verbose: say so when the pace ceiling held the run back (issue 11)."""
    note = client.stats.ceiling_note()
    if target.verbose and note:
        click.echo(note, err=True)
