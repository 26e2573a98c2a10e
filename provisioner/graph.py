"""The order of a plan's operations, from their dependencies (design.md practice 5).

An operation depends on another when the store would refuse it, or lose something, if it ran
first:

- a field operation in a flow created by the plan runs after that flow's creation;
- a field whose relationship rule points at a flow created by the plan runs after it (4.5);
- deletes run in reverse: the fields of a flow (and relationship fields pointing at it) go
  before the flow itself (3.4: "remove all the fields assigned to a flow before deleting");
- an operation that frees a field slug (delete, rename away, replace from another slug or
  flow) runs before one that takes the slug (4.7: slugs are unique per flow);
- a field that joins a flow (create, replace moving in) runs after the fields leaving it
  (deletes; for a create also replaces moving out): a flow holds at most 100 fields (4.2), so
  in a full flow the new ones only fit afterwards.

`dependencies` gives these edges by operation index; `ordered` a stable topological order
(lowest index first among the ready ones, so the planner's sorted order survives wherever the
dependencies allow it). A cycle raises `CycleError` naming the operations in it.

Pure: no I/O.
"""

from __future__ import annotations

import graphlib
import heapq
from collections.abc import Sequence

from provisioner.custom_api_graph import add_custom_edges
from provisioner.errors import CycleError
from provisioner.normalize import relationship_targets
from provisioner.plan import Operation, OpKind, field_key


def frees_key(op: Operation) -> str | None:
    """The field key an operation removes from the store before anything else, if any."""
    if op.field_slug is None:
        return None
    if op.kind is OpKind.DELETE_FIELD:
        return op.key
    if op.kind in (OpKind.RENAME_FIELD, OpKind.REPLACE_FIELD):
        old = _old_key(op)
        return old if old != op.key else None
    return None


def takes_key(op: Operation) -> str | None:
    """The field key an operation newly occupies, if any."""
    if op.field_slug is None:
        return None
    if op.kind is OpKind.CREATE_FIELD:
        return op.key
    if op.kind in (OpKind.RENAME_FIELD, OpKind.REPLACE_FIELD) and _old_key(op) != op.key:
        return op.key
    return None


def dependencies(operations: Sequence[Operation]) -> dict[int, set[int]]:
    """For each operation index, the indices of the operations that must run before it."""
    created_flows: dict[str, int] = {}
    deleted_flows: dict[str, int] = {}
    freed: dict[str, list[int]] = {}
    # Per flow: its field deletes, and the replaces that move a field out of it.
    deleted_in: dict[str, list[int]] = {}
    moved_out_of: dict[str, list[int]] = {}
    for index, op in enumerate(operations):
        if op.kind is OpKind.CREATE_FLOW:
            created_flows[op.flow_slug] = index
        elif op.kind is OpKind.DELETE_FLOW:
            deleted_flows[op.flow_slug] = index
        elif op.kind is OpKind.DELETE_FIELD:
            deleted_in.setdefault(op.flow_slug, []).append(index)
        elif _moves(op):
            assert op.from_flow_slug is not None
            moved_out_of.setdefault(op.from_flow_slug, []).append(index)
        key = frees_key(op)
        if key is not None:
            freed.setdefault(key, []).append(index)

    deps: dict[int, set[int]] = {index: set() for index in range(len(operations))}
    for index, op in enumerate(operations):
        if op.field_slug is not None and not op.kind.custom:
            _field_edges(index, op, deps, created_flows, deleted_flows)
            _slot_edges(index, op, deps[index], freed, deleted_in, moved_out_of)
    add_custom_edges(operations, deps)  # issue 14: Custom APIs, their own module
    return deps


def _field_edges(
    index: int,
    op: Operation,
    deps: dict[int, set[int]],
    created_flows: dict[str, int],
    deleted_flows: dict[str, int],
) -> None:
    """A field needs its flow and the flows its relationship rules point at; a flow is
    deleted after every field leaving it or pointing at it (deletes in reverse)."""
    if op.kind is not OpKind.DELETE_FIELD and created_flows:
        for slug in (op.flow_slug, *relationship_targets(op.after)):
            if slug in created_flows:
                deps[index].add(created_flows[slug])
    if not deleted_flows:
        return
    leaves = {op.flow_slug} if op.kind is OpKind.DELETE_FIELD else set()
    if op.kind is OpKind.REPLACE_FIELD and op.from_flow_slug:
        leaves.add(op.from_flow_slug)
    if op.kind is not OpKind.CREATE_FIELD:
        leaves.update(relationship_targets(op.before))
    for slug in leaves:
        if slug in deleted_flows:
            deps[deleted_flows[slug]].add(index)


def _slot_edges(
    index: int,
    op: Operation,
    mine: set[int],
    freed: dict[str, list[int]],
    deleted_in: dict[str, list[int]],
    moved_out_of: dict[str, list[int]],
) -> None:
    """A slug must be free before it is taken; a field joining a flow waits for room in it
    (4.2: 100 fields at most). No cycle can come of the latter: a delete depends on nothing
    and nothing depends on a create."""
    if freed:
        key = takes_key(op)
        if key is not None:
            mine.update(other for other in freed.get(key, ()) if other != index)
    if op.kind is OpKind.CREATE_FIELD:
        mine.update(deleted_in.get(op.flow_slug, ()))
        mine.update(moved_out_of.get(op.flow_slug, ()))
    elif _moves(op):
        mine.update(deleted_in.get(op.flow_slug, ()))


def ordered(operations: Sequence[Operation]) -> list[Operation]:
    """The operations in a stable dependency order; raises `CycleError` on a cycle."""
    deps = dependencies(operations)
    dependents: dict[int, list[int]] = {}
    waiting = [0] * len(operations)
    for index, before in deps.items():
        waiting[index] = len(before)
        for other in before:
            dependents.setdefault(other, []).append(index)
    ready = [index for index, count in enumerate(waiting) if count == 0]  # sorted: a heap
    result: list[Operation] = []
    while ready:
        index = heapq.heappop(ready)
        result.append(operations[index])
        for dependent in dependents.get(index, ()):
            waiting[dependent] -= 1
            if waiting[dependent] == 0:
                heapq.heappush(ready, dependent)
    if len(result) < len(operations):
        _raise_cycle(deps, operations)
    return result


def _raise_cycle(deps: dict[int, set[int]], operations: Sequence[Operation]) -> None:
    """Name the operations of a cycle among `deps` (graphlib finds one)."""
    try:
        graphlib.TopologicalSorter(deps).prepare()
    except graphlib.CycleError as error:
        cycle = error.args[1] if len(error.args) > 1 else []
        raise CycleError([operations[i].describe() for i in cycle]) from error
    stuck = sorted(index for index, before in deps.items() if before)
    raise CycleError([operations[i].describe() for i in stuck])


def _moves(op: Operation) -> bool:
    """True for a replace that moves a field from another flow into `op.flow_slug`."""
    return op.kind is OpKind.REPLACE_FIELD and op.from_flow_slug not in (None, op.flow_slug)


def _old_key(op: Operation) -> str:
    """The key of the live field an operation starts from (its slug before a rename/move)."""
    assert op.field_slug is not None
    flow_slug = op.from_flow_slug or op.flow_slug
    return field_key(flow_slug, op.from_slug or op.field_slug)
