"""`provisioner diff --from A --to B`: two live stores compared by slug, in the plan's formats.

Both environments' stores are read (two list requests each, concurrently, read-only) and the
first is planned onto the second, as if its flows and fields were the files: creates are what
the second lacks, updates, renames and replaces what it holds differently, and deletes the
fields it holds that the first does not (each flow of the first is compared whole). Flows only
the second holds are listed after the plan. Objects match by slug, never by ID: IDs differ
between stores.

Custom APIs (issue 14) are compared the same way when both environments have client
credentials (their definitions need them): one list of APIs and one list of fields per API
more for each store; live fields the first lacks are listed as unmanaged (a Custom API has no
`prune`), Custom APIs only the second holds after the plan.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from pathlib import Path

import click

from provisioner import asyncrun
from provisioner.commands._planning import (
    format_option,
    no_color_option,
    render,
    use_color,
)
from provisioner.commands._project import NO_VARIABLES, describe_env, env_target
from provisioner.commands._target import Target, open_client, rate_limit_option
from provisioner.custom_api_reader import with_custom_apis
from provisioner.errors import TargetError
from provisioner.model import State
from provisioner.ownership import restrict
from provisioner.planner import plan as make_plan
from provisioner.project import Project, find_project, load_project
from provisioner.reader import read_live_state


def as_desired(live: State) -> State:
    """A store's live state as a desired state: IDs dropped, every flow compared whole."""
    return State(
        flows={
            slug: dataclasses.replace(
                flow,
                id=None,
                prune=True,
                fields={k: dataclasses.replace(f, id=None) for k, f in flow.fields.items()},
            )
            for slug, flow in live.flows.items()
        },
        custom_apis={
            slug: dataclasses.replace(
                api,
                id=None,
                fields={k: dataclasses.replace(f, id=None) for k, f in api.fields.items()},
            )
            for slug, api in live.custom_apis.items()
        },
    )


async def _read(project: Project, name: str, base: Target) -> tuple[State, bool]:
    """The environment's store (its Custom APIs too with client credentials), and whether
    its Custom APIs were read."""
    target = env_target(project.environment(name), base)
    click.echo(describe_env(name, target, "read-only"), err=True)
    async with open_client(target, NO_VARIABLES, announce=False) as client:
        live = await read_live_state(client)
        if client.read_only:
            return live, False
        return await with_custom_apis(client, live), True


@click.command("diff")
@click.option("--from", "source", required=True, metavar="ENV", help="The reference environment.")
@click.option("--to", "target_env", required=True, metavar="ENV", help="The one compared to it.")
@format_option("text, json (the Plan JSON) or markdown, as `plan` prints them.")
@click.option("--detailed-exitcode", is_flag=True, help="Exit 2 when the stores differ.")
@no_color_option
@click.option(
    "--project",
    "project_file",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="The project file (default: provisioner.toml here or in a parent).",
)
@click.option(
    "--rate-limit",
    callback=rate_limit_option,
    metavar="RPS",
    help="Requests per second at most, 0.1 to 10000.",
)
@click.option("--verbose", "-v", is_flag=True, help="Show request statistics.")
def command(
    source: str,
    target_env: str,
    output_format: str,
    detailed_exitcode: bool,
    no_color: bool,
    project_file: str | None,
    rate_limit: float | None,
    verbose: bool,
) -> int:
    """Compare two environments' live stores by slug: what --to lacks or holds differently.

    \b
    Examples:
      provisioner diff --from staging --to production
      provisioner diff --from staging --to production --format markdown --detailed-exitcode
    Exit codes: 0 same (or success), 1 error, 2 the stores differ (--detailed-exitcode).
    """
    found = Path(project_file) if project_file else find_project()
    if found is None:
        raise TargetError(
            f"diff compares environments of a project file: no provisioner.toml in {Path.cwd()} "
            "or any directory above it (or name one with --project FILE)."
        )
    project = load_project(found)
    project.environment(source)
    project.environment(target_env)
    base = Target(rate_limit=rate_limit, verbose=verbose)

    async def run() -> tuple[tuple[State, bool], tuple[State, bool]]:
        first, second = await asyncio.gather(
            _read(project, source, base), _read(project, target_env, base)
        )
        return first, second

    (reference, first_apis), (compared, second_apis) = asyncrun.run(run())
    if not (first_apis and second_apis):
        click.echo(
            "Custom APIs are not compared: reading their definitions needs client credentials "
            "in both environments.",
            err=True,
        )
        reference = dataclasses.replace(reference, custom_apis={})
        compared = dataclasses.replace(compared, custom_apis={})
    only_in = f"only in {target_env}, not in {source}"
    plan = restrict(make_plan(as_desired(reference), compared, prune_reason=only_in), compared)
    extra = sorted(set(compared.flows) - set(reference.flows))
    extra_apis = sorted(set(compared.custom_apis) - set(reference.custom_apis))
    if output_format == "json":
        document = plan.to_dict()
        document["from"] = source
        document["to"] = target_env
        document["only_in_to"] = extra
        document["custom_apis_only_in_to"] = extra_apis
        click.echo(json.dumps(document, indent=2, ensure_ascii=False))
    else:
        text = render(plan, output_format, use_color(no_color))
        if plan.is_empty:
            text = (
                f"No differences: {target_env} holds every flow and field of {source}"
                + (" and every Custom API" if reference.custom_apis else "")
                + ".\n"
            )
        if output_format == "markdown":
            text = text.replace(
                "### provisioner plan", f"### provisioner diff: `{source}` → `{target_env}`", 1
            )
        click.echo(text, nl=not text.endswith("\n"))
        if extra:
            click.echo(f"Only in {target_env} (not compared): flows {', '.join(extra)}.")
        if extra_apis:
            click.echo(f"Only in {target_env} (not compared): Custom APIs {', '.join(extra_apis)}.")
    if detailed_exitcode and (not plan.is_empty or extra or extra_apis):
        return 2
    return 0
