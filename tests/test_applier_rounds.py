"""An operation the store failed transiently runs again once another succeeds (issue 17).

Over real HTTP against local stores with the fault knobs. The client is given one attempt per
request, so each injected 5xx fails its operation's round at once: what brings the run to the
end is the applier running the operation again (at most `OPERATION_ROUNDS` times) after
another operation succeeded, never creating anything twice. A store that fails everything
gets no second round: nothing succeeded, so the failure is the store's state, not bad luck.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from provisioner.applier import OPERATION_ROUNDS, apply_plan
from provisioner.client import Client, ClientConfig
from provisioner.config import load_desired
from provisioner.errors import ApplyError
from provisioner.model import State
from provisioner.planner import plan as make_plan
from provisioner.reader import read_live_state


def _desired(directory: Path, flows: int, fields: int) -> State:
    text = "flows:\n" + "".join(
        f"  flow{f}:\n    name: Flow {f}\n"
        + ("    fields:\n" if fields else "")
        + "".join(f"      f{i}: {{name: F{i}, field_type: string}}\n" for i in range(fields))
        for f in range(flows)
    )
    path = directory / "rounds.yaml"
    path.write_text(text, encoding="utf-8")
    return load_desired([path])


def _config(store: Any) -> ClientConfig:
    return ClientConfig(
        base_url=store.base_url,
        client_id=store.client_id,
        client_secret=store.client_secret,
        rate_limit=1000,
        max_attempts=1,  # no retry inside the client: a 5xx fails the round
        backoff_base=0.0,
    )


def _posts(store: Any) -> dict[int, int]:
    counts: dict[int, int] = {}
    for item in store.stats()["requests"]:
        if item["method"] == "POST" and item["route"].startswith("/v2"):
            counts[item["status"]] = counts.get(item["status"], 0) + item["count"]
    return counts


def test_operations_failed_by_the_store_run_again_and_the_apply_completes(
    local_store_factory: Any, tmp_path: Path
) -> None:
    # Seeded and one operation at a time: the store's draws are the same on every run.
    store = local_store_factory(fail_rate=0.3, seed=4, retry_after=0)
    desired = _desired(tmp_path, 6, 0)

    async def run() -> State:
        async with Client(_config(store)) as client:
            plan = make_plan(desired, State())
            await apply_plan(client, plan, parallelism=1)
        async with Client(ClientConfig(**{**vars(_config(store)), "max_attempts": 6})) as c:
            return await read_live_state(c)

    live = asyncio.run(run())
    assert sorted(live.flows) == [f"flow{i}" for i in range(6)]
    posts = _posts(store)
    assert posts.get(201) == 6  # each flow created once
    failed = sum(count for status, count in posts.items() if status >= 500)
    assert failed >= 1  # some operation's round failed, and it ran again


def test_a_store_that_fails_everything_gets_no_second_round(
    local_store_factory: Any, tmp_path: Path
) -> None:
    store = local_store_factory(fail_rate=1.0, seed=1, retry_after=0)
    desired = _desired(tmp_path, 2, 0)

    async def run() -> None:
        async with Client(_config(store)) as client:
            await apply_plan(client, make_plan(desired, State()), parallelism=2)

    with pytest.raises(ApplyError) as raised:
        asyncio.run(run())
    assert len(raised.value.failed) == 2
    failed = sum(count for status, count in _posts(store).items() if status >= 500)
    assert failed == 2  # one round each (a 429 is sent again): nothing succeeded meanwhile
    assert OPERATION_ROUNDS > 1


def test_an_operation_refused_with_429_until_its_deadline_runs_again(tmp_path: Path) -> None:
    # The store refuses one flow's creation (429, no Retry-After) for as long as its deadline
    # and accepts everything else: a real store cannot single out one operation, hence the
    # mock transport. Since a 429 no longer moves the deadline (issue 17.4), that operation's
    # first run fails; it runs again once another succeeded, and the apply completes.
    flows: dict[str, dict[str, Any]] = {}
    refused_until: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/access_token":
            return httpx.Response(200, json={"access_token": "t0k3n", "expires_in": 3600})
        if request.method == "GET":
            return httpx.Response(200, json={"data": list(flows.values())})
        attrs = json.loads(request.content)["data"]
        if attrs["slug"] == "flow2":
            if not refused_until:
                refused_until.append(time.monotonic() + DEADLINE + 0.05)
            if time.monotonic() < refused_until[0]:
                return httpx.Response(429, json={"errors": [{"title": "Too Many Requests"}]})
        flow = {**attrs, "id": f"id-{attrs['slug']}", "type": "flow"}
        flows[attrs["slug"]] = flow
        return httpx.Response(201, json={"data": flow})

    config = ClientConfig(
        base_url="http://store.test",
        client_id="id",
        client_secret="secret",
        rate_limit=1000,
        deadline=DEADLINE,
        backoff_base=0.0,
    )

    async def run() -> None:
        async with Client(config, httpx.MockTransport(handler)) as client:
            await apply_plan(client, make_plan(_desired(tmp_path, 4, 0), State()), parallelism=4)

    asyncio.run(run())
    assert sorted(flows) == [f"flow{i}" for i in range(4)]


DEADLINE = 0.3
