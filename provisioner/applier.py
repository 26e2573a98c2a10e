"""Execute a Plan against a store: dependency order, bounded concurrency, events, clean stops.

The applier runs the operations of a `Plan` and nothing else: it never reads the YAML and never
re-decides what to do. Order comes from `graph.dependencies` (a flow before its fields, a
relationship field after its target flow, deletes in reverse), fed to a
`graphlib.TopologicalSorter`; every operation whose dependencies are done starts at once, up to
`parallelism` at a time, and the client keeps the whole run within its rate limit.

What each operation sends (`epcc-api.md` 3.5 and 4.6: PUT is partial):
- create: every managed attribute plus the slug; a field's flow ID comes from the plan, or, for
  a flow created earlier in this run, from that create's answer;
- update: only the top-level attributes named by the operation's changes;
- rename: one PUT with the new slug (the field keeps its ID and its stored values);
- replace: delete, then create (in the target flow) — `field_type` and the flow are immutable
  (4.6), so this is the only way, and the stored values are lost;
- delete: one DELETE; a 404 means another writer deleted it already, which is done too;
- migrate (`apply --migrate`, issue 15): a replace that keeps the values, `provisioner.migrator`.

Concurrent applies of the same files cooperate: a create another writer made first is adopted
by the client when it holds the attributes we sent (`ConcurrentChangeError` otherwise: plan
again), and a delete someone else made first counts as done.

An operation whose request failed on the store's side (5xx answers or lost answers, after the
client's own budget of attempts, or 429s until its deadline without a `Retry-After` past it)
is set aside and run again, at most `OPERATION_ROUNDS` times in all, as soon as another
operation succeeds (or, for the last ones, when any operation of the run succeeded): the store
is taking writes, so the failure was bad luck, not a broken store (a frozen, full or read-only
store, where nothing succeeds, gets no second round and costs no extra time). Running an
operation again is safe: a create adopts the object a lost answer left behind (client), an
update is idempotent and a delete answered 404 is done.

A failed operation stops only what depends on it, as Terraform walks its graph: every
operation that does not depend on it (other flows, other fields of the same flow) still runs;
its dependants, direct and transitive, are skipped and reported (`SKIPPED` events, naming the
failed operation they wait for). When nothing more can run, `ApplyError` names every failure
and every skipped operation; a fresh plan on the next run finishes the job, because every
create adopts an object a lost answer may have left behind (client) and the planner compares
the store as it is.

`check_safe` refuses destructive operations that were not allowed (exit 3) and `check_fresh`
refuses a saved plan whose touched objects changed since it was made (`provisioner.preflight`);
the events are `provisioner.events`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from graphlib import CycleError, TopologicalSorter
from typing import Any, Protocol

from provisioner import custom_api_applier
from provisioner.asyncrun import background
from provisioner.errors import (
    EXIT_INTERRUPTED,
    ApplyError,
    ApplyInterrupted,
    NotFoundError,
    RateLimitedError,
    ServerError,
    TransportError,
)
from provisioner.events import ApplyEvent, EventCallback, EventKind, interrupted_message
from provisioner.graph import dependencies, ordered
from provisioner.normalize import create_body, update_body
from provisioner.plan import Operation, OpKind, Plan
from provisioner.preflight import check_fresh, check_safe, fingerprint_keys

__all__ = [
    "DEFAULT_PARALLELISM",
    "EXIT_INTERRUPTED",
    "ApplyEvent",
    "ApplyInterrupted",
    "ApplyResult",
    "EventKind",
    "WritingClient",
    "apply_plan",
    "check_fresh",
    "check_safe",
    "fingerprint_keys",
    "interrupted_message",
]

log = logging.getLogger(__name__)

DEFAULT_PARALLELISM = 8
# How many times an operation runs at most when its failures are the store's transient ones
# (issue 17: 50% failed and 30% lost answers converge in one apply).
OPERATION_ROUNDS = 3
# After an interrupt, how long the requests in flight get to finish before they are abandoned.
INTERRUPT_GRACE_SECONDS = 5.0


class WritingClient(Protocol):
    """The part of `provisioner.client.Client` the applier needs."""

    async def create_flow(self, attrs: Mapping[str, Any]) -> dict[str, Any]: ...

    async def update_flow(self, flow_id: str, attrs: Mapping[str, Any]) -> dict[str, Any]: ...

    async def delete_flow(self, flow_id: str) -> None: ...

    async def create_field(self, flow_id: str, attrs: Mapping[str, Any]) -> dict[str, Any]: ...

    async def update_field(self, field_id: str, attrs: Mapping[str, Any]) -> dict[str, Any]: ...

    async def delete_field(self, field_id: str) -> None: ...


@dataclass(frozen=True)
class ApplyResult:
    """What a completed apply did, in completion order."""

    applied: tuple[Operation, ...]


# -- Execution -------------------------------------------------------------------------------


async def _gone_is_done(deletion: Awaitable[None]) -> None:
    """A delete answered 404: another writer (a concurrent apply) deleted it first: done."""
    with contextlib.suppress(NotFoundError):
        await deletion


class _Run:
    """One apply: the plan, the client, and the IDs learnt along the way."""

    def __init__(self, client: WritingClient, plan: Plan) -> None:
        self.client = client
        self.plan = plan
        # Flow IDs created in this run, for the fields that go into those flows.
        self.flow_ids: dict[str, str] = {}
        self.custom: custom_api_applier.CustomRun | None = None  # made on first use

    def _flow_id(self, op: Operation) -> str:
        flow_id = op.flow_id or self.flow_ids.get(op.flow_slug)
        if flow_id is None:
            raise RuntimeError(f"no ID known for flow {op.flow_slug!r} (plan out of order?)")
        return flow_id

    def _object_id(self, op: Operation) -> str:
        if op.id is None:
            raise RuntimeError(f"{op.describe()}: the plan carries no live ID")
        return op.id

    async def execute(self, op: Operation) -> None:
        if op.kind.custom:  # issue 14: Custom APIs have their own module
            if self.custom is None:
                self.custom = custom_api_applier.CustomRun(self.client)
            await self.custom.execute(op)
            return
        await self._HANDLERS[op.kind](self, op)

    # One handler per operation kind (design.md practice 4: a dispatch table, not a switch).

    async def _create_flow(self, op: Operation) -> None:
        created = await self.client.create_flow(create_body(op))
        self.flow_ids[op.flow_slug] = str(created["id"])

    async def _update_flow(self, op: Operation) -> None:
        await self.client.update_flow(self._object_id(op), update_body(op))

    async def _delete_flow(self, op: Operation) -> None:
        await _gone_is_done(self.client.delete_flow(self._object_id(op)))

    async def _create_field(self, op: Operation) -> None:
        await self.client.create_field(self._flow_id(op), create_body(op))

    async def _update_field(self, op: Operation) -> None:
        # Also a rename: one PUT carrying the new slug keeps the ID and the stored values.
        await self.client.update_field(self._object_id(op), update_body(op))

    async def _replace_field(self, op: Operation) -> None:
        # field_type and the flow are immutable (4.6): delete, then create in the target flow.
        await _gone_is_done(self.client.delete_field(self._object_id(op)))
        await self.client.create_field(self._flow_id(op), create_body(op))

    async def _delete_field(self, op: Operation) -> None:
        await _gone_is_done(self.client.delete_field(self._object_id(op)))

    async def _migrate_field(self, op: Operation) -> None:
        # Issue 15: a type change that keeps the values; its own module reads the records.
        from provisioner.migrator import run_migration

        await run_migration(self.client, op)  # type: ignore[arg-type]

    _HANDLERS: Mapping[OpKind, Callable[[_Run, Operation], Awaitable[None]]] = {
        OpKind.CREATE_FLOW: _create_flow,
        OpKind.UPDATE_FLOW: _update_flow,
        OpKind.DELETE_FLOW: _delete_flow,
        OpKind.CREATE_FIELD: _create_field,
        OpKind.UPDATE_FIELD: _update_field,
        OpKind.RENAME_FIELD: _update_field,
        OpKind.REPLACE_FIELD: _replace_field,
        OpKind.DELETE_FIELD: _delete_field,
        OpKind.MIGRATE_FIELD: _migrate_field,
    }


async def apply_plan(
    client: WritingClient,
    plan: Plan,
    *,
    parallelism: int = DEFAULT_PARALLELISM,
    allow_destructive: bool = False,
    on_event: EventCallback | None = None,
    interrupt_grace: float = INTERRUPT_GRACE_SECONDS,
    rounds: int = OPERATION_ROUNDS,
) -> ApplyResult:
    """Run every operation of `plan` in dependency order, `parallelism` at a time.

    Raises `UnsafePlanError` (nothing applied) for destructive operations not allowed, and
    `ApplyError` when an operation failed: after everything that did not depend on a failed
    operation ran, and with the skipped dependants listed. Cancelled (an interrupt), it starts
    nothing new, gives the operations in flight `interrupt_grace` seconds to finish, cancels
    the rest and raises `ApplyInterrupted`. An operation the store failed transiently runs
    `rounds` times at most (see the module's docstring).
    """
    if parallelism < 1:
        raise ValueError("parallelism must be at least 1")
    check_safe(plan, allow_destructive)
    walk = _Walk(_Run(client, plan), on_event or (lambda event: None), rounds)
    await walk.run(parallelism, interrupt_grace)
    if walk.failed:
        raise ApplyError(
            [op.describe() for op in walk.applied],
            [(op.describe(), str(error) or type(error).__name__) for op, error in walk.failed],
            [(op.describe(), why) for op, why in walk.skipped],
        ) from walk.failed[0][1]
    return ApplyResult(applied=tuple(walk.applied))


def _checked_graph(operations: tuple[Operation, ...]) -> Mapping[int, Any]:
    """The dependency graph of `operations`; a cycle is refused before anything runs."""
    graph = dependencies(operations)
    sorter: TopologicalSorter[int] = TopologicalSorter()
    for index in range(len(operations)):
        sorter.add(index, *sorted(graph.get(index, ())))
    try:
        sorter.prepare()  # only to refuse a cycle before anything runs
    except CycleError:
        ordered(operations)  # raises graph.CycleError, which names the operations
        raise
    return graph


class _Walk:
    """Our own walk of the dependency graph: a failure must hold back its dependants only,
    which TopologicalSorter cannot express (an operation never marked done blocks nothing
    else, but the sorter then never finishes)."""

    def __init__(self, run: _Run, emit: EventCallback, rounds: int) -> None:
        self.run_ = run
        self.emit = emit
        self.rounds = rounds
        self.operations = run.plan.operations
        self.total = total = len(self.operations)
        graph = _checked_graph(self.operations)
        self.dependents: dict[int, list[int]] = {index: [] for index in range(total)}
        self.waiting = {index: len(graph.get(index, ())) for index in range(total)}
        for index in range(total):
            for before in graph.get(index, ()):
                self.dependents[before].append(index)
        self.ready: list[int] = [index for index in range(total) if self.waiting[index] == 0]
        self.running: dict[asyncio.Task[None], int] = {}
        self.started = dict.fromkeys(range(total), 0)  # times each operation was started
        # Failed transiently, waiting for another operation to succeed before running again.
        self.deferred: dict[int, BaseException] = {}
        self.applied: list[Operation] = []
        self.failed: list[tuple[Operation, BaseException]] = []
        self.skipped: list[tuple[Operation, str]] = []
        self.held: set[int] = set()

    def event(self, kind: EventKind, index: int, error: str | None = None) -> None:
        self.emit(ApplyEvent(kind, index, self.total, self.operations[index], error))

    async def run(self, parallelism: int, grace: float) -> None:
        while True:
            self.start(parallelism)
            if not self.running:
                return
            try:
                finished, _ = await asyncio.wait(self.running, return_when=asyncio.FIRST_COMPLETED)
            except asyncio.CancelledError:
                # An interrupt (asyncio.run cancels the main task on SIGINT): start nothing
                # new, let what is in flight finish for a moment, abandon the rest, say so.
                await _wind_down(self.running, self.operations, self.applied, self.emit, grace)
                raise ApplyInterrupted(
                    len(self.applied),
                    self.total,
                    tuple(self.operations[i] for i in sorted(self.running.values())),
                ) from None
            for task in sorted(finished, key=self.running.__getitem__):
                self.finished(self.running.pop(task), task.exception())
            self.settle_deferred()

    def start(self, parallelism: int) -> None:
        self.ready.sort()
        while self.ready and len(self.running) < parallelism:
            index = self.ready.pop(0)
            self.started[index] += 1
            self.event(EventKind.STARTED, index)
            task = background(self.run_.execute(self.operations[index]))
            self.running[task] = index

    def finished(self, index: int, error: BaseException | None) -> None:
        op = self.operations[index]
        if error is None:
            self.succeeded(index)
        elif self.transient(error) and self.started[index] < self.rounds:
            log.info("%s failed (%s); it runs again once another succeeds", op.describe(), error)
            self.deferred[index] = error
        else:
            self.fail(index, error)

    @staticmethod
    def transient(error: BaseException) -> bool:
        """5xx answers, lost answers, and 429s until the deadline, unless the store asked for
        a wait past it (`Retry-After`): that is its answer to this operation."""
        if isinstance(error, RateLimitedError):
            return error.retry_after is None
        return isinstance(error, ServerError | TransportError)

    def fail(self, index: int, error: BaseException) -> None:
        self.failed.append((self.operations[index], error))
        self.event(EventKind.FAILED, index, str(error))
        self.skip_dependants(index)

    def succeeded(self, index: int) -> None:
        self.applied.append(self.operations[index])
        self.event(EventKind.SUCCEEDED, index)
        self.ready.extend(self.deferred)  # the store takes writes: run them again
        self.deferred.clear()
        for dependant in self.dependents[index]:
            self.waiting[dependant] -= 1
            if self.waiting[dependant] == 0 and dependant not in self.held:
                self.ready.append(dependant)

    def settle_deferred(self) -> None:
        """With nothing running and nothing ready: the operations set aside run again when
        the store took writes in this run; otherwise their failures stand (a broken store)."""
        if self.running or self.ready:
            return
        if self.applied:
            self.ready.extend(self.deferred)  # the last ones: the store took writes in this run
        else:
            for index, error in sorted(self.deferred.items()):
                self.fail(index, error)
        self.deferred.clear()

    def skip_dependants(self, index: int) -> None:
        # Nothing depending on a failed operation has started (it waits for every one of its
        # dependencies to succeed); those already held back by an earlier failure stay listed
        # under that one.
        cause = self.operations[index].describe()
        stack, newly_held = list(self.dependents[index]), []
        while stack:
            dependant = stack.pop()
            if dependant not in self.held:
                self.held.add(dependant)
                newly_held.append(dependant)
                stack.extend(self.dependents[dependant])
        for dependant in sorted(newly_held):
            why = f"depends on {cause}, which failed"
            self.skipped.append((self.operations[dependant], why))
            self.event(EventKind.SKIPPED, dependant, why)


async def _wind_down(
    running: dict[asyncio.Task[None], int],
    operations: tuple[Operation, ...],
    applied: list[Operation],
    emit: EventCallback,
    grace: float,
) -> None:
    """After an interrupt: wait up to `grace` seconds for the running operations, report those
    that finished, cancel the others. `running` keeps only the abandoned ones."""
    task = asyncio.current_task()
    if task is not None:
        task.uncancel()  # the interrupt is handled here: later awaits must not see it again
    total = len(operations)
    if running:
        finished, _ = await asyncio.wait(running, timeout=grace)
        for done in sorted(finished, key=running.__getitem__):
            index = running.pop(done)
            error = done.exception()
            if error is None:
                applied.append(operations[index])
                emit(ApplyEvent(EventKind.SUCCEEDED, index, total, operations[index]))
            else:
                emit(ApplyEvent(EventKind.FAILED, index, total, operations[index], str(error)))
    for pending in running:
        pending.cancel()
    await asyncio.gather(*running, return_exceptions=True)
