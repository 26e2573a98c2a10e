"""Resilience over real HTTP (issue 17, 10.12): failures stop only their dependants, and
concurrent writers cooperate.

A local store with `fail_rate` and a client allowed one attempt per request makes real
operations fail at random (seeded); the applier must still run everything that does not depend
on a failure, skip exactly the dependants, and the next apply must finish the job. Another
client writing between our plan and our apply stands for a concurrent apply; real concurrent
CLI processes against one store prove the whole.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from support import STORE_VARIABLES, Cli, store_env

from provisioner.applier import ApplyEvent, EventKind, apply_plan
from provisioner.client import Client, ClientConfig
from provisioner.config import load_desired
from provisioner.errors import ApplyError, ConcurrentChangeError, ProvisionerError
from provisioner.graph import dependencies
from provisioner.localstore import StoreSettings, local_credentials, running_server
from provisioner.planner import plan as make_plan
from provisioner.reader import read_live_state


def _files(path: Path, flows: int, fields: int) -> Path:
    data: dict[str, Any] = {
        "flows": {
            f"team-{n}": {
                "name": f"Team {n}",
                "fields": {
                    f"field_{i:02}": {"name": f"Field {i}", "field_type": "string"}
                    for i in range(fields)
                },
            }
            for n in range(flows)
        }
    }
    # A relationship between two new flows: it depends on both flows' creation.
    data["flows"]["team-0"]["fields"]["peer"] = {
        "name": "Peer",
        "field_type": "relationship",
        "validation_rules": [{"type": "one-to-one", "to": "team-1"}],
    }
    path.write_text(json.dumps(data, indent=1), encoding="utf-8")
    return path


def _check_accounting(plan: Any, error: ApplyError, events: list[ApplyEvent]) -> None:
    """Every operation applied, failed or skipped once; skipped = the failures' dependants."""
    ops = plan.operations
    described = [op.describe() for op in ops]
    failed = {op for op, _ in error.failed}
    skipped = {op for op, _ in error.skipped}
    applied = set(error.applied)
    assert len(applied) + len(failed) + len(skipped) == len(ops)
    assert applied | failed | skipped == set(described)
    graph = dependencies(ops)
    blocked: set[int] = set()
    changed = True
    while changed:
        changed = False
        for index, before in graph.items():
            held = any(described[b] in failed or b in blocked for b in before)
            if index not in blocked and held:
                blocked.add(index)
                changed = True
    assert skipped == {described[i] for i in blocked}
    kinds = {event.operation.describe(): event.kind for event in events}
    assert {op for op, kind in kinds.items() if kind is EventKind.SKIPPED} == skipped


def test_failures_stop_only_their_dependants_and_the_next_apply_finishes(
    cli: Cli, tmp_path: Path
) -> None:
    found = False
    for seed in range(1, 16):  # seeds until a flow creation fails (the draws follow timing)
        db = tmp_path / f"store-{seed}.sqlite"
        desired = _files(tmp_path / "teams.yaml", flows=6, fields=5)
        client_id, secret = local_credentials(db)

        async def flaky_apply(base_url: str) -> tuple[Any, ApplyError, list[ApplyEvent]]:
            config = ClientConfig(
                base_url=base_url,
                client_id=client_id,  # noqa: B023 - used within this iteration only
                client_secret=secret,  # noqa: B023
                max_attempts=1,
                rate_limit=1000,
            )
            async with Client(config) as client:
                live = await read_live_state(client)
                plan = make_plan(load_desired([desired]), live)  # noqa: B023
                events: list[ApplyEvent] = []
                with pytest.raises(ApplyError) as caught:
                    # One run per operation (no second round for a transient failure, issue
                    # 17.1): an operation the store fails stays failed, as this test needs.
                    await apply_plan(client, plan, parallelism=4, on_event=events.append, rounds=1)
                return plan, caught.value, events

        with running_server(db, StoreSettings(fail_rate=0.3, seed=seed)) as base_url:
            try:
                plan, error, events = asyncio.run(flaky_apply(base_url))
            except ProvisionerError:  # the plan's own reads failed: another seed
                continue
        _check_accounting(plan, error, events)
        if not error.skipped:
            continue
        found = True
        applied = len(error.applied)
        # Independent work still got done: operations succeeded after the first failure. (Was
        # "more than a third applied", which the seeded draws missed now and then: a flow
        # failure skips its fields, and three failed flows of six left too few.)
        kinds = [event.kind for event in events]
        assert EventKind.SUCCEEDED in kinds[kinds.index(EventKind.FAILED) + 1 :]
        with running_server(db, StoreSettings()) as base_url:
            env = store_env(base_url, client_id, secret)
            second = cli("apply", desired, "--auto-approve", env=env)
            assert second.code == 0, second.out + second.err
            assert f"{len(plan.operations) - applied} operation(s) applied" in second.out
            assert cli("plan", desired, "--detailed-exitcode", env=env).code == 0
        break
    assert found, "no seed failed a flow creation"


