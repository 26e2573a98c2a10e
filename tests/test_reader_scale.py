"""Reading a store past the API's offset cap, and lists that do not add up (issue 16).

The API serves `page[offset]` up to 10,000 (epcc-api.md 2.2; the flows spec: "the maximum
records you can offset is 10,000"), and the local store answers 400 beyond, so one
paginated `GET /v2/fields` cannot show more than 10,100 fields. The reader then lists each
flow's fields; a list whose records do not add up to `meta.results.total` is an error; pages
after the first are requested concurrently. Real HTTP against the local store, except for
what it cannot produce on demand (a total that lies, a cap that answers empty pages), which
uses `httpx.MockTransport`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from provisioner.client import (
    MAX_PAGE_OFFSET,
    Client,
    ClientConfig,
    IncompleteListError,
    ListTooLongError,
)
from provisioner.localstore.storage import Storage, new_id
from provisioner.model import FIELD_ATTRIBUTES
from provisioner.reader import read_live_state

if TYPE_CHECKING:
    from support.store import LocalStore


def client_for(store: LocalStore, **overrides: Any) -> Client:
    settings: dict[str, Any] = {
        "base_url": store.base_url,
        "client_id": store.client_id,
        "client_secret": store.client_secret,
        "rate_limit": 1000.0,
    }
    settings.update(overrides)
    return Client(ClientConfig(**settings))


def seed(store: LocalStore, flows: int, fields_per_flow: int) -> None:
    """Flows through the store's own code, their fields inserted in one transaction (fast)."""
    storage = Storage(store.db_path)
    created = [
        storage.create_flow(
            {"slug": f"flow-{n:04d}", "name": f"Flow {n}", "description": "", "enabled": True}
        )
        for n in range(flows)
    ]
    attributes = dict.fromkeys(FIELD_ATTRIBUTES)
    attributes.update(
        {"description": "", "field_type": "string", "required": False, "unique": False}
    )
    attributes.update({"enabled": True, "omit_null": False, "validation_rules": []})
    with storage.transaction(write=True) as conn:
        for flow in created:
            for i in range(fields_per_flow):
                attrs = {**attributes, "slug": f"f{i:03d}", "name": f"F {i}"}
                storage._write_field(conn, new_id(), flow["id"], attrs)


def served(store: LocalStore) -> dict[tuple[str, str, int], int]:
    return {
        (item["method"], item["route"], item["status"]): item["count"]
        for item in store.stats()["requests"]
    }


def test_the_local_store_serves_offsets_up_to_the_documented_maximum(
    local_store: LocalStore,
) -> None:
    with httpx.Client(base_url=local_store.base_url, headers=local_store.headers()) as api:
        at_cap = api.get("/v2/fields", params={"page[offset]": str(MAX_PAGE_OFFSET)})
        assert at_cap.status_code == 200
        assert at_cap.json()["data"] == []
        for path in ("/v2/flows", "/v2/fields", "/v2/customers"):
            beyond = api.get(path, params={"page[offset]": str(MAX_PAGE_OFFSET + 1)})
            assert beyond.status_code == 400
            assert "10000" in beyond.json()["errors"][0]["detail"]


def test_more_fields_than_the_cap_are_all_read(local_store: LocalStore) -> None:
    seed(local_store, flows=102, fields_per_flow=100)  # 10,200 fields: 100 past the cap
    local_store.reset_stats()

    async def read() -> Any:
        async with client_for(local_store) as client:
            return await read_live_state(client)

    state = asyncio.run(read())
    assert len(state.flows) == 102
    assert state.field_count() == 10_200
    assert all(len(flow.fields) == 100 for flow in state.flows.values())
    counts = served(local_store)
    assert counts[("GET", "/v2/fields", 200)] == 1  # the first page tells the total
    assert counts[("GET", "/v2/flows/{flow_slug}/fields", 200)] == 102
    assert counts[("GET", "/v2/flows", 200)] == 2
    assert not [key for key in counts if key[2] >= 400]  # never past the cap


