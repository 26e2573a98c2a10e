"""`provisioner plan`: read the live store, diff it with the YAML, print the plan.

Exit codes are a contract (README "Exit codes"): 0 success (with `--detailed-exitcode`: and
nothing to do), 1 error, 2 changes pending with `--detailed-exitcode`. `--out` saves the plan
as JSON with a fingerprint of every live object it touches, for `provisioner apply plan.json`.
Colour only on a terminal, never with `--no-color` or `NO_COLOR` (https://no-color.org).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import click

from provisioner import asyncrun
from provisioner.commands._environments import plan_all
from provisioner.commands._output import write_files
from provisioner.commands._planfile import refuse_saved_plan
from provisioner.commands._planning import (
    FORMATS,
    MIGRATE_HELP,
    echo_ceiling_note,
    echo_stats,
    format_option,
    no_color_option,
    plan_against,
    render,
    use_color,
)
from provisioner.commands._planstore import store_identity
from provisioner.commands._project import (
    Choice,
    load_selected,
    open_store,
    project_options,
    select,
    select_all,
)
from provisioner.commands._target import Target, store_options
from provisioner.errors import OutputError
from provisioner.impact import DEFAULT_IMPACT_BUDGET
from provisioner.impact_reader import read_impact
from provisioner.impact_reasons import measured
from provisioner.plan import Plan

__all__ = [
    "EXIT_CHANGES",
    "EXIT_OK",
    "FORMATS",
    "command",
    "echo_ceiling_note",
    "echo_stats",
    "plan_against",
    "render",
    "use_color",
]

EXIT_OK = 0
EXIT_CHANGES = 2


@click.command("plan")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@format_option("text for people, json (versioned schema), markdown for a pull-request comment.")
@click.option(
    "--out",
    "out_option",
    type=click.Path(dir_okay=False, writable=True),  # a str: '' is not `.` (refused below)
    help="Also save the plan (JSON, with fingerprints) for `provisioner apply FILE`.",
)
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 2 when there are changes to apply (0 when there are none).",
)
@click.option("--migrate", is_flag=True, help=MIGRATE_HELP)
@click.option(
    "--impact",
    is_flag=True,
    help="Read the records the destructive and risky operations touch and count them"
    " (entries held, values lost, records breaking a new rule).",
)
@click.option(
    "--impact-budget",
    type=click.IntRange(min=1),
    default=None,
    metavar="REQUESTS",
    help=f"With --impact: read at most this many pages of records (100 records each;"
    f" default {DEFAULT_IMPACT_BUDGET}); past it the counts say how many were scanned.",
)
@no_color_option
@store_options
@project_options()
def command(
    paths: Sequence[Path],
    output_format: str,
    out_option: str | None,
    detailed_exitcode: bool,
    migrate: bool,
    impact: bool,
    impact_budget: int | None,
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
      provisioner plan flows/ --migrate --out plan.json   type changes keep their values
      provisioner plan --env staging                   an environment of provisioner.toml
      provisioner plan --all --format markdown         every environment: a matrix, each plan
      provisioner plan flows/ --impact                 counts the records each change touches
    Exit codes: 0 no changes (or success), 1 error, 2 changes pending (--detailed-exitcode).
    """
    # Offline problems first: a bad file never costs a request.
    refuse_saved_plan(paths, "plan from", choice.env)
    if out_option is not None and not out_option.strip():
        raise OutputError(
            "--out is empty: give the file to save the plan to (plan.json); "
            "nothing was read or written."
        )
    out = None if out_option is None else Path(out_option)
    if impact_budget is not None and not impact:
        raise click.UsageError("--impact-budget sets the budget of --impact: add --impact.")
    if choice.all:
        if out is not None:
            raise click.UsageError("--out saves one plan: use it with --env, not --all.")
        if migrate:
            raise click.UsageError("--migrate plans one store: use it with --env, not --all.")
        if impact:
            raise click.UsageError("--impact measures one plan: use it with --env, not --all.")
        project = select_all(choice)
        return plan_all(
            project, paths, target, output_format, detailed_exitcode, use_color(no_color)
        )
    selected = select(choice, paths, target)
    desired = load_selected(selected)
    target = selected.target

    async def run() -> tuple[Plan, dict[str, str]]:
        async with open_store(target, selected.env) as client:
            plan = await plan_against(client, desired, migrate=migrate)
            if impact:
                budget = impact_budget or DEFAULT_IMPACT_BUDGET
                plan = measured(plan, await read_impact(client, plan, budget))
            echo_stats(client, target)
            return plan, store_identity(target, client)

    plan, store = asyncrun.run(run())
    text = render(plan, output_format, use_color(no_color))
    click.echo(text, nl=not text.endswith("\n"))
    if out is not None:
        # Shown first, so a CI log holds the plan even when it cannot be saved (issue 10).
        # The saved plan records its store: apply refuses it against another (version 4).
        saved = plan.made_against(store).to_saved_json()
        write_files({out: saved}, force=True, what="the plan to")
        hint = apply_hint(out, choice, target)
        click.echo(f"Saved the plan to {out}; apply it with `{hint}`.", err=True)
    if detailed_exitcode and not plan.is_empty:
        return EXIT_CHANGES
    return EXIT_OK


def apply_hint(out: Path, choice: Choice, target: Target | None = None) -> str:
    """The command that applies a saved plan to the store it was made against: with the same
    `--env` (and `--project`), or the same store options given on the command line
    (`--base-url`, without userinfo; `--local`; `--db`), since the plan records that store and
    apply refuses another. Never a credential."""
    import shlex

    words = ["provisioner", "apply", str(out)]
    if choice.env is not None:
        words += ["--env", choice.env]
        if choice.project_file is not None:
            words += ["--project", str(choice.project_file)]
    elif target is not None:
        if target.sources.get("base_url") == "--base-url" and target.base_url is not None:
            scheme, sep, rest = target.base_url.partition("://")
            words += ["--base-url", scheme + sep + rest.rsplit("@", 1)[-1]]  # no userinfo
        if target.local:
            words.append("--local")
        if target.db_given:
            words += ["--db", str(target.db)]
    return " ".join(shlex.quote(word) for word in words)
