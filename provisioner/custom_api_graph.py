"""Dependencies among a plan's Custom API operations (issue 14), for `graph.dependencies`.

- a Custom API is created (or replaced) after the parents it names that the plan creates;
- a field operation runs after its API's creation or replacement (which also re-creates the
  fields, so every field of a replaced API waits for it);
- an operation that frees a field slug (delete, rename away, replace from another slug) runs
  before one that takes it (slugs are unique per API, 409);
- deletes in reverse: an API is deleted (or replaced) after the APIs that stop naming it as a
  parent (deleted, or updated without it): the store refuses to delete a parent (409);
- a field that takes an API's `use_as_url_slug` (created or replaced with it) runs after the
  deletion or replace that frees it (one per API, 400);
- an API that takes a slug (created, or renamed to it) runs after the rename that frees it,
  and one that takes an `api_type` (created, or replaced with it) after the deletion or
  replace that frees it: both are unique in a store (409).

Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence

from provisioner.keys import custom_field_key
from provisioner.plan import Operation, OpKind

_MAKES = (OpKind.CREATE_CUSTOM_API, OpKind.REPLACE_CUSTOM_API)
_DELETES = (OpKind.DELETE_CUSTOM_API, OpKind.REPLACE_CUSTOM_API)


def _parents(attributes: object) -> set[str]:
    parents = attributes.get("parent_apis") if isinstance(attributes, dict) else None
    return {p for p in parents if isinstance(p, str)} if isinstance(parents, list) else set()


def _frees(op: Operation) -> str | None:
    if op.field_slug is None:
        return None
    if op.kind is OpKind.DELETE_CUSTOM_FIELD:
        return op.key
    if op.from_slug is not None and op.from_slug != op.field_slug:
        return custom_field_key(op.flow_slug, op.from_slug)
    return None


def _takes(op: Operation) -> str | None:
    if op.kind is OpKind.CREATE_CUSTOM_FIELD:
        return op.key
    if op.from_slug is not None and op.from_slug != op.field_slug:
        return op.key
    return None


def add_custom_edges(operations: Sequence[Operation], deps: dict[int, set[int]]) -> None:
    """Add the Custom API edges to `deps` (operation index -> indices that must run first)."""
    custom = [(i, op) for i, op in enumerate(operations) if op.kind.custom]
    if not custom:
        return
    made = {op.flow_slug: i for i, op in custom if op.kind in _MAKES}
    _unique_edges(custom, deps)
    _url_slug_edges(custom, deps)
    freed: dict[str, list[int]] = {}
    for i, op in custom:
        key = _frees(op)
        if key is not None:
            freed.setdefault(key, []).append(i)
    for i, op in custom:
        if op.field_slug is not None:
            _field_edges(i, op, deps[i], made, freed)
        else:
            _api_edges(i, op, deps[i], made, custom)


def _field_edges(
    i: int, op: Operation, mine: set[int], made: dict[str, int], freed: dict[str, list[int]]
) -> None:
    """A field waits for its API's creation and for the slug it takes to be freed."""
    if op.kind is not OpKind.DELETE_CUSTOM_FIELD and op.flow_slug in made:
        mine.add(made[op.flow_slug])
    key = _takes(op)
    if key is not None:
        mine.update(j for j in freed.get(key, ()) if j != i)


def _api_edges(
    i: int,
    op: Operation,
    mine: set[int],
    made: dict[str, int],
    custom: Sequence[tuple[int, Operation]],
) -> None:
    """An API waits for its new parents; a deleted one for the APIs that stop naming it."""
    if op.kind is not OpKind.DELETE_CUSTOM_API:
        mine.update(made[p] for p in _parents(op.after) if p in made and made[p] != i)
    if op.kind not in _DELETES:
        return
    for j, other in custom:
        if j == i or other.field_slug is not None or op.flow_slug not in _parents(other.before):
            continue
        if other.kind is OpKind.DELETE_CUSTOM_API or op.flow_slug not in _parents(other.after):
            mine.add(j)


def _api_type(attributes: object) -> str | None:
    value = attributes.get("api_type") if isinstance(attributes, dict) else None
    return value if isinstance(value, str) else None


def _unique_edges(custom: Sequence[tuple[int, Operation]], deps: dict[int, set[int]]) -> None:
    """API slugs and api_types taken only after they are freed."""
    apis = [(i, op) for i, op in custom if op.field_slug is None]
    slug_freed = {op.from_slug: i for i, op in apis if op.kind is OpKind.RENAME_CUSTOM_API}
    type_freed: dict[str, int] = {}
    for i, op in apis:
        old = _api_type(op.before)
        if op.kind in _DELETES and old is not None and old != _api_type(op.after):
            type_freed[old] = i
    for i, op in apis:
        takes_slug = op.kind in (OpKind.CREATE_CUSTOM_API, OpKind.RENAME_CUSTOM_API)
        j = slug_freed.get(op.flow_slug) if takes_slug else None
        if j is not None and j != i:
            deps[i].add(j)
        new = _api_type(op.after)
        takes_type = op.kind in _MAKES and new is not None and new != _api_type(op.before)
        j = type_freed.get(new) if takes_type and new is not None else None
        if j is not None and j != i:
            deps[i].add(j)


def _url_slug(attributes: object) -> bool:
    return isinstance(attributes, dict) and attributes.get("use_as_url_slug") is True


def _url_slug_edges(custom: Sequence[tuple[int, Operation]], deps: dict[int, set[int]]) -> None:
    """A field takes its API's `use_as_url_slug` after the field that holds it lets it go."""
    fields = [(i, op) for i, op in custom if op.field_slug is not None]
    freed: dict[str, list[int]] = {}
    for i, op in fields:
        frees = op.kind in (OpKind.DELETE_CUSTOM_FIELD, OpKind.REPLACE_CUSTOM_FIELD)
        if frees and _url_slug(op.before) and not _url_slug(op.after):
            freed.setdefault(op.flow_slug, []).append(i)
    for i, op in fields:
        takes = op.kind in (OpKind.CREATE_CUSTOM_FIELD, OpKind.REPLACE_CUSTOM_FIELD)
        if takes and _url_slug(op.after) and not _url_slug(op.before):
            deps[i].update(j for j in freed.get(op.flow_slug, ()) if j != i)
