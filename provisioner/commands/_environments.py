"""Several environments at once: `validate --env/--all`, the promotion-order check.

Every environment is one store and one desired state (the shared files with its overlays,
`provisioner.overlay`). This module runs the commands' work per environment and puts the
results together; the stores are independent, so their reads and writes run concurrently,
each client at its own environment's rate limit.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from provisioner.commands._project import NO_VARIABLES, Selected, describe_env, env_target
from provisioner.commands._target import Target, open_client
from provisioner.errors import ProvisionerError
from provisioner.overlay import Checked, check_environment
from provisioner.plan import Plan
from provisioner.project import Project


def _checked(project: Project, name: str, paths: Sequence[Path]) -> Checked:
    env = project.environment(name)
    shared = list(paths) or list(project.paths)
    if not shared:
        raise click.UsageError(
            "Missing argument 'PATH...': the project file has no `paths` and none were given."
        )
    return check_environment(shared, env.overlays)


def validate_environments(
    project: Project, paths: Sequence[Path], only: str | None, output_format: str
) -> int:
    """`validate --env NAME` / `--all`: the merged files of each environment, offline."""
    from provisioner.commands.validate import _as_json, _summary

    names = [only] if only is not None else list(project.environments)
    results = {name: _checked(project, name, paths) for name in names}
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
