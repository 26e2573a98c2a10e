"""HTTP for Custom APIs (Commerce Extensions, `epcc-api.md` section 10), over a `Client`.

`CustomApiClient(client)` sends through the client's own machinery (token, pace, retries,
read-backs of lost answers, the cooperative duplicate check), so Custom APIs get the same
behaviour as flows: a create whose answer was lost is adopted by reading the store back — a
Custom API by its `api_type` (unique in a store), a field by its slug within its API — and a
duplicate made by another writer is adopted when it holds what we sent. A module of the client
package (issue 12) beside the flows' `domain`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from provisioner.client.domain import Client, segment
from provisioner.client.responses import JsonObject, int_at, json_body
from provisioner.custom_api_model import (
    api_attributes,
    api_from_api,
    field_attributes,
    field_from_api,
)
from provisioner.epcc import custom_apis as facts
from provisioner.errors import NotFoundError

PREFIX = facts.SETTINGS_PREFIX


def _differences(sent: Mapping[str, Any], found: Mapping[str, Any]) -> list[str]:
    """Attribute names whose canonical values differ."""
    return [key for key in sent if sent[key] != found.get(key)]


class CustomApiClient:
    """Custom APIs and their fields through `client` (bodies without `type`/`id`)."""

    def __init__(self, client: Client) -> None:
        self.client = client

    # -- Custom APIs ----------------------------------------------------------------------

    async def list_apis(self) -> list[JsonObject]:
        return await self.client._list(PREFIX)

    async def create_api(self, attrs: Mapping[str, Any]) -> JsonObject:
        """Create; after a lost answer adopt the API of that `api_type` (unique, 409)."""
        api_type = attrs.get("api_type")
        sent = {**facts.API_DEFAULTS, **attrs}

        async def find() -> JsonObject | None:
            return next((a for a in await self.list_apis() if a.get("api_type") == api_type), None)

        def differs(found: JsonObject) -> list[str]:
            # Parents are compared by ID: both sides name them as the store does.
            mine = api_attributes(api_from_api(sent, [], {}))
            theirs = api_attributes(api_from_api(found, [], {}))
            return _differences(
                {**mine, "slug": sent.get("slug")}, {**theirs, "slug": found.get("slug")}
            )

        body = {"data": {**sent, "type": facts.CUSTOM_API_TYPE}}
        return await self.client._create(PREFIX, body, find, (f"Custom API `{api_type}`", differs))

    async def update_api(self, api_id: str, attrs: Mapping[str, Any]) -> JsonObject:
        body = {"data": {**attrs, "type": facts.CUSTOM_API_TYPE, "id": api_id}}
        return await self.client._put(f"{PREFIX}/{segment(api_id)}", body)

    async def delete_api(self, api_id: str) -> None:
        """Its fields and entries go with it (10)."""
        await self.client._delete(f"{PREFIX}/{segment(api_id)}")

    # -- fields ---------------------------------------------------------------------------

    async def list_fields(self, api_id: str) -> list[JsonObject]:
        return await self.client._list(f"{PREFIX}/{segment(api_id)}/fields")

    async def create_field(self, api_id: str, attrs: Mapping[str, Any]) -> JsonObject:
        """Create; after a lost answer adopt the API's field of that slug (unique, 409)."""
        slug = attrs.get("slug")
        path = f"{PREFIX}/{segment(api_id)}/fields"

        async def find() -> JsonObject | None:
            try:
                fields = await self.list_fields(api_id)
            except NotFoundError:
                return None
            return next((f for f in fields if f.get("slug") == slug), None)

        def differs(found: JsonObject) -> list[str]:
            mine = field_attributes(field_from_api(attrs))
            return _differences(mine, field_attributes(field_from_api(found)))

        body = {"data": {**attrs, "type": facts.CUSTOM_FIELD_TYPE}}
        what = f"field `{slug}` of Custom API {api_id}"
        return await self.client._create(path, body, find, (what, differs))

    async def update_field(
        self, api_id: str, field_id: str, attrs: Mapping[str, Any]
    ) -> JsonObject:
        body = {"data": {**attrs, "type": facts.CUSTOM_FIELD_TYPE, "id": field_id}}
        return await self.client._put(
            f"{PREFIX}/{segment(api_id)}/fields/{segment(field_id)}", body
        )

    async def delete_field(self, api_id: str, field_id: str) -> None:
        """Its values are dropped from every entry (10)."""
        await self.client._delete(f"{PREFIX}/{segment(api_id)}/fields/{segment(field_id)}")

    # -- entries --------------------------------------------------------------------------

    async def count_entries(self, api_id: str) -> int:
        """One `page[limit]=1` read of `meta.results.total` (exact unless told otherwise)."""
        path = f"{PREFIX}/{segment(api_id)}/entries"
        response = await self.client._request("GET", path, params={"page[limit]": "1"})
        body = json_body("GET", path, response)
        meta = body.get("meta")
        total = int_at(meta, "results", "total") if isinstance(meta, Mapping) else None
        if total is not None:
            return total
        return len(await self.client._list(path))
