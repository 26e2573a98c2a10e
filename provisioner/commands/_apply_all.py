"""`apply --all`: every environment, in `after` order, independent ones concurrently.

Like a single `apply`: read-only credentials are refused before anything is read (an
environment whose client secret is not set can only read, so the run could only half
succeed), destructive changes need `--allow-destructive`, and without a terminal
`--auto-approve` is required. Every environment is planned (concurrently) and shown first;
then each is applied once the environments in its `after` applied, and an environment whose
`after` failed is stopped, not applied. An environment that waited (for the confirmation, or
for those it comes after) is read again first and refused if its store changed since its plan
was shown; one applied at once, with `--auto-approve`, applies its plan as a single `apply`
does. Ctrl-C starts nothing new (no environment, no
operation), lets what is in flight finish for a moment, says how many operations of how many
were applied per environment and in all, and exits 130; the next `apply --all` finishes the job.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import click

from provisioner import asyncrun
from provisioner.applier import (
    EXIT_INTERRUPTED,
    ApplyEvent,
    ApplyInterrupted,
    EventKind,
    apply_plan,
    check_fresh,
    interrupted_message,
)
from provisioner.commands._environments import desired_states, plan_every
from provisioner.commands._project import NO_VARIABLES, env_target, write_record
from provisioner.commands._target import Target, open_client
from provisioner.custom_api_reader import live_for, plan_entry_counts
from provisioner.errors import ProvisionerError, ReadOnlyError, UnsafePlanError
from provisioner.gcpause import paused_gc
from provisioner.model import State
from provisioner.plan import Plan
from provisioner.printable import escape_controls
from provisioner.project import Project
from provisioner.reader import read_live_state
from provisioner.views.environments import EnvironmentPlan, render_all_text


@dataclass(frozen=True)
class Options:
    """What `apply --all` was asked to do, besides which project."""

    allow_destructive: bool
    auto_approve: bool
    parallelism: int
    color: bool
    interactive: bool


@dataclass
class Progress:
    """Operations applied per environment so far (an interrupt reports them)."""

    totals: dict[str, int] = field(default_factory=dict)
    applied: dict[str, int] = field(default_factory=dict)
    outcome: dict[str, str] = field(default_factory=dict)
    interrupted: bool = False

    def line(self) -> str:
        return interrupted_message(sum(self.applied.values()), sum(self.totals.values()))


def refuse_read_only(project: Project, names: Sequence[str], base: Target) -> None:
    """Refuse (before any request) when an environment's credentials can only read."""
    read_only = []
    for name in names:
        env = project.environment(name)
        try:
            target = env_target(env, base)
        except ProvisionerError:
            continue  # reported by its plan, which then stops the whole apply
        if target.embedded or target.client_secret is not None:
            continue
        why = (
            f"{env.client_secret_env} is not set"
            if env.client_secret_env
            else "provisioner.toml names no client_secret_env for it"
        )
        read_only.append(f"{name} ({why})")
    if read_only:
        raise ReadOnlyError(
            "apply --all needs write access to every environment, and without a client secret "
            "the client uses the implicit grant, which can only read: "
            + ", ".join(read_only)
            + ". Set the variable, or apply the other environments with --env. `provisioner "
            "plan --all` shows the changes with read-only credentials. Nothing was read or "
            "applied."
        )


def _confirm(results: Sequence[EnvironmentPlan], options: Options) -> bool:
    destructive = [
        f"{r.name}: {op.describe()}"
        for r in results
        if r.plan is not None
        for op in r.plan.destructive
    ]
    if destructive and not options.allow_destructive:
        raise UnsafePlanError(destructive)
    if options.auto_approve:
        return True
    if not options.interactive:
        raise click.ClickException(
            "refusing to apply without confirmation: there is no terminal to ask on. "
            "Review the plans and pass --auto-approve to apply non-interactively."
        )
    names = ", ".join(r.name for r in results if r.plan is not None and not r.plan.is_empty)
    if click.confirm(f"Apply these changes to {names}?", default=False):
        return True
    click.echo("Apply cancelled: nothing was changed.", err=True)
    return False


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
    options = Options(allow_destructive, auto_approve, parallelism, color, interactive)
    states = desired_states(project, paths)
    refuse_read_only(project, list(states), base)
    progress = Progress()
    try:
        return _plan_and_apply(project, states, base, options, progress)
    except KeyboardInterrupt:
        # Ctrl-C while planning (nothing applied), or a second one while applying.
        if not progress.totals:
            click.echo("Interrupted: nothing was applied.", err=True)
        else:
            click.echo(progress.line(), err=True)
        return EXIT_INTERRUPTED


