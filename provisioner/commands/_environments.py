"""Several environments at once: `validate`/`plan`/`apply --all`, the promotion-order check.

Every environment is one store and one desired state (the shared files with its overlays,
`provisioner.overlay`). This module runs the commands' work per environment and puts the
results together; the stores are independent, so their reads and writes run concurrently,
each client at its own environment's rate limit.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import click

from provisioner import asyncrun
from provisioner.commands._project import (
    NO_VARIABLES,
    Selected,
    describe_env,
    env_target,
    read_record,
)
from provisioner.commands._target import Target, open_client
from provisioner.drift import drift_state, drifted
from provisioner.errors import ConfigError, Diagnostic, OrderError, ProvisionerError
from provisioner.gcpause import paused_gc
from provisioner.model import State
from provisioner.overlay import Checked, check_environment
from provisioner.plan import Plan
from provisioner.project import Project
from provisioner.views.environments import (
    EnvironmentPlan,
    render_all_json,
    render_all_markdown,
    render_all_text,
)
from provisioner.yamlload import LoadedDocument


def _checked(
    project: Project,
    name: str,
    paths: Sequence[Path],
    cache: dict[Path, LoadedDocument] | None = None,
) -> Checked:
    env = project.environment(name)
    shared = list(paths) or list(project.paths)
    if not shared:
        raise click.UsageError(
            "Missing argument 'PATH...': the project file has no `paths` and none were given."
        )
    return check_environment(shared, env.overlays, cache)


def validate_environments(
    project: Project, paths: Sequence[Path], only: str | None, output_format: str
) -> int:
    """`validate --env NAME` / `--all`: the merged files of each environment, offline."""
    from provisioner.commands.validate import _as_json, _summary

    names = [only] if only is not None else list(project.environments)
    cache: dict[Path, LoadedDocument] = {}  # each file parsed once for every environment
    results = {name: _checked(project, name, paths, cache) for name in names}
    valid = all(not checked.diagnostics for checked in results.values())
    if output_format == "json":
        environments = []
        for name, checked in results.items():
            state = checked.state
            flows = len(state.flows) if state else 0
            fields = state.field_count() if state else 0
            custom = state.custom_apis if state else {}
            report = _as_json(list(checked.files), list(checked.diagnostics), flows, fields, custom)
            environments.append({"environment": name, **report})
        document: dict[str, Any] = (
            environments[0] if only is not None else {"valid": valid, "environments": environments}
        )
        click.echo(json.dumps(document, indent=2))
        return 0 if valid else 1
    # A problem in a shared file is the same in every environment: shown once.
    seen: set[str] = set()
    for checked in results.values():
        for diagnostic in checked.diagnostics:
            text = str(diagnostic)
            if text not in seen:
                seen.add(text)
                click.echo(text)
    for name, checked in results.items():
        state = checked.state
        summary = _summary(
            len(checked.files),
            list(checked.diagnostics),
            len(state.flows) if state else 0,
            state.field_count() if state else 0,
            state.custom_apis if state else {},
        )
        click.echo(f"Environment {name}: {summary[:1].lower()}{summary[1:]}")
    if only is None:
        bad = sum(1 for checked in results.values() if checked.diagnostics)
        count = len(results)
        click.echo(
            f"All {count} environments valid."
            if not bad
            else f"{bad} of {count} environments have problems."
        )
    return 0 if valid else 1


# --------------------------------------------------------------------------- promotion order


def _behind_text(plan: Plan) -> str:
    counts = plan.counts()
    parts = [f"{counts[kind]} to {kind}" for kind in counts if counts[kind]]
    lines = [", ".join(parts)]
    lines += [f"      {op.describe()}" for op in plan.operations]
    return "\n".join(lines)


async def check_order(project: Project, name: str, paths: Sequence[Path], base: Target) -> None:
    """Refuse (exit 3) unless every environment in `name`'s `after` matches its files.

    Read-only: each earlier environment's store is read (two list requests) and planned
    against its own merged files; nothing is written anywhere, and no database file is
    created (an embedded environment without one was never applied). With `CI` set, embedded
    environments are skipped with a line saying so, as `--all` skips them
    (`chosen_environments`): a pipeline has no developer's local store.
    """
    from provisioner.commands.plan import plan_against
    from provisioner.overlay import load_environment

    env = project.environment(name)
    behind: list[str] = []
    skipped = [e for e in env.after if project.environment(e).embedded and _ci(os.environ)]
    if skipped:
        click.echo(
            f"CI is set: the promotion-order check skips the embedded environment"
            f"{'s' if len(skipped) > 1 else ''} {', '.join(skipped)} (local stores exist on "
            "developers' machines only).",
            err=True,
        )
    for earlier in env.after:
        if earlier in skipped:
            continue
        other = project.environment(earlier)
        if other.embedded and not other.db.exists():
            behind.append(f"  - {earlier} is behind: never applied (no {other.db})")
            continue
        desired = load_environment(list(paths) or list(project.paths), other.overlays)
        target = env_target(other, base)
        click.echo(describe_env(earlier, target, "promotion-order check, read-only"), err=True)
        async with open_client(target, NO_VARIABLES, announce=False) as client:
            plan = await plan_against(client, desired)
        if not plan.is_empty:
            behind.append(f"  - {earlier} is behind: {_behind_text(plan)}")
    if behind:
        listed = "\n".join(behind)
        raise OrderError(
            f"refusing to apply {name}: it comes after {', '.join(env.after)} "
            f"(provisioner.toml `after`), and they do not match the files yet:\n{listed}\n"
            f"Apply {' and '.join(e for e in env.after)} first, or pass --skip-order-check."
        )


async def promotion_order(selected: Selected, skip: bool) -> None:
    """Before `apply --env NAME`: the order check, or a line saying it was skipped."""
    assert selected.env is not None
    assert selected.project is not None
    env = selected.project.environment(selected.env)
    if not env.after:
        return
    if skip:
        click.echo(
            f"Skipping the promotion-order check (--skip-order-check): {selected.env} is "
            f"applied without checking the environments it comes after "
            f"({', '.join(env.after)}).",
            err=True,
        )
        return
    await check_order(selected.project, selected.env, selected.paths, selected.target)


# --------------------------------------------------------------------------- every environment


def _ci(environ: Mapping[str, str]) -> bool:
    return environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def chosen_environments(project: Project, environ: Mapping[str, str] | None = None) -> list[str]:
    """The environments `--all` runs on: every one, except that with `CI` set the embedded
    ones are skipped (a local store exists on a developer's machine only; in a pipeline it
    would be a fresh, empty one), with a line saying so."""
    environ = os.environ if environ is None else environ
    names = list(project.environments)
    if not _ci(environ):
        return names
    embedded = [name for name in names if project.environments[name].embedded]
    if embedded:
        click.echo(
            f"CI is set: skipping the embedded environment{'s' if len(embedded) > 1 else ''} "
            f"{', '.join(embedded)} (local stores exist on developers' machines only).",
            err=True,
        )
    return [name for name in names if name not in embedded]


def desired_states(project: Project, paths: Sequence[Path]) -> dict[str, State]:
    """Every chosen environment's merged desired state, offline; every problem at once."""
    states: dict[str, State] = {}
    problems: set[Diagnostic] = set()
    cache: dict[Path, LoadedDocument] = {}  # each file parsed once
    same: dict[tuple[Path, ...], Checked] = {}  # environments with the same overlays: once
    for name in chosen_environments(project):
        key = project.environment(name).overlays
        checked = same.get(key)
        if checked is None:
            checked = same[key] = _checked(project, name, paths, cache)
        problems.update(checked.diagnostics)
        if checked.state is not None:
            states[name] = checked.state
    if problems:
        raise ConfigError(sorted(problems))
    return states


