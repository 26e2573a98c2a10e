"""Ctrl-C during apply (issue 10 item 3): never "complete", exit 130, the next apply converges.

A real `provisioner apply` process against a slow local store (the latency knob) gets SIGINT
part-way: the operations in flight finish, nothing new starts, the output says how many were
applied and exit code is 130; the store holds exactly what was reported applied, and the next
apply finishes the job.
"""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path
from typing import Any

import pytest
from support import STORE_VARIABLES, Cli, interrupt_after_done

from provisioner.applier import ApplyInterrupted, EventKind, apply_plan
from provisioner.client import Client, ClientConfig
from provisioner.config import load_desired
from provisioner.planner import plan as make_plan
from provisioner.reader import read_live_state

FIELDS = 20
TOTAL = FIELDS + 1  # the flow, then its fields
INTERRUPTED = re.compile(
    r"Apply interrupted: (\d+) of (\d+) operations applied; run apply again to finish"
)


def _desired(tmp_path: Path) -> Path:
    fields = "".join(f"      f{i:02d}: {{name: F{i}, field_type: string}}\n" for i in range(FIELDS))
    path = tmp_path / "slow.yaml"
    path.write_text(f"flows:\n  slow:\n    name: Slow\n    fields:\n{fields}", encoding="utf-8")
    return path


async def _objects(store: Any) -> int:
    config = ClientConfig(
        base_url=store.base_url, client_id=store.client_id, client_secret=store.client_secret
    )
    async with Client(config) as client:
        return len(await client.list_flows()) + len(await client.list_fields())


def test_sigint_during_apply_reports_the_truth_and_exits_130(
    cli: Cli, local_store_factory: Any, tmp_path: Path
) -> None:
    store = local_store_factory(latency_ms=100)
    desired = _desired(tmp_path)
    env = {
        **{k: v for k, v in os.environ.items() if k not in STORE_VARIABLES},
        **store.env(),
        "PYTHONUNBUFFERED": "1",
    }
    code, output, _ = interrupt_after_done(
        ["apply", str(desired), "--auto-approve", "--parallelism", "1"], tmp_path, env, done=3
    )
    assert code == 130, output
    assert "Apply complete" not in output
    assert "Aborted" not in output
    assert "Traceback" not in output
    found = INTERRUPTED.search(output)
    assert found is not None, output
    applied, total = int(found.group(1)), int(found.group(2))
    assert total == TOTAL
    assert 3 <= applied < TOTAL
    # In-flight requests finished (the grace outlasts the latency): the store holds exactly
    # what was reported applied, no more, no less.
    assert asyncio.run(_objects(store)) == applied
    assert output.count("... done") == applied

    again = cli("apply", desired, "--auto-approve", env=store.env())
    assert again.code == 0, again.out + again.err
    assert f"Apply complete: {TOTAL - applied} operation(s) applied." in again.out
    assert cli("plan", desired, "--detailed-exitcode", env=store.env()).code == 0


def test_a_cancelled_apply_finishes_what_is_in_flight_and_starts_nothing_new(
    local_store_factory: Any, tmp_path: Path
) -> None:
    store = local_store_factory(latency_ms=50)
    desired = load_desired([_desired(tmp_path)])
    config = ClientConfig(
        base_url=store.base_url,
        client_id=store.client_id,
        client_secret=store.client_secret,
        rate_limit=1000,
    )

    async def scenario() -> tuple[ApplyInterrupted, list[EventKind]]:
        async with Client(config) as client:
            plan = make_plan(desired, await read_live_state(client))
            events: list[EventKind] = []
            main = asyncio.current_task()
            assert main is not None
            task: asyncio.Task[Any] | None = None

            def on_event(event: Any) -> None:
                events.append(event.kind)
                if events.count(EventKind.SUCCEEDED) == 2 and task is not None:
                    task.cancel()  # what asyncio.run does with the main task on SIGINT

            task = asyncio.create_task(apply_plan(client, plan, parallelism=4, on_event=on_event))
            with pytest.raises(ApplyInterrupted) as caught:
                await task
            return caught.value, events

    interrupt, events = asyncio.run(scenario())
    assert interrupt.exit_code == 130
    assert interrupt.total == TOTAL
    assert interrupt.abandoned == ()
    # Every operation that started was finished, none started after the interrupt.
    assert events.count(EventKind.STARTED) == events.count(EventKind.SUCCEEDED)
    assert interrupt.applied == events.count(EventKind.SUCCEEDED) < TOTAL
    assert str(interrupt) == (
        f"Apply interrupted: {interrupt.applied} of {TOTAL} operations applied; "
        "run apply again to finish"
    )
    assert asyncio.run(_objects(store)) == interrupt.applied


def test_operations_still_in_flight_after_the_grace_are_abandoned(
    local_store_factory: Any, tmp_path: Path
) -> None:
    store = local_store_factory(latency_ms=400)
    desired = load_desired([_desired(tmp_path)])
    config = ClientConfig(
        base_url=store.base_url,
        client_id=store.client_id,
        client_secret=store.client_secret,
        rate_limit=1000,
    )

    async def scenario() -> ApplyInterrupted:
        async with Client(config) as client:
            plan = make_plan(desired, await read_live_state(client))
            task: asyncio.Task[Any] | None = None

            def on_event(event: Any) -> None:
                if event.kind is EventKind.STARTED and event.index == 0 and task is not None:
                    task.get_loop().call_soon(task.cancel)

            task = asyncio.create_task(
                apply_plan(client, plan, on_event=on_event, interrupt_grace=0.0)
            )
            with pytest.raises(ApplyInterrupted) as caught:
                await task
            return caught.value

    interrupt = asyncio.run(scenario())
    assert interrupt.applied == 0
    assert [op.describe() for op in interrupt.abandoned] == ["+ create_flow slow"]