def test_the_cli_prints_one_summary_of_failures_and_skips(cli: Cli, tmp_path: Path) -> None:
    desired = _files(tmp_path / "teams.yaml", flows=4, fields=3)
    # A store that allows bursts of 4 requests and then asks to wait longer than the client's
    # deadline: the token and the two list reads fit, a flow creation beyond fails for good.
    # Since issue 11 the client's pace drops after that 429, so the rest may pass: each try
    # gets a fresh store, until one fails a flow creation (its fields are then skipped).
    settings = StoreSettings(rate_limit=4, retry_after=1000)
    result = None
    for attempt in range(10):
        db = tmp_path / f"store-{attempt}.sqlite"
        client_id, secret = local_credentials(db)
        with running_server(db, settings) as base_url:
            env = {**store_env(base_url, client_id, secret)}
            result = cli("apply", desired, "--auto-approve", "--parallelism", "2", env=env)
        if "Apply stopped:" in result.out and "skipped" in result.out:
            break
    assert result is not None
    assert result.code == 1, result.out + result.err
    summary = result.out[result.out.index("Apply stopped:") :]
    assert "  failed:  " in summary
    assert "  skipped: " in summary
    assert "which failed)" in summary
    assert "(listed above)" in result.err
    assert result.err.count("skipped:") == 0  # listed once, in the summary


# -- concurrent writers (issue 10.12, 17.3) ----------------------------------------------------


def _client(base_url: str, client_id: str, secret: str) -> Client:
    return Client(
        ClientConfig(base_url=base_url, client_id=client_id, client_secret=secret, rate_limit=1000)
    )


async def _plan_then_race(
    base_url: str, client_id: str, secret: str, desired: Path, race: Any
) -> tuple[Any, Client]:
    """Plan `desired`, let `race(other_client)` write first, then apply the plan."""
    client = _client(base_url, client_id, secret)
    async with client:
        plan = make_plan(load_desired([desired]), await read_live_state(client))
        async with _client(base_url, client_id, secret) as other:
            await race(other)
        try:
            await apply_plan(client, plan, parallelism=2, allow_destructive=True)
        except ApplyError as error:
            return error, client
    return None, client


async def _content(base_url: str, client_id: str, secret: str) -> tuple[list[Any], list[Any]]:
    async with _client(base_url, client_id, secret) as client:
        return await client.list_flows(), await client.list_fields()


def test_a_create_another_writer_made_as_desired_is_adopted(
    local_store: Any, tmp_path: Path
) -> None:
    desired = _files(tmp_path / "teams.yaml", flows=2, fields=3)
    creds = (local_store.base_url, local_store.client_id, local_store.client_secret)

    async def race(other: Client) -> None:
        # Another apply of the same files got there first: the same flow and one field.
        flow = await other.create_flow(
            {"slug": "team-1", "name": "Team 1", "description": "", "enabled": True}
        )
        await other.create_field(
            flow["id"],
            {"slug": "field_01", "name": "Field 1", "field_type": "string", "description": ""},
        )

    local_store.reset_stats()
    error, client = asyncio.run(_plan_then_race(*creds, desired, race))
    assert error is None, str(error)
    assert client.stats.converged == 2
    assert client.stats.adopted == 0
    assert "2 already made as desired by another writer" in client.stats.summary()
    refused = [
        item
        for item in local_store.stats()["requests"]
        if item["method"] == "POST" and item["status"] == 422
    ]
    assert sum(item["count"] for item in refused) == 2  # each refused once, not re-sent
    flows, fields = asyncio.run(_content(*creds))
    state = load_desired([desired])
    assert sorted(flow["slug"] for flow in flows) == sorted(state.flows)
    assert len(fields) == state.field_count()


