"""Reading the records of a flow with their values (issue 15), over real HTTP: entries of a
custom flow, customers for the core flow, pages, totals, the request budget, the offset
limit, a partial PUT of values, and the core flows that are not read."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx
import pytest
from support.store import LocalStore, create_flow, field_body

from provisioner.client import Client, ClientConfig
from provisioner.client.records import count_records, read_records, records_path, update_record
from provisioner.records import has_value, record_value

T = TypeVar("T")


def run(store: LocalStore, action: Callable[[Client], Awaitable[T]]) -> T:
    config = ClientConfig(
        base_url=store.base_url,
        client_id=store.client_id,
        client_secret=store.client_secret,
        rate_limit=2000.0,
        deadline=30.0,
        timeout=10.0,
    )

    async def main() -> T:
        async with Client(config) as client:
            return await action(client)

    return asyncio.run(main())


def seed_entries(api: httpx.Client, count: int) -> list[str]:
    """A flow `notes` (a `rating` integer, a `to` relationship) and `count` entries: every
    third entry without a rating, the first related to a customer."""
    flow = create_flow(api, "notes")
    for body in (
        field_body(flow["id"], "rating", "integer"),
        field_body(
            flow["id"],
            "owner",
            "relationship",
            validation_rules=[{"type": "one-to-one", "to": "customer"}],
        ),
    ):
        assert api.post("/v2/fields", json=body).status_code == 201
    ids = []
    for index in range(count):
        data: dict[str, Any] = {"type": "entry"}
        if index % 3:
            data["rating"] = index
        response = api.post("/v2/flows/notes/entries", json={"data": data})
        assert response.status_code == 201, response.text
        ids.append(response.json()["data"]["id"])
    owner = [{"type": "customer", "id": "00000000-0000-4000-8000-000000000001"}]
    response = api.post(
        f"/v2/flows/notes/entries/{ids[0]}/relationships/owner", json={"data": owner}
    )
    assert response.status_code == 201, response.text
    return ids


def test_entries_are_read_whole_in_pages_with_their_values(
    local_store: LocalStore, api: httpx.Client
) -> None:
    ids = seed_entries(api, 7)
    local_store.reset_stats()
    scan = run(local_store, lambda c: read_records(c, "notes", page_limit=3))
    assert [r["id"] for r in scan.records] == ids
    assert (scan.total, scan.requests, scan.complete, scan.stopped) == (7, 3, True, None)
    assert [record_value(r, "rating") for r in scan.records] == [None, 1, 2, None, 4, 5, None]
    owner = {"type": "customer", "id": "00000000-0000-4000-8000-000000000001"}
    assert record_value(scan.records[0], "owner") in (owner, [owner])  # one-to-one: an object
    assert [has_value(r, "owner") for r in scan.records] == [True] + [False] * 6
    listed = [s for s in local_store.stats()["requests"] if s["route"].endswith("/entries")]
    assert sum(s["count"] for s in listed) == 3  # what the scan says it asked
    assert run(local_store, lambda c: count_records(c, "notes")) == 7
    updated = run(local_store, lambda c: update_record(c, "notes", ids[1], {"rating": 9}))
    assert updated["rating"] == 9
    assert api.get(f"/v2/flows/notes/entries/{ids[1]}").json()["data"]["rating"] == 9


def test_a_budget_or_the_offset_limit_stops_the_read_and_says_so(
    local_store: LocalStore, api: httpx.Client
) -> None:
    seed_entries(api, 7)
    scan = run(local_store, lambda c: read_records(c, "notes", budget=2, page_limit=3))
    assert (scan.scanned, scan.total, scan.requests) == (6, 7, 2)
    assert (scan.complete, scan.stopped) == (False, "budget")
    one = run(local_store, lambda c: read_records(c, "notes", budget=1, page_limit=3))
    assert (one.scanned, one.requests, one.complete) == (3, 1, False)
    with pytest.raises(ValueError, match="at least 1"):
        run(local_store, lambda c: read_records(c, "notes", budget=0))

    async def read(client: Client) -> Any:
        client.max_page_offset = 3  # a test lowers the documented 10,000
        return await read_records(client, "notes", page_limit=3)

    limited = run(local_store, read)  # records past the offset limit are not asked for
    assert (limited.scanned, limited.total, limited.complete) == (6, 7, False)
    assert limited.stopped == "offset limit"


def test_customers_are_the_records_of_the_core_flow_others_are_not_read(
    local_store: LocalStore, api: httpx.Client
) -> None:
    flow = create_flow(api, "customers")
    assert api.post("/v2/fields", json=field_body(flow["id"], "tier")).status_code == 201
    names = [f"c{index}" for index in range(5)]
    for index, name in enumerate(names):
        data = {"type": "customer", "name": name, "email": f"{name}@example.com"}
        if index != 2:
            data["tier"] = "gold" if index % 2 else "silver"
        assert api.post("/v2/customers", json={"data": data}).status_code == 201
    scan = run(local_store, lambda c: read_records(c, "customers", page_limit=2))
    assert [r["name"] for r in scan.records] == names  # oldest first
    assert [record_value(r, "tier") for r in scan.records] == [
        "silver",
        "gold",
        None,
        "gold",
        "silver",
    ]
    assert (scan.total, scan.requests, scan.complete) == (5, 3, True)
    assert run(local_store, lambda c: count_records(c, "customers")) == 5

    async def past_offsets(client: Client, budget: int | None = None) -> Any:
        client.max_page_offset = 2  # a test lowers the documented 10,000
        return await read_records(client, "customers", budget=budget, page_limit=2)

    # Past the offset limit, customers are read again in id order (gt(id,LAST)), whole.
    by_id = run(local_store, past_offsets)
    assert sorted(r["name"] for r in by_id.records) == names
    assert [r["id"] for r in by_id.records] == sorted(r["id"] for r in by_id.records)
    assert (by_id.requests, by_id.complete, by_id.stopped) == (4, True, None)
    cut = run(local_store, lambda c: past_offsets(c, budget=2))
    assert (cut.scanned, cut.requests, cut.complete, cut.stopped) == (2, 2, False, "budget")

    customer_id = scan.records[2]["id"]
    updated = run(local_store, lambda c: update_record(c, "customers", customer_id, {"tier": "x"}))
    assert (updated["tier"], updated["name"]) == ("x", "c2")

    # Core flows whose resource provisioner does not list.
    assert records_path("orders") is None
    assert records_path("customers") == "/v2/customers"
    assert records_path("products(book)") == "/v2/flows/products(book)/entries"
    with pytest.raises(ValueError, match="orders"):
        run(local_store, lambda c: read_records(c, "orders"))


def test_without_a_total_pages_follow_until_a_short_one_within_the_budget() -> None:
    """A store whose lists carry `meta.page` but no `meta.results.total` (§2.2 tolerates it),
    which the local store cannot be made to serve: a mock transport."""
    entries = [{"id": f"e{i}", "type": "entry", "rating": i} for i in range(5)]

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/access_token":
            body = {"access_token": "t" * 40, "token_type": "Bearer", "expires_in": 3600}
            return httpx.Response(200, json={**body, "identifier": "client_credentials"})
        limit = int(request.url.params["page[limit]"])
        offset = int(request.url.params["page[offset]"])
        page = entries[offset : offset + limit]
        return httpx.Response(200, json={"data": page, "meta": {"page": {"limit": limit}}})

    config = ClientConfig(
        base_url="http://store.test", client_id="id", client_secret="s", rate_limit=1000.0
    )

    async def read(budget: int | None) -> Any:
        async with Client(config, httpx.MockTransport(answer)) as client:
            return await read_records(client, "notes", budget=budget, page_limit=2)

    whole = asyncio.run(read(None))
    assert ([r["id"] for r in whole.records], whole.total) == ([e["id"] for e in entries], None)
    assert (whole.requests, whole.complete) == (3, True)
    cut = asyncio.run(read(2))
    assert (cut.scanned, cut.requests, cut.complete, cut.stopped) == (4, 2, False, "budget")
