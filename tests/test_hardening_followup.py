"""Issue 10 acceptance follow-up: what the acceptance run found still open on main.

Each test drives the real thing: the CLI against the local store over HTTP (with its fault
knobs), real files (a FIFO, a symlink), and, for error text a store cannot be made to send,
a small HTTP server on an ephemeral port.
"""

from __future__ import annotations

import asyncio
import gc
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from support.seed import CUSTOMERS, write
from support.store import LocalStore

from provisioner.client import Client, ClientConfig
from provisioner.errors import ServerError
from provisioner.reader import read_live_state

# --------------------------------------------------------------------------- F1: no traceback


class _FlowsFailFirst:
    """A real client whose fields' list starts only once the flows' list has failed: the order
    in which a store failing every request made `read_live_state` abandon a failed task."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.flows_done = asyncio.Event()

    async def list_flows(self) -> list[dict[str, Any]]:
        try:
            return await self.client.list_flows()
        finally:
            self.flows_done.set()

    async def list_fields(self) -> list[dict[str, Any]]:
        await self.flows_done.wait()
        return await self.client.list_fields()

    async def list_flow_fields(self, flow_slug: str) -> list[dict[str, Any]]:
        return await self.client.list_flow_fields(flow_slug)


def test_both_first_lists_failing_leave_no_unretrieved_task(
    local_store_factory: Any,
) -> None:
    # Seed 7 draws 5xx first: no 429 slows the client's pace.
    store: LocalStore = local_store_factory(fail_rate=1.0, seed=7)
    config = ClientConfig(
        base_url=store.base_url,
        client_id=store.client_id,
        client_secret=store.client_secret,
        rate_limit=1000,
        max_attempts=1,
        backoff_base=0,
        deadline=5,
    )
    reported: list[str] = []

    async def read() -> None:
        asyncio.get_running_loop().set_exception_handler(
            lambda _loop, context: reported.append(str(context.get("message")))
        )
        async with Client(config) as client:
            await read_live_state(_FlowsFailFirst(client))

    with pytest.raises(ServerError, match="/v2/fields"):
        asyncio.run(read())
    gc.collect()  # an abandoned task's exception is reported when the task is collected
    assert reported == []


@pytest.mark.parametrize("command", ["plan", "apply", "export"])
def test_a_store_failing_every_read_is_one_error_line(
    command: str,
    local_store_factory: Any,
    cli: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Seed 7 draws 5xx first: no 429 slows the client's pace.
    store: LocalStore = local_store_factory(fail_rate=1.0, seed=7)
    from_env = ClientConfig.from_env.__func__  # type: ignore[attr-defined]

    def quick(cls: type[ClientConfig], /, env: Any, **overrides: Any) -> ClientConfig:
        # One attempt per request, no backoff: the run fails in a fraction of a second.
        config: ClientConfig = from_env(cls, env, **overrides)
        return replace(config, max_attempts=1, backoff_base=0, deadline=5)

    monkeypatch.setattr(ClientConfig, "from_env", classmethod(quick))
    schema = write(tmp_path / "schema.yaml", CUSTOMERS)
    args = {
        "plan": ["plan", schema],
        "apply": ["apply", schema, "--auto-approve"],
        "export": ["export", "-o", tmp_path / "out.yaml"],
    }[command]
    result = cli(*args, env=store.env())
    gc.collect()  # an abandoned task's exception would be logged now
    err = result.err + capsys.readouterr().err
    assert result.code == 1
    assert [line for line in err.splitlines() if line.startswith("Error")] == [
        next(line for line in err.splitlines() if line.startswith("Error: GET /v2/"))
    ]
    assert "Traceback" not in err
    assert "Task exception" not in err
    assert err.count("\n") == 2, err  # the store line and the error line
    assert store.write_count() == 0