async def _plan_one(
    project: Project, name: str, desired: State, base: Target
) -> tuple[EnvironmentPlan, Target | None]:
    from provisioner.commands.plan import plan_against

    try:
        target = env_target(project.environment(name), base)
    except ProvisionerError as error:
        return EnvironmentPlan(name, error=str(error)), None
    store = describe_env(name, target)
    try:
        async with open_client(target, NO_VARIABLES, announce=False) as client:
            plan = await plan_against(client, desired)
            if base.verbose:
                click.echo(f"{name}: {client.stats.summary()}", err=True)
    except ProvisionerError as error:
        return EnvironmentPlan(name, error=str(error), store=store), target
    recorded = read_record(project, name)
    drift = drifted(plan, desired, recorded)
    return (
        EnvironmentPlan(
            name,
            plan,
            drift_state(plan, desired, recorded),
            tuple(op.describe() for op in drift),
            store=store,
        ),
        target,
    )


async def plan_every(
    project: Project, states: dict[str, State], base: Target
) -> list[tuple[EnvironmentPlan, Target | None]]:
    """Plan every environment concurrently (each client at its own rate limit)."""
    for name in states:
        try:
            target = env_target(project.environment(name), base)
        except ProvisionerError:
            continue
        click.echo(describe_env(name, target), err=True)
    return list(
        await asyncio.gather(*(_plan_one(project, name, states[name], base) for name in states))
    )


def render_every(results: Sequence[EnvironmentPlan], output_format: str, color: bool) -> str:
    if output_format == "json":
        return render_all_json(results)
    if output_format == "markdown":
        return render_all_markdown(results)
    return render_all_text(results, color=color)


def plan_all(
    project: Project,
    paths: Sequence[Path],
    base: Target,
    output_format: str,
    detailed_exitcode: bool,
    color: bool,
) -> int:
    """`plan --all`: every environment planned concurrently; a matrix, then each plan."""
    states = desired_states(project, paths)
    # Every store's lists, states and plans stay alive until the output: collections would
    # walk them again and again (a sixth of the CPU at 20 stores of 1,000 fields, issue 13).
    with paused_gc():
        planned = asyncrun.run(plan_every(project, states, base))  # large result (asyncrun)
    results = [result for result, _ in planned]
    text = render_every(results, output_format, color)
    click.echo(text, nl=not text.endswith("\n"))
    if any(result.error is not None for result in results):
        failed = ", ".join(r.name for r in results if r.error is not None)
        click.echo(f"Error: could not plan {failed}.", err=True)
        return 1
    if detailed_exitcode and any(r.plan is not None and not r.plan.is_empty for r in results):
        return 2
    return 0
