"""`provisioner apply`: make the store match the YAML, or execute a saved plan.

`apply PATH...` plans against the live store and applies that plan; `apply FILE` executes a plan
saved by `plan --out` (known by its content, whatever the file is called; it is applied alone),
after checking that none of the objects it touches changed since (`StalePlanError` names them).
A malformed plan file is one error before any request. Read-only credentials (no client
secret) are refused before anything is read or written. Destructive operations need
`--allow-destructive`, otherwise nothing is applied and the exit code is 3. On a terminal the
plan is shown and confirmed unless `--auto-approve`; without a terminal `--auto-approve` is
required, so a pipeline never waits on a prompt nobody sees. Progress per operation, then a
summary with request statistics.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import click

from provisioner.applier import (
    EXIT_INTERRUPTED,
    ApplyInterrupted,
    apply_plan,
    check_fresh,
    check_safe,
    interrupted_message,
)
from provisioner.client import DEFAULT_MAX_IN_FLIGHT, Client
from provisioner.commands import _planning as planning
from provisioner.commands._apply_all import apply_all
from provisioner.commands._environments import promotion_order
from provisioner.commands._planfile import is_plan_file, refuse_saved_plan
from provisioner.commands._planstore import check_same_store, store_identity
from provisioner.commands._project import (
    Choice,
    load_selected,
    open_store,
    project_options,
    remember,
    require_secret,
    select,
    select_all,
)
from provisioner.commands._target import Target, store_options
from provisioner.custom_api_reader import (
    count_into,
    live_for,
    plan_entry_counts,
    read_for,
)
from provisioner.errors import ApplyError, PlanError, PlanFormatError, ReadOnlyError
from provisioner.impact_counts import grown
from provisioner.impact_reader import read_impact
from provisioner.migration_plan import migrations
from provisioner.migrator import check_migrations
from provisioner.model import State
from provisioner.ownership import foreign_operations, restrict
from provisioner.plan import Plan
from provisioner.planner import check_relationship_targets
from provisioner.planner import plan as make_plan
from provisioner.reader import read_entry_counts, read_live_state
from provisioner.views.progress import ApplyProgress

EXIT_OK = 0
EXIT_CANCELLED = 1
# Operations started at once at most. The client keeps the requests in flight near
# pace x latency below this bound, so this is an upper bound, not a target (issue 11).
DEFAULT_PARALLELISM = DEFAULT_MAX_IN_FLIGHT


def saved_plan(paths: Sequence[Path]) -> Plan | None:
    """The saved plan when PATHS name a plan file, else None (YAML files or folders).

    A plan is recognised by its content (a JSON object with `format_version` or
    `operations`, and no `flows`), not by its name; it must be the only path.
    """
    plans = [path for path in paths if is_plan_file(path)]
    if not plans:
        return None
    if len(paths) > 1:
        raise click.UsageError(
            f"{plans[0]} is a saved plan, and a saved plan is applied alone: give either one "
            "plan file or the YAML files and folders to plan from, not both."
        )
    path = plans[0]
    try:
        return Plan.from_json(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise PlanFormatError(f"{path}: cannot read the saved plan: {error}") from None
    except PlanFormatError as error:
        raise PlanFormatError(f"{path}: {error}") from None


def check_owned(plan: Plan, live: State) -> None:
    """A saved plan that would change organization-owned objects is refused whole."""
    foreign = foreign_operations(plan, live)
    if foreign:
        listed = "\n".join(f"  {op.describe()}" for op in foreign)
        raise PlanError(
            "refusing the saved plan: it changes flows or fields owned by the organization, "
            f"which a store-level apply leaves alone:\n{listed}\nNothing was applied."
        )


def _interactive() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


@click.command("apply")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--allow-destructive",
    is_flag=True,
    help="Allow deletes and replaces (they lose data). Without it such a plan exits 3.",
)
@click.option(
    "--auto-approve", is_flag=True, help="Apply without asking (required without a terminal)."
)
@click.option(
    "--parallelism",
    type=click.IntRange(min=1, max=64),
    default=DEFAULT_PARALLELISM,
    show_default=True,
    help="At most this many independent operations at once; the requests in flight follow"
    " the pace and the store's latency below it.",
)
@click.option("--migrate", is_flag=True, help=planning.MIGRATE_HELP)
@click.option(
    "--skip-order-check",
    is_flag=True,
    help="With --env: apply even if an environment it comes `after` does not match yet.",
)
@planning.no_color_option
@store_options
@project_options()
def command(
    paths: Sequence[Path],
    allow_destructive: bool,
    auto_approve: bool,
    parallelism: int,
    migrate: bool,
    skip_order_check: bool,
    no_color: bool,
    target: Target,
    choice: Choice,
) -> int:
    """Make the store match the YAML in PATHS, or execute a plan saved by `plan --out`.

    \b
    Examples:
      provisioner apply flows/                         shows the plan, asks to confirm
      provisioner apply flows/ --auto-approve          in CI (no terminal to ask on)
      provisioner apply plan.json --auto-approve       exactly a saved plan (refused if stale)
      provisioner apply flows/ --migrate --auto-approve   type changes keep their values
      provisioner apply --env production --auto-approve   after its `after` environments
      provisioner apply --all --auto-approve           every environment, in `after` order
    A saved plan is known by its content, whatever its name, and is applied alone.
    Exit codes: 0 applied (or nothing to do), 1 error, 3 destructive changes not allowed
    (pass --allow-destructive) or an earlier environment not applied yet (promotion order),
    130 interrupted (Ctrl-C; run apply again to finish).
    """
    if choice.all:
        if migrate:
            raise click.UsageError("--migrate applies to one store: use it with --env, not --all.")
        refuse_saved_plan(paths, "apply to every environment (`--all`)")
        return apply_all(
            select_all(choice),
            paths,
            target,
            allow_destructive=allow_destructive,
            auto_approve=auto_approve,
            parallelism=parallelism,
            color=planning.use_color(no_color),
            interactive=_interactive(),
        )
    selected = select(choice, paths, target)
    target = selected.target
    saved = saved_plan(paths)
    desired: State | None = None
    if saved is None:
        desired = load_selected(selected)
    else:
        _check_saved(saved, target, allow_destructive)
    color = planning.use_color(no_color)

    require_secret(selected)  # before the promotion-order check reads other stores

    async def run() -> int:
        if selected.env is not None and selected.project is not None:
            # A saved plan holds no desired state: the environments it comes after are
            # compared with the project's own files (`paths` of provisioner.toml).
            order = selected if saved is None else replace(selected, paths=[])
            await promotion_order(order, skip_order_check)
        async with open_store(target, selected.env, max_in_flight=parallelism) as client:
            _check_store(client, target, saved)
            plan = await _plan_to_apply(client, saved, desired, migrate)
            text = planning.render(plan, "text", color)
            click.echo(text, nl=not text.endswith("\n"))
            if plan.is_empty:
                planning.echo_stats(client, target)
                remember(selected, desired)
                return EXIT_OK
            check_safe(plan, allow_destructive)
            if not auto_approve and not _confirmed():
                return EXIT_CANCELLED
            with ApplyProgress(len(plan.operations), color=color) as progress:
                shown.progress = progress
                code = await _apply_shown(
                    client, plan, target, shown, parallelism, allow_destructive
                )
            if code == EXIT_OK:
                remember(selected, desired)
            return code

    shown = _Shown()
    try:
        return asyncio.run(run())
    except KeyboardInterrupt:
        # Ctrl-C before the apply started (nothing was applied), or a second one during it.
        if shown.progress is None:
            click.echo("Interrupted: nothing was applied.", err=True)
        elif not shown.reported:
            progress = shown.progress
            click.echo(interrupted_message(len(progress.applied), progress.total), err=True)
        return EXIT_INTERRUPTED


def _check_saved(saved: Plan, target: Target, allow_destructive: bool) -> None:
    """A saved plan is known before any request: refuse it at once if it is unsafe, or made
    against another embedded store than this one (before its database is even opened)."""
    check_safe(saved, allow_destructive)
    if target.embedded:
        check_same_store(saved.store, store_identity(target, None))


def _check_store(client: Client, target: Target, saved: Plan | None) -> None:
    """Before any request: a saved plan of another store, or read-only credentials, are
    refused with nothing read or written."""
    if saved is not None:
        check_same_store(saved.store, store_identity(target, client))
    _check_writable(client)


def _check_writable(client: Client) -> None:
    if client.read_only:
        raise ReadOnlyError(
            "apply needs write access, and without a client secret the client uses "
            f"the implicit grant, which can only read: set {client.config.secret_hint}. "
            "`provisioner plan` shows the changes with read-only credentials."
        )


async def _plan_to_apply(
    client: Client, saved: Plan | None, desired: State | None, migrate: bool
) -> Plan:
    """The saved plan, checked fresh and ours against the store; or a new plan of `desired`
    (with `migrate`, its convertible replaces as migrations). A migration's values are checked
    before anything is written, a saved plan's too (issue 15)."""
    if saved is not None:
        live = await live_for(client, await read_live_state(client), saved.has_custom_apis)
        counts = await read_entry_counts(client, live, saved.deleted_flows)
        custom_counts = await plan_entry_counts(client, live, saved)
        grown_counts: list[str] = []
        if saved.impact is not None:  # issue 15: counted again; a grown count is a change
            fresh = await read_impact(client, saved, saved.impact.budget)
            grown_counts = grown(saved.impact, fresh)
        check_fresh(saved, live, counts, custom_counts, grown_counts)
        check_owned(saved, live)
        if migrations(saved):
            await check_migrations(client, saved)  # values that no longer convert: refused
        return saved
    assert desired is not None
    live = await read_for(client, desired)  # issue 14: Custom APIs when declared
    check_relationship_targets(desired, live)
    plan = await count_into(client, restrict(make_plan(desired, live), live), live, desired)
    if migrate:
        return await planning.migrated(client, plan, live)
    return planning.note_stopped(plan, live)


