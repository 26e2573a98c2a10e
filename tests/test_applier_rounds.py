"""An operation the store failed transiently runs again once another succeeds (issue 17).

Over real HTTP against local stores with the fault knobs. The client is given one attempt per
request, so each injected 5xx fails its operation's round at once: what brings the run to the
end is the applier running the operation again (at most `OPERATION_ROUNDS` times) after
another operation succeeded, never creating anything twice. A store that fails everything
gets no second round: nothing succeeded, so the failure is the store's state, not bad luck.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

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


# Seeded, one operation at a time: the draws refuse one create with 429 among the first six.
SEED_429 = 10


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


def test_an_operation_refused_with_429_until_its_deadline_runs_again(
    local_store_factory: Any, tmp_path: Path
) -> None:
    # The store's 429s ask for 5 s, past the client's 2 s deadline: a refused request gives up
    # at once (issue 17.4), and its operation runs again once another succeeded.
    store = local_store_factory(fail_rate=0.3, seed=SEED_429, retry_after=5)
    desired = _desired(tmp_path, 6, 0)

    async def run() -> State:
        async with Client(ClientConfig(**{**vars(_config(store)), "deadline": 2.0})) as client:
            await apply_plan(client, make_plan(desired, State()), parallelism=1)
        async with Client(ClientConfig(**{**vars(_config(store)), "max_attempts": 6})) as c:
            return await read_live_state(c)

    live = asyncio.run(run())
    assert sorted(live.flows) == [f"flow{i}" for i in range(6)]
    posts = _posts(store)
    assert posts.get(201) == 6  # each flow created once
    assert posts.get(429, 0) >= 1  # some operation was refused, and it ran again
