"""Read a store's Custom APIs (issue 14): the list of APIs, then each API's fields.

One paginated list of Custom APIs (`GET /v2/settings/extensions/custom-apis`, 100 a page),
then the fields of every API concurrently (`.../{id}/fields`, one page for up to 100 fields):
N APIs cost ceil(N/100) + N requests. Parents are named by slug in the result.
`read_custom_entry_counts` counts the entries of the APIs a plan deletes or replaces, and of
the live APIs in which it sets `use_as_url_slug` (`plan_entry_counts`: one read per API).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping

from provisioner.client import Client
from provisioner.client.custom_apis import CustomApiClient
from provisioner.custom_api_fingerprints import as_planned, with_entry_counts
from provisioner.custom_api_model import CustomApi, api_from_api
from provisioner.model import State
from provisioner.plan import Plan
from provisioner.reader import read_live_state


async def read_custom_apis(client: Client) -> dict[str, CustomApi]:
    """Every Custom API of the store, with its fields, by slug."""
    apis_client = CustomApiClient(client)
    apis = await apis_client.list_apis()
    fields = await asyncio.gather(*(apis_client.list_fields(str(api["id"])) for api in apis))
    slug_by_id = {str(api["id"]): str(api.get("slug", "")) for api in apis}
    built = [
        api_from_api(api, listed, slug_by_id) for api, listed in zip(apis, fields, strict=True)
    ]
    return {api.slug: api for api in built}


async def with_custom_apis(client: Client, live: State) -> State:
    """`live` with the store's Custom APIs read in."""
    return State(flows=live.flows, custom_apis=await read_custom_apis(client))


async def read_custom_entry_counts(
    client: Client, live: State, api_slugs: Iterable[str]
) -> dict[str, int]:
    """The entry count of each of `api_slugs` that exists in `live` (one read per API)."""
    found: Mapping[str, CustomApi] = live.custom_apis
    slugs = sorted({slug for slug in api_slugs if slug in found and found[slug].id})
    apis_client = CustomApiClient(client)
    counts = await asyncio.gather(
        *(apis_client.count_entries(str(found[slug].id)) for slug in slugs)
    )
    return dict(zip(slugs, counts, strict=True))


async def plan_entry_counts(client: Client, live: State, plan: Plan) -> dict[str, int]:
    """The entry counts a plan records (`plan.counted_custom_apis`), for the freshness check."""
    slugs = plan.counted_custom_apis
    if not slugs:
        return {}
    return await read_custom_entry_counts(client, as_planned(live, plan), slugs)


async def read_for(client: Client, desired: State) -> State:
    """What a plan of `desired` needs from the store: its flows and fields (unless the files
    declare Custom APIs and no flow: then they have nothing to compare), and its Custom APIs
    when the files declare some (a plan of flows alone reads no more than before)."""
    if desired.custom_apis and not desired.flows:
        return await with_custom_apis(client, State())
    return await live_for(client, await read_live_state(client), bool(desired.custom_apis))


async def live_for(client: Client, live: State, wanted: bool) -> State:
    """`live` with the store's Custom APIs when `wanted` (files or a plan that has some):
    a plan of flows alone reads no more than before."""
    return await with_custom_apis(client, live) if wanted else live


async def count_into(client: Client, plan: Plan, live: State, desired: State | None = None) -> Plan:
    """`plan` with the entry counts of the Custom APIs it deletes or replaces; a plan that
    sets `use_as_url_slug` in a Custom API holding entries is refused (PlanError, located in
    `desired` when given), before any write."""
    counts = await plan_entry_counts(client, live, plan)
    if not counts:
        return plan
    from provisioner.custom_api_planchecks import check_url_slug_entries

    check_url_slug_entries(plan, counts, desired)
    return with_entry_counts(plan, counts)
