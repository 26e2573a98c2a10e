"""The reader: a store's flows and fields as a normalised State, in pages, over HTTP."""

from __future__ import annotations

import asyncio
import math
from typing import Any

from provisioner.client import Client, ClientConfig
from provisioner.model import State
from provisioner.reader import read_live_state


def _client(store: Any) -> Client:
    config = ClientConfig(
        base_url=store.base_url,
        client_id=store.client_id,
        client_secret=store.client_secret,
        rate_limit=1000,
    )
    return Client(config)


async def _fill(store: Any, flows: int, fields_per_flow: int) -> None:
    async with _client(store) as client:
        for n in range(flows):
            flow = await client.create_flow(
                {"slug": f"flow-{n}", "name": f"Flow {n}", "description": "", "enabled": True}
            )
            await asyncio.gather(
                *(
                    client.create_field(
                        flow["id"],
                        {
                            "slug": f"f{i:03}",
                            "name": f"F {i}",
                            "description": "",
                            "field_type": "integer",
                            "required": False,
                            "enabled": True,
                            "validation_rules": [
                                {"type": "between", "options": {"from": 1, "to": 5}}
                            ],
                        },
                    )
                    for i in range(fields_per_flow)
                )
            )


async def _read(store: Any, flow_slugs: list[str] | None = None) -> tuple[State, int]:
    async with _client(store) as client:
        state = await read_live_state(client, flow_slugs)
        return state, client.stats.total


def test_an_empty_store_reads_as_the_empty_state(local_store: Any) -> None:
    state, requests = asyncio.run(_read(local_store))
    assert state == State()
    assert requests == 3  # token, flows, fields


def test_flows_and_fields_cost_pages_not_objects(local_store: Any) -> None:
    asyncio.run(_fill(local_store, flows=3, fields_per_flow=34))
    state, requests = asyncio.run(_read(local_store))
    assert sorted(state.flows) == ["flow-0", "flow-1", "flow-2"]
    assert state.field_count() == 102
    assert requests == 1 + math.ceil(3 / 100) + math.ceil(102 / 100)
    field = state.flows["flow-1"].fields["f007"]
    assert field.id is not None
    assert field.field_type == "integer"
    assert field.attributes()["validation_rules"] == [
        {"type": "between", "options": {"from": 1, "to": 5}}
    ]
    assert state.flows["flow-1"].id is not None


def test_flow_slugs_keep_only_those_flows_and_their_fields(local_store: Any) -> None:
    asyncio.run(_fill(local_store, flows=3, fields_per_flow=2))
    state, requests = asyncio.run(_read(local_store, ["flow-2", "missing"]))
    assert list(state.flows) == ["flow-2"]
    assert sorted(state.flows["flow-2"].fields) == ["f000", "f001"]
    assert requests == 3
