"""A list that changes while it is read (issue 10 item 12: concurrent applies).

Another writer creating fields between the pages of `GET /v2/fields` made the reader fail with
`Incomplete list: read 119 records but the store reports 118`. The reader now reads the whole
list again (a few times, after short pauses) when its pages report different totals, and fails
only if the list keeps changing. Real HTTP against the local store; the test's transport creates
a field through the store's API right after the first page of a read is served, before the
others are asked for, so the change lands between the pages every time.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import httpx
import pytest
from support.store import add_fields_directly, create_flow, field_body

from provisioner.client import Client, ClientConfig, IncompleteListError, JsonObject
from provisioner.client.paging import REREAD_DELAYS

if TYPE_CHECKING:
    from support.store import LocalStore


class WriterBetweenPages(httpx.AsyncHTTPTransport):
    """The real transport; after the first page of `GET /v2/fields`, another writer adds a field
    (the first `writes` reads only)."""

    def __init__(self, api: httpx.Client, flow_id: str, writes: int) -> None:
        super().__init__()
        self.api = api
        self.flow_id = flow_id
        self.writes = writes
        self.first_pages = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await super().handle_async_request(request)
        first = request.url.params.get("page[offset]") == "0"
        if request.method == "GET" and request.url.path == "/v2/fields" and first:
            self.first_pages += 1
            if self.writes > 0:
                self.writes -= 1
                created = self.api.post(
                    "/v2/fields", json=field_body(self.flow_id, f"other-{self.writes}")
                )
                assert created.status_code == 201, created.text
        return response


def _list_fields(store: LocalStore, transport: WriterBetweenPages) -> list[JsonObject]:
    config = ClientConfig(
        base_url=store.base_url,
        client_id=store.client_id,
        client_secret=store.client_secret,
        rate_limit=1000.0,
    )

    async def run() -> list[JsonObject]:
        async with Client(config, transport) as client:
            return await client.list_fields()

    return asyncio.run(run())


def _fields_on_two_pages(api: httpx.Client, store: LocalStore) -> str:
    """110 fields (two pages of 100) in two flows; the id of the one with room for more."""
    add_fields_directly(store, create_flow(api, "full")["id"], 90)
    flow_id: str = create_flow(api, "busy")["id"]
    add_fields_directly(store, flow_id, 20)
    return flow_id


def test_a_list_that_changed_while_it_was_read_is_read_again(
    local_store: LocalStore, api: httpx.Client
) -> None:
    flow_id = _fields_on_two_pages(api, local_store)
    transport = WriterBetweenPages(api, flow_id, writes=2)
    fields = _list_fields(local_store, transport)
    assert transport.first_pages == 3  # two reads spoilt by the other writer, then a whole one
    ids = {str(field["id"]) for field in fields}
    assert len(ids) == len(fields) == 112
    assert {"other-0", "other-1"} <= {str(field["slug"]) for field in fields}
    listed = api.get("/v2/fields", params={"page[limit]": "1"}).json()
    assert listed["meta"]["results"]["total"] == 112


def test_a_list_that_keeps_changing_is_an_error(local_store: LocalStore, api: httpx.Client) -> None:
    flow_id = _fields_on_two_pages(api, local_store)
    transport = WriterBetweenPages(api, flow_id, writes=10)
    with pytest.raises(IncompleteListError, match="the list changed while it was read"):
        _list_fields(local_store, transport)
    assert transport.first_pages == 1 + len(REREAD_DELAYS)  # a few reads, then it gives up
