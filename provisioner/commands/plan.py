"""`provisioner plan`: read the live store, diff it with the YAML, print the plan.

Exit codes are a contract (README "Exit codes"): 0 success (with `--detailed-exitcode`: and
nothing to do), 1 error, 2 changes pending with `--detailed-exitcode`. `--out` saves the plan
as JSON with a fingerprint of every live object it touches, for `provisioner apply plan.json`.
Colour only on a terminal, never with `--no-color` or `NO_COLOR` (https://no-color.org).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import click

from provisioner import asyncrun
from provisioner.client import Client
from provisioner.commands._environments import plan_all
from provisioner.commands._output import write_files
from provisioner.commands._project import (
    Choice,
    load_selected,
    open_store,
    project_options,
    select,
    select_all,
)
from provisioner.commands._target import Target, store_options
from provisioner.model import State
from provisioner.normalize import entry_count_fingerprint
from provisioner.ownership import restrict
from provisioner.plan import Plan, entries_key
from provisioner.planner import check_relationship_targets
from provisioner.planner import plan as make_plan
from provisioner.reader import read_entry_counts, read_live_state
from provisioner.views.json import render_json
from provisioner.views.markdown import render_markdown
from provisioner.views.text import render_text

EXIT_OK = 0
EXIT_CHANGES = 2
FORMATS = ("text", "json", "markdown")


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


async def plan_against(client: Client, desired: State) -> Plan:
    """Read the live state and plan `desired` against it.

    A flow the plan deletes takes its entries with it: their number is recorded with the
    plan's fingerprints (one `page[limit]=1` read per deleted flow, none otherwise), so a
    saved plan goes stale when entries are added after the review.
    """
    live = await read_live_state(client)
    check_relationship_targets(desired, live)
    plan = restrict(make_plan(desired, live), live)
    if not plan.deleted_flows:
        return plan
    counts = await read_entry_counts(client, live, plan.deleted_flows)
    return plan.with_fingerprints(
        {entries_key(slug): entry_count_fingerprint(count) for slug, count in counts.items()}
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


@click.command("plan")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--format",
    "output_format",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="text for people, json (versioned schema), markdown for a pull-request comment.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Also save the plan (JSON, with fingerprints) for `provisioner apply FILE`.",
)
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 2 when there are changes to apply (0 when there are none).",
)
@click.option("--no-color", is_flag=True, help="No colour (also: the NO_COLOR variable).")
@store_options
@project_options()
def command(
    paths: Sequence[Path],
    output_format: str,
    out: Path | None,
    detailed_exitcode: bool,
    no_color: bool,
    target: Target,
    choice: Choice,
) -> int:
    """Show what `apply` would change in the store to match the YAML in PATHS.

    \b
    Examples:
      provisioner plan flows/                          text for people
      provisioner plan flows/ --format markdown        a pull-request comment
      provisioner plan flows/ --out plan.json --detailed-exitcode
      provisioner plan --env staging                   an environment of provisioner.toml
      provisioner plan --all --format markdown         every environment: a matrix, each plan
    Exit codes: 0 no changes (or success), 1 error, 2 changes pending (--detailed-exitcode).
    """
    # Offline problems first: a bad file never costs a request.
    if choice.all:
        if out is not None:
            raise click.UsageError("--out saves one plan: use it with --env, not --all.")
        project = select_all(choice)
        return plan_all(
            project, paths, target, output_format, detailed_exitcode, use_color(no_color)
        )
    selected = select(choice, paths, target)
    desired = load_selected(selected)
    target = selected.target

    async def run() -> Plan:
        async with open_store(target, selected.env) as client:
            plan = await plan_against(client, desired)
            echo_stats(client, target)
            return plan

    plan = asyncrun.run(run())
    text = render(plan, output_format, use_color(no_color))
    click.echo(text, nl=not text.endswith("\n"))
    if out is not None:
        # Shown first, so a CI log holds the plan even when it cannot be saved (issue 10).
        write_files({out: plan.to_saved_json()}, force=True, what="the plan to")
        click.echo(f"Saved the plan to {out}; apply it with `provisioner apply {out}`.", err=True)
    if detailed_exitcode and not plan.is_empty:
        return EXIT_CHANGES
    return EXIT_OK
