"""Read a store's live state: flows and fields through the list endpoints, normalised.

The whole schema of a store is two paginated lists (`epcc-api.md` 3.1 `GET /v2/flows`, 4.1
`GET /v2/fields`, which returns the fields of every flow), so a read of F flows and N fields
costs one token plus ceil(F/100) + ceil(N/100) pages, never one request per object. The two
lists are independent and fetched concurrently. Plan and export both start here.

`read_entry_counts` counts the entries of given flows, one `page[limit]=1` read each: a saved
plan that deletes a flow records it, so entries added after the review make the plan stale.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any, Protocol

from provisioner.model import State
from provisioner.normalize import state_from_api


class ListingClient(Protocol):
    """The part of `provisioner.client.Client` the reader needs."""

    async def list_flows(self) -> list[dict[str, Any]]: ...

    async def list_fields(self) -> list[dict[str, Any]]: ...


class CountingClient(Protocol):
    """The part of `provisioner.client.Client` that counts entries."""

    async def count_entries(self, flow_slug: str) -> int: ...


async def read_live_state(client: ListingClient, flow_slugs: Iterable[str] | None = None) -> State:
    """The store's flows and fields as a normalised `State`.

    `flow_slugs` keeps only those flows (and their fields); the cost is the same either way,
    because the list endpoints have no slug filter (`epcc-api.md` 3.1).
    """
    flows, fields = await asyncio.gather(client.list_flows(), client.list_fields())
    live = state_from_api(flows, fields)
    if flow_slugs is None:
        return live
    wanted = set(flow_slugs)
    return State(flows={slug: flow for slug, flow in live.flows.items() if slug in wanted})


async def read_entry_counts(
    client: CountingClient, live: State, flow_slugs: Iterable[str]
) -> dict[str, int]:
    """The entry count of each of `flow_slugs` that exists in `live` (one read per flow)."""
    slugs = sorted({slug for slug in flow_slugs if slug in live.flows})
    counts = await asyncio.gather(*(client.count_entries(slug) for slug in slugs))
    return dict(zip(slugs, counts, strict=True))
