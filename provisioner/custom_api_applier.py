"""Apply's part for Custom APIs (issue 14): what each operation sends, and the stale check.

What each operation sends (section 10; PUT is partial):
- create an API: every managed attribute, its slug, and its parents by ID (from the plan for
  live parents, from this run's creates for new ones); the client adopts a create whose answer
  was lost by reading the store back by `api_type`;
- create a field: every managed attribute in its API (by ID, or the API created or replaced
  earlier in this run); adopted by slug within the API after a lost answer;
- update: only the top-level attributes the changes name (`validation` without its
  create-only keys, which the update body does not carry); a rename (of an API or a field)
  is one PUT with the slug;
- replace: delete, then create (an API's fields are created again by their own operations);
- delete: one DELETE; a 404 means another writer deleted it already: done.

The stale check of a saved plan is `custom_api_fingerprints` (pure).
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from provisioner.custom_api_model import API_ATTRIBUTES, FIELD_ATTRIBUTES, api_body, field_body
from provisioner.errors import NotFoundError
from provisioner.plan import Operation, OpKind


class CustomRun:
    """The Custom API operations of one apply, and the API IDs learnt along the way."""

    def __init__(self, client: Any) -> None:
        from provisioner.client.custom_apis import CustomApiClient

        self.apis = CustomApiClient(client)
        self.api_ids: dict[str, str] = {}

    def _api_id(self, op: Operation) -> str:
        api_id = self.api_ids.get(op.flow_slug) or op.flow_id
        if api_id is None:
            raise RuntimeError(f"no ID known for Custom API {op.flow_slug!r} (plan out of order?)")
        return api_id

    def _ids(self, op: Operation) -> dict[str, str]:
        return {**op.parent_ids, **self.api_ids}

    def _object_id(self, op: Operation) -> str:
        if op.id is None:
            raise RuntimeError(f"{op.describe()}: the plan carries no live ID")
        return op.id

    async def execute(self, op: Operation) -> None:
        await _HANDLERS[op.kind](self, op)

    async def create_api(self, op: Operation) -> None:
        body = api_body(op.flow_slug, op.after or {}, self._ids(op), API_ATTRIBUTES)
        created = await self.apis.create_api(body)
        self.api_ids[op.flow_slug] = str(created["id"])

    async def update_api(self, op: Operation) -> None:
        keys = _changed_keys(op)
        body = api_body(None, op.after or {}, self._ids(op), keys)
        await self.apis.update_api(self._object_id(op), body)

    async def rename_api(self, op: Operation) -> None:
        """One PUT with the new slug: the API keeps its ID, fields and entries."""
        keys = _changed_keys(op)
        body = api_body(op.flow_slug, op.after or {}, self._ids(op), keys)
        await self.apis.update_api(self._object_id(op), body)

    async def replace_api(self, op: Operation) -> None:
        await _gone_is_done(self.apis.delete_api(self._object_id(op)))
        await self.create_api(op)

    async def delete_api(self, op: Operation) -> None:
        await _gone_is_done(self.apis.delete_api(self._object_id(op)))

    async def create_field(self, op: Operation) -> None:
        body = field_body(op.field_slug, op.after or {}, FIELD_ATTRIBUTES, create=True)
        await self.apis.create_field(self._api_id(op), body)

    async def update_field(self, op: Operation) -> None:
        keys = _changed_keys(op)
        slug = op.field_slug if op.kind is OpKind.RENAME_CUSTOM_FIELD else None
        body = field_body(slug, op.after or {}, keys, create=False)
        await self.apis.update_field(self._api_id(op), self._object_id(op), body)

    async def replace_field(self, op: Operation) -> None:
        await _gone_is_done(self.apis.delete_field(self._api_id(op), self._object_id(op)))
        await self.create_field(op)

    async def delete_field(self, op: Operation) -> None:
        await _gone_is_done(self.apis.delete_field(self._api_id(op), self._object_id(op)))


def _changed_keys(op: Operation) -> tuple[str, ...]:
    """The top-level attributes an update's changes name (a rename's `slug` aside)."""
    tops = {change.attribute for change in op.changes}
    order = FIELD_ATTRIBUTES if op.field_slug is not None else API_ATTRIBUTES
    return tuple(key for key in order if key in tops)


async def _gone_is_done(deletion: Awaitable[None]) -> None:
    with contextlib.suppress(NotFoundError):
        await deletion


_HANDLERS: Mapping[OpKind, Callable[[CustomRun, Operation], Awaitable[None]]] = {
    OpKind.CREATE_CUSTOM_API: CustomRun.create_api,
    OpKind.UPDATE_CUSTOM_API: CustomRun.update_api,
    OpKind.RENAME_CUSTOM_API: CustomRun.rename_api,
    OpKind.REPLACE_CUSTOM_API: CustomRun.replace_api,
    OpKind.DELETE_CUSTOM_API: CustomRun.delete_api,
    OpKind.CREATE_CUSTOM_FIELD: CustomRun.create_field,
    OpKind.UPDATE_CUSTOM_FIELD: CustomRun.update_field,
    OpKind.RENAME_CUSTOM_FIELD: CustomRun.update_field,
    OpKind.REPLACE_CUSTOM_FIELD: CustomRun.replace_field,
    OpKind.DELETE_CUSTOM_FIELD: CustomRun.delete_field,
}
