"""API helpers only tests use: entries of custom flows, created, read back by id and listed.

No command creates or reads entries (the reader only counts them), so these live here, on a
`Client` subclass, built on the client's own verbs: a create whose answer is lost is still
adopted by id, never repeated.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from provisioner.client import Client, JsonObject
from provisioner.client.domain import segment
from provisioner.errors import NotFoundError


class ApiClient(Client):
    """A `Client` with the entry helpers the tests need."""

    async def create_entry(self, flow_slug: str, attrs: Mapping[str, Any]) -> JsonObject:
        """Create an entry in a custom flow; adopt it by id after a lost answer.

        The API uses an `id` sent on create (§5.1); a fresh UUID is sent when the caller gave
        none, so a lost answer can be checked by reading that id back.
        """
        data = {k: v for k, v in attrs.items() if k != "type"}
        entry_id = data.get("id")
        if not isinstance(entry_id, str) or not entry_id:
            entry_id = str(uuid.uuid4())
            data["id"] = entry_id

        async def find() -> JsonObject | None:
            try:
                return await self.get_entry(flow_slug, entry_id)
            except NotFoundError:
                return None

        body = {"data": {**data, "type": "entry"}}
        return await self._create(f"/v2/flows/{segment(flow_slug)}/entries", body, find)

    async def get_entry(self, flow_slug: str, entry_id: str) -> JsonObject:
        """One entry of a flow."""
        return await self._get(f"/v2/flows/{segment(flow_slug)}/entries/{segment(entry_id)}")

    async def list_entries(self, flow_slug: str) -> list[JsonObject]:
        """Every entry of a flow (all pages)."""
        return await self._list(f"/v2/flows/{segment(flow_slug)}/entries")