def test_a_lower_cap_switches_to_per_flow_lists_and_keeps_only_wanted_flows(
    local_store: LocalStore,
) -> None:
    seed(local_store, flows=3, fields_per_flow=100)

    async def read(wanted: list[str] | None) -> Any:
        async with client_for(local_store) as client:
            client.max_page_offset = 100  # 300 fields cannot be listed in one list
            with pytest.raises(ListTooLongError):
                await client.list_fields()
            return await read_live_state(client, wanted), client.stats.total

    state, _ = asyncio.run(read(None))
    assert state.field_count() == 300
    local_store.reset_stats()
    state, _ = asyncio.run(read(["flow-0001"]))
    assert list(state.flows) == ["flow-0001"]
    assert len(state.flows["flow-0001"].fields) == 100
    assert served(local_store)[("GET", "/v2/flows/{flow_slug}/fields", 200)] == 1


# --------------------------------------------------------------------------- mock stores


def token() -> httpx.Response:
    return httpx.Response(
        200, json={"access_token": "t0k3n", "token_type": "Bearer", "expires_in": 3600}
    )


def mock_list(
    records: list[dict[str, Any]],
    *,
    total: int | None = None,
    empty_from: int | None = None,
    hold_until: int | None = None,
) -> Any:
    """A list endpoint over `records`; `total` may lie; pages from `empty_from` come back
    empty (a proxy that imitates a soft cap silently). With `hold_until`, pages after the
    first are held until that many are in flight at once (or 5 s passed), so the count does
    not depend on how fast a loaded machine starts them."""
    state: dict[str, Any] = {"in_flight": 0, "most": 0, "offsets": []}
    enough = asyncio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/access_token":
            return token()
        offset = int(request.url.params["page[offset]"])
        state["offsets"].append(offset)
        state["in_flight"] += 1
        state["most"] = max(state["most"], state["in_flight"])
        if hold_until is not None and offset > 0:
            if state["in_flight"] >= hold_until:
                enough.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(enough.wait(), 5)
        await asyncio.sleep(0.02)
        state["in_flight"] -= 1
        page = records[offset : offset + 100]
        if empty_from is not None and offset >= empty_from:
            page = []
        meta = {
            "page": {"limit": 100, "offset": offset},
            "results": {"total": len(records) if total is None else total},
        }
        return httpx.Response(200, content=json.dumps({"data": page, "meta": meta}))

    return handler, state


def run_list(handler: Any, **overrides: Any) -> list[dict[str, Any]]:
    async def main() -> list[dict[str, Any]]:
        settings: dict[str, Any] = {
            "base_url": "http://store.test",
            "client_id": "id",
            "client_secret": "secret",
            "rate_limit": 1000.0,
            "max_in_flight": 8,
        }
        settings.update(overrides)
        async with Client(ClientConfig(**settings), httpx.MockTransport(handler)) as client:
            return await client.list_flows()

    return asyncio.run(main())


def records(count: int) -> list[dict[str, Any]]:
    return [{"id": f"id-{n}", "type": "flow", "slug": f"f-{n}"} for n in range(count)]


def test_pages_after_the_first_are_read_concurrently() -> None:
    handler, state = mock_list(records(1000), hold_until=8)
    listed = run_list(handler)
    assert [item["id"] for item in listed] == [f"id-{n}" for n in range(1000)]
    assert sorted(state["offsets"]) == list(range(0, 1000, 100))
    assert state["most"] == 8  # the in-flight bound, not one at a time


def test_a_list_short_of_its_total_is_an_error() -> None:
    handler, _ = mock_list(records(250), total=300)
    with pytest.raises(
        IncompleteListError, match="read 250 records but the store reports 300"
    ) as caught:
        run_list(handler)
    # The store answered 200: the message names the list, not a "failed: 200" request.
    assert str(caught.value).startswith("GET /v2/flows: Incomplete list: read 250 records")


def test_a_silent_cap_never_passes_for_a_whole_list() -> None:
    # A proxy imitating the soft cap: pages past offset 10,000 answered empty.
    handler, state = mock_list(records(25_000), empty_from=10_100)
    with pytest.raises(ListTooLongError, match="25000 records"):
        run_list(handler)
    assert state["offsets"] == [0]  # refused before asking past the cap
    handler, _ = mock_list(records(900), empty_from=500)
    with pytest.raises(IncompleteListError, match="read 500 records"):
        run_list(handler)
