"""Read a store's live state: flows and fields through the list endpoints, normalised.

A store's schema is two lists (`epcc-api.md` 3.1 `GET /v2/flows`, 4.1 `GET /v2/fields`, which
returns the fields of every flow), read page by page by the client: the first page gives
`meta.results.total`, the others are requested concurrently within the rate limit, and a list
that does not add up to its total is an error, never a partial state (issue 16). Flows and
fields are read concurrently, so F flows and N fields cost one token and
ceil(F/100) + ceil(N/100) pages.

`page[offset]` stops at 10,000 records (2.2: "the maximum records you can offset is 10,000"),
so `GET /v2/fields` cannot list more than 10,100 fields. Past that the reader lists each flow's
fields instead (`GET /v2/flows/:slug/fields`, 4.1): at most 100 per flow (4.2), one page each,
under the cap at any size, at the cost of one request per flow rather than per 100 fields.
Plan and export both start here.

`read_entry_counts` counts the entries of given flows, one `page[limit]=1` read each: a saved
plan that deletes a flow records it, so entries added after the review make the plan stale.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any, Protocol

from provisioner.asyncrun import background
from provisioner.client import ListTooLongError
from provisioner.gcpause import paused_gc
from provisioner.model import State
from provisioner.normalize import field_flow_id, state_from_api


class ListingClient(Protocol):
    """The part of `provisioner.client.Client` the reader needs."""

    async def list_flows(self) -> list[dict[str, Any]]: ...

    async def list_fields(self) -> list[dict[str, Any]]: ...

    async def list_flow_fields(self, flow_slug: str) -> list[dict[str, Any]]: ...


class CountingClient(Protocol):
    """The part of `provisioner.client.Client` that counts entries."""

    async def count_entries(self, flow_slug: str) -> int: ...


async def read_live_state(client: ListingClient, flow_slugs: Iterable[str] | None = None) -> State:
    """The store's flows and fields as a normalised `State`.

    `flow_slugs` keeps only those flows (and their fields).
    """
    wanted = None if flow_slugs is None else set(flow_slugs)
    # Its exception is retrieved even when the fields' read fails first (issue 10).
    flows_read = background(client.list_flows())
    try:
        fields = await _fields(client, flows_read, wanted)
        flows = await flows_read
    finally:
        if not flows_read.done():
            flows_read.cancel()
    with paused_gc():  # thousands of objects, no cycles (issue 16)
        live = state_from_api(flows, fields)
    if wanted is None:
        return live
    return State(flows={slug: flow for slug, flow in live.flows.items() if slug in wanted})


async def read_entry_counts(
    client: CountingClient, live: State, flow_slugs: Iterable[str]
) -> dict[str, int]:
    """The entry count of each of `flow_slugs` that exists in `live` (one read per flow)."""
    slugs = sorted({slug for slug in flow_slugs if slug in live.flows})
    counts = await asyncio.gather(*(client.count_entries(slug) for slug in slugs))
    return dict(zip(slugs, counts, strict=True))


async def _fields(
    client: ListingClient,
    flows_read: asyncio.Future[list[dict[str, Any]]],
    wanted: set[str] | None,
) -> list[dict[str, Any]]:
    """Every field: one list of all, or (past the offset cap) one list per flow."""
    try:
        return await client.list_fields()
    except ListTooLongError:
        pass
    flows = [
        flow
        for flow in await flows_read
        if isinstance(flow.get("slug"), str) and (wanted is None or flow["slug"] in wanted)
    ]
    lists = await asyncio.gather(*(client.list_flow_fields(flow["slug"]) for flow in flows))
    fields: list[dict[str, Any]] = []
    for flow, listed in zip(flows, lists, strict=True):
        for data in listed:
            if field_flow_id(data) is None:  # the flow is the one asked about (4.1)
                data = {
                    **data,
                    "relationships": {"flow": {"data": {"type": "flow", "id": flow.get("id")}}},
                }
            fields.append(data)
    return fields
