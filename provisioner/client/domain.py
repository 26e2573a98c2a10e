"""`Client`: the domain methods, one per API operation the program uses.

Flows and fields (epcc-api.md §3, §4), customers (§6, used by the demo), and the entry count
the reader needs (§5.1). They return the API's raw `data` objects; `attrs` are API attribute
names without `type` or `id`, which the client adds. A create names how to find the object
again (`find`), so that a create whose answer was lost is adopted, not repeated, and how to
tell whether an object another writer made holds what was sent (`differs`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import quote

from provisioner.client.paging import PagedSession
from provisioner.client.responses import JsonObject, int_at, json_body
from provisioner.client.session import Differ, without_keys
from provisioner.epcc import flows as api
from provisioner.errors import NotFoundError
from provisioner.normalize import (
    field_attributes,
    field_from_api,
    flow_attributes,
    flow_from_api,
)


class Client(PagedSession):
    """An async client for one store: `async with Client(config) as client: ...`.

    `transport` replaces the network (the embedded local store, or a test's mock transport).
    Domain methods return the API's raw `data` objects; `attrs` are API attribute names without
    `type` or `id`, which the client adds.
    """

    # ----------------------------------------------------------------------- flows

    async def list_flows(self) -> list[JsonObject]:
        """Every flow of the store (all pages)."""
        return await self._list("/v2/flows")

    async def get_flow(self, flow_id: str) -> JsonObject:
        """One flow by id (404 -> NotFoundError)."""
        return await self._get(f"/v2/flows/{segment(flow_id)}")

    async def create_flow(self, attrs: Mapping[str, Any]) -> JsonObject:
        """Create a flow; adopt the flow of that slug if a lost answer had been applied."""
        slug = attrs.get("slug")

        async def find() -> JsonObject | None:
            return next((f for f in await self.list_flows() if f.get("slug") == slug), None)

        sent = _with_required(
            without_keys(attrs), api.FLOW_CREATE_REQUIRED, api.FLOW_SERVER_DEFAULTS
        )
        body = {"data": {**sent, "type": "flow"}}
        if not isinstance(slug, str):
            return await self._create("/v2/flows", body, None)
        differs = _differ(_flow_canonical, {**sent, "slug": slug})
        return await self._create("/v2/flows", body, find, (f"flow `{slug}`", differs))

    async def update_flow(self, flow_id: str, attrs: Mapping[str, Any]) -> JsonObject:
        """Partial update (PUT sends `id` and `type`, §3.5)."""
        return await self._update(f"/v2/flows/{segment(flow_id)}", "flow", flow_id, attrs)

    async def delete_flow(self, flow_id: str) -> None:
        """Delete a flow (a 404 after a lost answer means it is done)."""
        await self._delete(f"/v2/flows/{segment(flow_id)}")

    # ----------------------------------------------------------------------- fields

    async def list_fields(self) -> list[JsonObject]:
        """Every field of every flow (GET /v2/fields, all pages)."""
        return await self._list("/v2/fields")

    async def list_flow_fields(self, flow_slug: str) -> list[JsonObject]:
        """The fields of one flow, by the flow's slug (§4.1)."""
        return await self._list(f"/v2/flows/{segment(flow_slug)}/fields")

    async def create_field(self, flow_id: str, attrs: Mapping[str, Any]) -> JsonObject:
        """Create a field in a flow; adopt the flow's field of that slug after a lost answer."""
        slug = attrs.get("slug")

        async def find() -> JsonObject | None:
            try:
                flow = await self.get_flow(flow_id)
            except NotFoundError:
                return None
            flow_slug = flow.get("slug")
            if not isinstance(flow_slug, str):
                return None
            fields = await self.list_flow_fields(flow_slug)
            return next((f for f in fields if f.get("slug") == slug), None)

        relationships = {"flow": {"data": {"type": "flow", "id": flow_id}}}
        sent = _with_required(
            without_keys(attrs), api.FIELD_CREATE_REQUIRED, api.FIELD_SERVER_DEFAULTS
        )
        data = {**sent, "type": "field", "relationships": relationships}
        if not slug:
            return await self._create("/v2/fields", {"data": data}, None)
        what = f"field `{slug}` of flow {flow_id}"
        differs = _differ(_field_canonical, {**sent, "slug": slug})
        return await self._create("/v2/fields", {"data": data}, find, (what, differs))

    async def update_field(self, field_id: str, attrs: Mapping[str, Any]) -> JsonObject:
        """Partial update of a field (never its `field_type` or flow, §4.6)."""
        return await self._update(f"/v2/fields/{segment(field_id)}", "field", field_id, attrs)

    async def delete_field(self, field_id: str) -> None:
        """Delete a field (its stored values go with it, §4.8)."""
        await self._delete(f"/v2/fields/{segment(field_id)}")

    # ----------------------------------------------------------------------- customers, entries

    async def create_customer(self, attrs: Mapping[str, Any]) -> JsonObject:
        """Create a customer; after a lost answer adopt one with the same email and attributes.

        Emails need not be unique (§6), so a customer is adopted only when every attribute
        sent matches, except those it does not show: the password (never returned) and keys
        the store drops (no enabled field of the customers flow, §0) or omits (`omit_null`).
        """
        sent = without_keys(attrs)
        email_address = sent.get("email")

        async def find() -> JsonObject | None:
            found = await self.list_customers(filter=f"eq(email,{email_address})")
            comparable = {k: v for k, v in sent.items() if k != "password"}
            return next(
                (c for c in found if all(c[k] == v for k, v in comparable.items() if k in c)),
                None,
            )

        body = {"data": {**sent, "type": "customer"}}
        usable = isinstance(email_address, str) and "," not in email_address
        return await self._create("/v2/customers", body, find if usable else None)

    async def get_customer(self, customer_id: str) -> JsonObject:
        """One customer with its custom fields flat beside the core attributes (§5.3)."""
        return await self._get(f"/v2/customers/{segment(customer_id)}")

    async def update_customer(self, customer_id: str, attrs: Mapping[str, Any]) -> JsonObject:
        """Partial update of a customer."""
        path = f"/v2/customers/{segment(customer_id)}"
        return await self._update(path, "customer", customer_id, attrs)

    async def list_customers(self, filter: str | None = None) -> list[JsonObject]:
        """Customers, optionally filtered (`eq(email,x)`; custom fields are not filterable)."""
        params = {"filter": filter} if filter else None
        return await self._list("/v2/customers", params)

    async def count_entries(self, flow_slug: str) -> int:
        """How many entries a flow holds: one `page[limit]=1` read of `meta.results.total`
        (§2.2, §5.1); a reply without it (§0: unpaginated) is counted in full."""
        path = f"/v2/flows/{segment(flow_slug)}/entries"
        response = await self._request("GET", path, params={"page[limit]": "1"})
        body = json_body("GET", path, response)
        meta = body.get("meta")
        total = int_at(meta, "results", "total") if isinstance(meta, Mapping) else None
        if total is not None:
            return total
        data = body.get("data")
        if isinstance(data, list) and not data:
            return 0
        return len(await self._list(path))


def segment(value: str) -> str:
    """A path segment, escaped; PXM template slugs keep their parentheses (§3.4)."""
    return quote(value, safe="()-_.~")


def _with_required(
    attrs: JsonObject, required: Iterable[str], defaults: Mapping[str, Any]
) -> JsonObject:
    """A create body holding every key spec 25.1201 requires: a key the caller left out takes
    the API's default (`description: ""`, `enabled: true`, `required: false`)."""
    missing = {k: defaults[k] for k in required if k not in attrs and k in defaults}
    return {**attrs, **missing}


def _flow_canonical(data: Mapping[str, Any]) -> Mapping[str, Any]:
    return flow_attributes(flow_from_api(data))


def _field_canonical(data: Mapping[str, Any]) -> Mapping[str, Any]:
    return field_attributes(field_from_api(data))


def _differ(
    canonical: Callable[[Mapping[str, Any]], Mapping[str, Any]], sent: Mapping[str, Any]
) -> Differ:
    """The attribute names whose canonical values (from `normalize`) differ from `sent`'s."""

    def differs(found: JsonObject) -> list[str]:
        expected, actual = canonical(sent), canonical(found)
        return [key for key in expected if expected[key] != actual.get(key)]

    return differs