def _plan_and_apply(
    project: Project,
    states: dict[str, State],
    base: Target,
    options: Options,
    progress: Progress,
) -> int:
    # The plans of every environment live until the end: read and planned with the collector
    # paused, then frozen (gcpause), so the collections while applying never walk them.
    with paused_gc():
        planned = asyncrun.run(plan_every(project, states, base))  # large result (asyncrun)
    results = [result for result, _ in planned]
    text = render_all_text(results, color=options.color)
    click.echo(text, nl=not text.endswith("\n"))
    failed = [r.name for r in results if r.error is not None]
    if failed:
        raise ProvisionerError(
            f"could not plan {', '.join(failed)}: nothing was applied to any environment."
        )
    if all(r.plan is None or r.plan.is_empty for r in results):
        for name, state in states.items():
            write_record(project, name, state)
        click.echo("Every environment matches the files.", err=True)
        return 0
    if not _confirm(results, options):
        return 1
    targets = {result.name: target for result, target in planned}
    plans = {r.name: r.plan for r in results if r.plan is not None}
    progress.totals.update({name: len(plan.operations) for name, plan in plans.items()})
    runner = _InOrder(project, states, plans, targets, options, progress)
    asyncio.run(runner.run())
    click.echo("", err=True)
    for name in project.order():
        if name in progress.outcome:
            click.echo(f"{name}: {progress.outcome[name]}", err=True)
    if progress.interrupted:
        click.echo(progress.line(), err=True)
        return EXIT_INTERRUPTED
    bad = [n for n, o in progress.outcome.items() if o.startswith(("failed", "stopped"))]
    if bad:
        raise ProvisionerError(
            f"apply --all stopped: {', '.join(bad)} not applied. Fix the cause and run it "
            "again: environments already matching have nothing to do."
        )
    return 0


class _InOrder:
    """The environments applied in `after` order, each as soon as its `after` applied."""

    def __init__(
        self,
        project: Project,
        states: dict[str, State],
        plans: dict[str, Plan],
        targets: dict[str, Target | None],
        options: Options,
        progress: Progress,
    ) -> None:
        self.project = project
        self.states = states
        self.plans = plans
        self.targets = targets
        self.options = options
        self.progress = progress
        self.done = {name: asyncio.Event() for name in states}

    async def run(self) -> None:
        names = [name for name in self.project.order() if name in self.states]
        try:
            await asyncio.gather(*(self.one(name) for name in names))
        except asyncio.CancelledError:
            # An interrupt: every environment has said where it stopped; handled here.
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()
            self.progress.interrupted = True

    async def one(self, name: str) -> None:
        outcome = self.progress.outcome
        try:
            outcome[name] = await self._apply(name)
        except ApplyInterrupted as interrupt:
            self.progress.interrupted = True
            outcome[name] = (
                f"interrupted: {interrupt.applied} of {interrupt.total} operations applied"
            )
        except asyncio.CancelledError:
            self.progress.interrupted = True
            outcome[name] = "interrupted before it started: nothing applied"
        except ProvisionerError as error:
            # The whole message: a stale plan's list of changed objects follows its first line.
            outcome[name] = f"failed: {escape_controls(str(error), lines=True)}"
        finally:
            self.done[name].set()

    async def _apply(self, name: str) -> str:
        after = [e for e in self.project.environment(name).after if e in self.done]
        for earlier in after:  # skipped ones (CI) do not block
            await self.done[earlier].wait()
        outcome = self.progress.outcome
        blocked = [e for e in after if not outcome[e].startswith(("applied", "in sync"))]
        if blocked:
            return f"stopped: it comes after {', '.join(blocked)}, which did not apply"
        plan, target = self.plans[name], self.targets[name]
        assert target is not None
        if plan.is_empty:
            write_record(self.project, name, self.states[name])
            return "in sync, nothing to do"
        parallelism = self.options.parallelism
        async with open_client(
            target, NO_VARIABLES, announce=False, max_in_flight=parallelism
        ) as client:
            if after or not self.options.auto_approve:
                # Time passed since the plan was shown (a prompt, earlier environments):
                # what was shown is what is applied, or the environment fails as stale.
                live = await read_live_state(client)
                live = await live_for(client, live, plan.has_custom_apis)  # issue 14
                counts = await plan_entry_counts(client, live, plan)
                check_fresh(plan, live, custom_entry_counts=counts)
            await apply_plan(
                client,
                plan,
                parallelism=parallelism,
                allow_destructive=self.options.allow_destructive,
                on_event=lambda event: self._show(name, event),
            )
            stats = client.stats.summary()
        write_record(self.project, name, self.states[name])
        return f"applied {len(plan.operations)} operation(s); {stats}"

    def _show(self, name: str, event: ApplyEvent) -> None:
        if event.kind is EventKind.SUCCEEDED:
            self.progress.applied[name] = self.progress.applied.get(name, 0) + 1
            click.echo(f"[{name}] {event.operation.describe()} ... done")
        elif event.kind in (EventKind.FAILED, EventKind.SKIPPED):
            why = escape_controls(str(event.error))  # the store's words, on one line
            click.echo(f"[{name}] {event.operation.describe()} ... {event.kind.value}: {why}")
