"""Resilience over real HTTP (issue 17): failures stop only their dependants.

A local store with `fail_rate` and a client allowed one attempt per request makes real
operations fail at random (seeded); the applier must still run everything that does not depend
on a failure, skip exactly the dependants, and the next apply must finish the job.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from support import Cli, store_env

from provisioner.applier import ApplyEvent, EventKind, apply_plan
from provisioner.client import Client, ClientConfig
from provisioner.config import load_desired
from provisioner.errors import ApplyError, ProvisionerError
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
                    await apply_plan(client, plan, parallelism=4, on_event=events.append)
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
        assert applied > len(plan.operations) // 3  # independent work still got done
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
