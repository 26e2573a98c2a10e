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

from provisioner.applier import ApplyEvent, EventKind, apply_plan, check_fresh
from provisioner.commands._project import (
    NO_VARIABLES,
    Selected,
    describe_env,
    env_target,
    read_record,
    write_record,
)
from provisioner.commands._target import Target, open_client
from provisioner.drift import drift_state, drifted
from provisioner.errors import ConfigError, Diagnostic, ProvisionerError, UnsafePlanError
from provisioner.model import State
from provisioner.overlay import Checked, check_environment
from provisioner.plan import Plan
from provisioner.project import Project
from provisioner.reader import read_live_state
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
            report = _as_json(list(checked.files), list(checked.diagnostics), flows, fields)
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


class OrderError(ProvisionerError):
    """An environment in `after` does not match the files yet: the apply is refused (exit 3)."""

    exit_code = 3


def _behind_text(plan: Plan) -> str:
    counts = plan.counts()
    parts = [f"{counts[kind]} to {kind}" for kind in counts if counts[kind]]
    lines = [", ".join(parts)]
    lines += [f"      {op.describe()}" for op in plan.operations]
    return "\n".join(lines)


async def check_order(project: Project, name: str, paths: Sequence[Path], base: Target) -> None:
    """Refuse (exit 3) unless every environment in `name`'s `after` matches its files.

    Read-only: each earlier environment's store is read (two list requests) and planned
    against its own merged files; nothing is written anywhere.
    """
    from provisioner.commands.plan import plan_against
    from provisioner.overlay import load_environment

    env = project.environment(name)
    behind: list[str] = []
    for earlier in env.after:
        other = project.environment(earlier)
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
    results = [result for result, _ in asyncio.run(plan_every(project, states, base))]
    text = render_every(results, output_format, color)
    click.echo(text, nl=not text.endswith("\n"))
    if any(result.error is not None for result in results):
        failed = ", ".join(r.name for r in results if r.error is not None)
        click.echo(f"Error: could not plan {failed}.", err=True)
        return 1
    if detailed_exitcode and any(r.plan is not None and not r.plan.is_empty for r in results):
        return 2
    return 0


def apply_all(
    project: Project,
    paths: Sequence[Path],
    base: Target,
    *,
    allow_destructive: bool,
    auto_approve: bool,
    parallelism: int,
    color: bool,
    interactive: bool,
) -> int:
    """`apply --all`: plan every environment, then apply them in `after` order, independent
    ones concurrently; an environment whose `after` failed is stopped, not applied."""
    states = desired_states(project, paths)
    planned = asyncio.run(plan_every(project, states, base))
    results = [result for result, _ in planned]
    text = render_all_text(results, color=color)
    click.echo(text, nl=not text.endswith("\n"))
    failed = [r.name for r in results if r.error is not None]
    if failed:
        raise ProvisionerError(
            f"could not plan {', '.join(failed)}: nothing was applied to any environment."
        )
    destructive = [
        f"{r.name}: {op.describe()}"
        for r in results
        if r.plan is not None
        for op in r.plan.destructive
    ]
    if destructive and not allow_destructive:
        raise UnsafePlanError(destructive)
    pending = [r for r in results if r.plan is not None and not r.plan.is_empty]
    if not pending:
        for name, state in states.items():
            write_record(project, name, state)
        click.echo("Every environment matches the files.", err=True)
        return 0
    if not auto_approve:
        if not interactive:
            raise click.ClickException(
                "refusing to apply without confirmation: there is no terminal to ask on. "
                "Review the plans and pass --auto-approve to apply non-interactively."
            )
        names = ", ".join(r.name for r in pending)
        if not click.confirm(f"Apply these changes to {names}?", default=False):
            click.echo("Apply cancelled: nothing was changed.", err=True)
            return 1
    targets = {result.name: target for result, target in planned}
    plans = {r.name: r.plan for r in results if r.plan is not None}
    outcome = asyncio.run(
        _apply_in_order(project, states, plans, targets, allow_destructive, parallelism)
    )
    click.echo("", err=True)
    for name in project.order():
        if name in outcome:
            click.echo(f"{name}: {outcome[name]}", err=True)
    bad = [n for n, o in outcome.items() if o.startswith(("failed", "stopped"))]
    if bad:
        raise ProvisionerError(
            f"apply --all stopped: {', '.join(bad)} not applied. Fix the cause and run it "
            "again: environments already matching have nothing to do."
        )
    return 0


async def _apply_in_order(
    project: Project,
    states: dict[str, State],
    plans: dict[str, Plan],
    targets: dict[str, Target | None],
    allow_destructive: bool,
    parallelism: int,
) -> dict[str, str]:
    done = {name: asyncio.Event() for name in states}
    outcome: dict[str, str] = {}

    async def run(name: str) -> None:
        env = project.environment(name)
        try:
            after = [e for e in env.after if e in done]  # skipped ones (CI) do not block
            for earlier in after:
                await done[earlier].wait()
            blocked = [e for e in after if not outcome[e].startswith(("applied", "in sync"))]
            if blocked:
                outcome[name] = f"stopped: it comes after {', '.join(blocked)}, which did not apply"
                return
            plan, target = plans[name], targets[name]
            assert target is not None
            if plan.is_empty:
                write_record(project, name, states[name])
                outcome[name] = "in sync, nothing to do"
                return
            async with open_client(
                target, NO_VARIABLES, announce=False, max_in_flight=parallelism
            ) as client:
                live = await read_live_state(client)
                check_fresh(plan, live)  # what was shown is what is applied

                def show(event: ApplyEvent) -> None:
                    if event.kind is EventKind.SUCCEEDED:
                        click.echo(f"[{name}] {event.operation.describe()} ... done")
                    elif event.kind in (EventKind.FAILED, EventKind.SKIPPED):
                        click.echo(
                            f"[{name}] {event.operation.describe()} ... "
                            f"{event.kind.value}: {event.error}"
                        )

                await apply_plan(
                    client,
                    plan,
                    parallelism=parallelism,
                    allow_destructive=allow_destructive,
                    on_event=show,
                )
                stats = client.stats.summary()
            write_record(project, name, states[name])
            outcome[name] = f"applied {len(plan.operations)} operation(s); {stats}"
        except ProvisionerError as error:
            first = str(error).splitlines()[0]
            outcome[name] = f"failed: {first}"
        finally:
            done[name].set()

    await asyncio.gather(*(run(name) for name in project.order() if name in states))
    return outcome