def _confirmed() -> bool:
    """Asked on a terminal; refused (an error) without one."""
    if not _interactive():
        raise click.ClickException(
            "refusing to apply without confirmation: there is no terminal to ask "
            "on. Review the plan and pass --auto-approve to apply non-interactively."
        )
    if not click.confirm("Apply these changes to the store?", default=False):
        click.echo("Apply cancelled: nothing was changed.", err=True)
        return False
    return True


async def _apply_shown(
    client: Client,
    plan: Plan,
    target: Target,
    shown: _Shown,
    parallelism: int,
    allow_destructive: bool,
) -> int:
    """Apply `plan` with the progress `shown.progress` shows; the outcome and statistics."""
    progress = shown.progress
    assert progress is not None
    try:
        await apply_plan(
            client,
            plan,
            parallelism=parallelism,
            allow_destructive=allow_destructive,
            on_event=progress,
        )
    except ApplyInterrupted as interrupt:
        progress.interrupted(interrupt.abandoned, client.stats.summary())
        shown.reported = True
        return EXIT_INTERRUPTED
    except (KeyboardInterrupt, asyncio.CancelledError):
        progress.interrupted((), client.stats.summary())
        shown.reported = True
        raise
    except ApplyError as error:
        progress.finish(client.stats.summary())
        planning.echo_ceiling_note(client, target)
        # The progress summary listed every operation: the error only counts them.
        raise ApplyError(error.applied, error.failed, error.skipped, listed_above=True) from error
    except BaseException:
        progress.finish(client.stats.summary())
        raise
    progress.finish(client.stats.summary())
    planning.echo_ceiling_note(client, target)
    return EXIT_OK


@dataclass
class _Shown:
    """What an interrupted run has already told the user (the interrupt may come anywhere)."""

    progress: ApplyProgress | None = None
    reported: bool = False