def test_a_create_another_writer_made_differently_says_plan_again(
    local_store: Any, tmp_path: Path
) -> None:
    desired = _files(tmp_path / "teams.yaml", flows=3, fields=2)
    creds = (local_store.base_url, local_store.client_id, local_store.client_secret)

    async def race(other: Client) -> None:
        await other.create_flow(
            {"slug": "team-2", "name": "Someone else's", "description": "", "enabled": True}
        )

    error, _ = asyncio.run(_plan_then_race(*creds, desired, race))
    assert isinstance(error, ApplyError)
    [(op, why)] = error.failed
    assert op == "+ create_flow team-2"
    assert "another writer changed the store" in why
    assert "flow `team-2` already exists with a different name" in why
    assert "run `provisioner plan` again" in why
    assert isinstance(error.__cause__, ConcurrentChangeError)
    assert sorted(op for op, _ in error.skipped) == [
        "+ create_field team-2.field_00",
        "+ create_field team-2.field_01",
    ]
    # Everything else was applied; nothing of ours went into the other writer's flow.
    flows, fields = asyncio.run(_content(*creds))
    team_2 = next(flow for flow in flows if flow["slug"] == "team-2")
    assert team_2["name"] == "Someone else's"
    assert not [f for f in fields if f["relationships"]["flow"]["data"]["id"] == team_2["id"]]
    assert len(fields) == 2 + 2 + 1  # team-0 (with `peer`), team-1


def test_a_delete_another_writer_made_first_is_done(local_store: Any, tmp_path: Path) -> None:
    desired = _files(tmp_path / "teams.yaml", flows=1, fields=2)
    creds = (local_store.base_url, local_store.client_id, local_store.client_secret)
    data = json.loads(desired.read_text())
    data["flows"]["team-0"]["fields"].pop("peer")  # team-1 is not declared here
    desired.write_text(json.dumps(data))
    asyncio.run(_plan_then_race(*creds, desired, _nothing))
    data["flows"]["team-0"]["fields"]["field_01"] = {"state": "absent"}
    desired.write_text(json.dumps(data))

    async def race(other: Client) -> None:
        fields = await other.list_flow_fields("team-0")
        await other.delete_field(next(f["id"] for f in fields if f["slug"] == "field_01"))

    error, _ = asyncio.run(_plan_then_race(*creds, desired, race))
    assert error is None, str(error)
    _, fields = asyncio.run(_content(*creds))
    assert sorted(f["slug"] for f in fields) == ["field_00"]


async def _nothing(other: Client) -> None:
    return None


@pytest.mark.slow
@pytest.mark.parametrize("processes", [4])
def test_simultaneous_cli_applies_all_succeed_with_the_store_equal_to_the_files(
    cli: Cli, tmp_path: Path, processes: int
) -> None:
    # Real processes against one store over HTTP, started together (issue 17.3).
    db = tmp_path / "store.sqlite"
    desired = _files(tmp_path / "teams.yaml", flows=5, fields=6)
    client_id, secret = local_credentials(db)
    with running_server(db, StoreSettings(latency_ms=5)) as base_url:
        env = {
            **{k: v for k, v in os.environ.items() if k not in STORE_VARIABLES},
            **store_env(base_url, client_id, secret),
        }
        runs = [
            subprocess.Popen(
                [sys.executable, "-m", "provisioner", "apply", str(desired), "--auto-approve"],
                cwd=tmp_path,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(processes)
        ]
        outputs = [run.communicate(timeout=300) for run in runs]
        codes = [run.returncode for run in runs]
        assert codes == [0] * processes, outputs
        flows, fields = asyncio.run(_content(base_url, client_id, secret))
        state = load_desired([desired])
        assert sorted(flow["slug"] for flow in flows) == sorted(state.flows)
        assert len(fields) == state.field_count()  # nothing twice
        again = cli(
            "plan", desired, "--detailed-exitcode", env=store_env(base_url, client_id, secret)
        )
        assert again.code == 0, again.out
