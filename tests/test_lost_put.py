"""A lost answer to the last attempt of a PUT (issue 10 item 4).

PUT is idempotent and re-sent after a lost answer; when the answer to the last attempt is lost
too, the client reads the object back and decides from what the store holds, as it does for
lost creates. The local store's lost-write knob commits every write and drops the answer.
The refusals (the store does not hold what was sent) use a mock transport: a real store that
drops an answer has always applied the write.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from provisioner.applier import apply_plan
from provisioner.client import Client, ClientConfig
from provisioner.config import load_desired
from provisioner.errors import ServerError, TransportError
from provisioner.localstore import StoreSettings, running_server
from provisioner.planner import plan as make_plan
from provisioner.reader import read_live_state

FLOW = {"slug": "notes", "name": "Notes", "description": "", "enabled": True}
FIELD = {
    "slug": "text",
    "name": "Text",
    "field_type": "string",
    "description": "",
    "required": False,
    "enabled": True,
}


def _config(base_url: str, store: Any, **overrides: Any) -> ClientConfig:
    settings: dict[str, Any] = {
        "base_url": base_url,
        "client_id": store.client_id,
        "client_secret": store.client_secret,
        "rate_limit": 1000.0,
        "backoff_base": 0.01,
        "backoff_max": 0.02,
        **overrides,
    }
    return ClientConfig(**settings)


def _puts(store: Any) -> int:
    return sum(i["count"] for i in store.stats()["requests"] if i["method"] == "PUT")


@pytest.mark.parametrize("attempts", [1, 3])
def test_a_put_whose_every_answer_is_lost_is_done_when_the_store_holds_it(
    local_store_factory: Any, attempts: int
) -> None:
    store = local_store_factory(lost_write_rate=1.0)

    async def scenario() -> tuple[dict[str, Any], dict[str, Any], Client]:
        async with Client(_config(store.base_url, store, max_attempts=attempts)) as client:
            flow = await client.create_flow(FLOW)  # adopted: its answer is lost too
            field = await client.create_field(flow["id"], FIELD)
            updated = await client.update_field(
                field["id"], {"name": "Body", "slug": "body", "description": "words"}
            )
            renamed = await client.update_flow(flow["id"], {"name": "Journal"})
            return updated, renamed, client

    updated, renamed, client = asyncio.run(scenario())
    assert (updated["slug"], updated["name"]) == ("body", "Body")
    assert renamed["name"] == "Journal"
    assert client.stats.adopted == 4  # two creates, two updates
    assert _puts(store) == 2 * attempts  # every attempt was sent, none after the read-back


def test_apply_reports_an_update_with_a_lost_last_answer_as_applied(
    local_store: Any, tmp_path: Path
) -> None:
    first = tmp_path / "first.yaml"
    fields = "    fields:\n      text: {name: Text, field_type: string}\n"
    first.write_text("flows:\n  notes:\n    name: Notes\n" + fields)
    changed = tmp_path / "changed.yaml"
    changed.write_text(first.read_text().replace("Notes", "Journal").replace("Text", "Body"))

    async def apply(base_url: str, path: Path) -> list[str]:
        async with Client(_config(base_url, local_store, max_attempts=1)) as client:
            plan = make_plan(load_desired([path]), await read_live_state(client))
            result = await apply_plan(client, plan)
            return [op.describe() for op in result.applied]

    assert len(asyncio.run(apply(local_store.base_url, first))) == 2
    # The same database behind a server that loses every write's answer.
    with running_server(local_store.db_path, StoreSettings(lost_write_rate=1.0)) as lossy:
        applied = asyncio.run(apply(lossy, changed))
    # The two updates are independent: the applier may finish them in either order.
    assert sorted(applied) == ["~ update_field notes.text", "~ update_flow notes"]
    assert asyncio.run(apply(local_store.base_url, changed)) == []  # converged


Handler = Callable[[httpx.Request], httpx.Response]


def _mock(get: Handler) -> tuple[list[str], Handler]:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        if request.url.path == "/oauth/access_token":
            return httpx.Response(
                200,
                json={
                    "access_token": "mock-token-7f3a9c2e5b1d",
                    "token_type": "Bearer",
                    "expires_in": 3600,
                },
            )
        if request.method == "PUT":
            return httpx.Response(503, json={"errors": [{"status": 503, "title": "Busy"}]})
        return get(request)

    return calls, handler


def _field(name: str) -> httpx.Response:
    return httpx.Response(200, json={"data": {"id": "f1", "type": "field", "name": name}})


@pytest.mark.parametrize(
    ("get", "error"),
    [
        (lambda request: _field("Old"), ServerError),  # the store does not hold it
        (lambda request: httpx.Response(500, json={}), ServerError),  # the read-back fails
    ],
    ids=["not-applied", "read-back-fails"],
)
def test_a_put_the_store_does_not_hold_is_still_a_failure(get: Handler, error: type) -> None:
    calls, handler = _mock(get)
    config = ClientConfig(
        base_url="http://store.test",
        client_id="id",
        client_secret="secret",
        rate_limit=1000.0,
        backoff_base=0.0,
        max_attempts=2,
    )

    async def scenario() -> None:
        async with Client(config, httpx.MockTransport(handler)) as client:
            await client.update_field("f1", {"name": "New"})

    with pytest.raises(error) as caught:
        asyncio.run(scenario())
    assert "PUT /v2/fields/f1 failed: 503" in str(caught.value)
    assert calls.count("PUT") == 2
    assert calls.count("GET") >= 1  # read back once the attempts were spent


def test_a_put_the_store_holds_after_a_5xx_is_done() -> None:
    calls, handler = _mock(lambda request: _field("New"))
    config = ClientConfig(
        base_url="http://store.test",
        client_id="id",
        client_secret="secret",
        rate_limit=1000.0,
        backoff_base=0.0,
        max_attempts=2,
    )

    async def scenario() -> dict[str, Any]:
        async with Client(config, httpx.MockTransport(handler)) as client:
            return await client.update_field("f1", {"name": "New"})

    assert asyncio.run(scenario())["name"] == "New"
    assert json.dumps(calls) == json.dumps(["POST", "PUT", "PUT", "GET"])


def test_a_put_never_sent_is_not_read_back() -> None:
    # A refused connection was never applied: no read-back, the transport error stands.
    config = ClientConfig(
        base_url="http://127.0.0.1:9",
        client_id="id",
        client_secret="secret",
        rate_limit=1000.0,
        backoff_base=0.0,
        max_attempts=1,
    )

    async def scenario() -> None:
        async with Client(config) as client:
            await client.update_field("f1", {"name": "New"})

    with pytest.raises(TransportError):
        asyncio.run(scenario())
