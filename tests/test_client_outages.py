"""A store that goes away or freezes, with real `provisioner serve` processes (issues 11, 17).

- Killing `provisioner serve` in the middle of an apply and starting it again on the same
  database: the apply (a real CLI process) finishes, exit 0, nothing twice (issue 11 item 3).
- A frozen store (SIGSTOP): every request, those waiting for an in-flight place included,
  stops within the deadline with `the store did not answer within N s` (issue 17 item 4).
- A lost create whose read-back fails is tried again as a whole within its budget (issue 17
  item 2), over a mock transport: a read-back that fails on demand is not a knob of the store.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from provisioner.client import Client, ClientConfig
from provisioner.errors import TransportError
from provisioner.localstore import STATS_ROUTE
from provisioner.localstore.auth import Tokens
from provisioner.localstore.storage import Storage

CLIENT_ID = "outage-client"
CLIENT_SECRET = "outage-secret-5b7c1d"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_serve(db: Path, port: int, *extra: str) -> subprocess.Popen[str]:
    """`provisioner serve` on a fixed port (so a restart is the same store), once listening."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EPCC_")}
    env |= {"EPCC_CLIENT_ID": CLIENT_ID, "EPCC_CLIENT_SECRET": CLIENT_SECRET}
    command = [sys.executable, "-m", "provisioner", "serve", "--port", str(port), "--db", str(db)]
    process = subprocess.Popen(
        [*command, *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    lines: list[str] = []
    while not lines or not lines[-1].startswith("Press Ctrl+C"):
        line = process.stdout.readline()
        assert line, "serve stopped early: " + "".join(lines)
        lines.append(line.strip())
    return process


def stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGCONT)
        process.kill()
    process.wait(timeout=30)
    if process.stdout is not None:
        process.stdout.close()


@contextmanager
def serving(db: Path, port: int, *extra: str) -> Iterator[subprocess.Popen[str]]:
    process = start_serve(db, port, *extra)
    try:
        yield process
    finally:
        stop(process)


def client_of(port: int, **settings: Any) -> ClientConfig:
    """The configuration of a client of the store `serving` runs on `port`."""
    return ClientConfig(
        base_url=f"http://127.0.0.1:{port}",
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        **settings,
    )


def rows(db: Path, query: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as connection:
        found = connection.execute(query).fetchall()
    connection.close()
    return found


def field_count(db: Path) -> int:
    try:
        return int(rows(db, "SELECT COUNT(*) FROM fields")[0][0])
    except sqlite3.Error:  # the store is writing: ask again
        return 0


def write_flows(path: Path, flows: int, fields: int) -> Path:
    document = {
        "flows": {
            f"restart_{i:02d}": {
                "name": f"Restart {i}",
                "fields": {
                    f"field_{j:02d}": {"name": f"Field {j}", "field_type": "string"}
                    for j in range(fields)
                },
            }
            for i in range(flows)
        }
    }
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


@pytest.mark.slow
def test_a_store_killed_and_restarted_mid_apply_does_not_fail_the_run(tmp_path: Path) -> None:
    db = tmp_path / "store.sqlite"
    port = free_port()
    flows_file = write_flows(tmp_path / "flows.yaml", flows=6, fields=20)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EPCC_", "CI"))}
    env |= {
        "EPCC_API_BASE_URL": f"http://127.0.0.1:{port}",
        "EPCC_CLIENT_ID": CLIENT_ID,
        "EPCC_CLIENT_SECRET": CLIENT_SECRET,
        "EPCC_RATE_LIMIT": "40",
    }
    apply_command = [sys.executable, "-m", "provisioner", "apply", str(flows_file)]
    store = start_serve(db, port, "--latency-ms", "20")
    try:
        applying = subprocess.Popen(
            [*apply_command, "--auto-approve"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        # Kill the store once the apply is well under way (counted in its database, not timed).
        deadline = time.monotonic() + 120
        while field_count(db) < 15:
            assert applying.poll() is None, "the apply ended before the store was killed"
            assert time.monotonic() < deadline, "the apply made no progress"
            time.sleep(0.05)
        store.kill()  # SIGKILL: in-flight requests lose their connections
        store.wait(timeout=30)
        assert store.stdout is not None
        store.stdout.close()
        fields_at_kill = field_count(db)
        time.sleep(2.0)  # the apply meets refused connections meanwhile
        assert applying.poll() is None, "the apply gave up while the store was down"
        store = start_serve(db, port, "--latency-ms", "20")
        output, _ = applying.communicate(timeout=300)
    finally:
        stop(store)
    assert applying.returncode == 0, output
    assert "Apply complete: 126 operation(s) applied." in output
    assert fields_at_kill < 120
    # Exactly the files: every flow and field once (a create whose answer the kill lost was
    # read back and adopted, not sent twice).
    assert rows(db, "SELECT COUNT(*), COUNT(DISTINCT slug) FROM flows") == [(6, 6)]
    assert rows(
        db,
        "SELECT COUNT(*), COUNT(DISTINCT f.slug || '.' || x.slug)"
        " FROM fields x JOIN flows f ON f.id = x.flow_id",
    ) == [(120, 120)]
    with serving(db, port):
        plan = subprocess.run(
            [sys.executable, "-m", "provisioner", "plan", str(flows_file), "--detailed-exitcode"],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
    assert plan.returncode == 0, plan.stdout + plan.stderr


def test_a_frozen_store_stops_every_request_within_the_deadline(tmp_path: Path) -> None:
    db = tmp_path / "store.sqlite"
    port = free_port()
    config = client_of(
        port,
        max_in_flight=2,  # most requests wait for a place: that wait is inside the deadline
        deadline=1.5,
        timeout=0.5,
        backoff_base=0.05,
        backoff_max=0.1,
    )

    async def main(store: subprocess.Popen[str]) -> tuple[list[BaseException | Any], float]:
        async with Client(config) as client:
            await client.list_flows()  # the store answers, and the token is fetched
            store.send_signal(signal.SIGSTOP)
            started = time.monotonic()
            outcomes = await asyncio.gather(
                *(client.list_flows() for _ in range(12)), return_exceptions=True
            )
            return outcomes, time.monotonic() - started

    with serving(db, port) as store:
        outcomes, elapsed = asyncio.run(main(store))
    assert all(isinstance(outcome, TransportError) for outcome in outcomes), outcomes
    messages = {str(outcome) for outcome in outcomes}
    assert all("the store did not answer within 1.5 s" in message for message in messages)
    # Before issue 17, each request's deadline began when it got an in-flight place: 12
    # requests 2 at a time took 6 x the deadline. Now all of them end with the first ones.
    assert elapsed < 3 * config.deadline


def test_a_lost_create_whose_read_back_fails_is_tried_again_as_a_whole() -> None:
    calls: list[tuple[str, int]] = []
    flows: list[dict[str, Any]] = []
    failing_reads = iter(range(3))  # the read-back's own 3 attempts all fail: 503

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/access_token":
            return httpx.Response(200, json={"access_token": "t0k3n", "expires_in": 3600})
        if request.method == "POST":
            flows.append({"id": "flow-1", "type": "flow", "slug": "a"})
            calls.append(("POST", 0))
            raise httpx.ReadError("connection reset after the write committed", request=request)
        if next(failing_reads, None) is not None:
            calls.append(("GET", 503))
            return httpx.Response(503, json={"errors": [{"title": "Service Unavailable"}]})
        calls.append(("GET", 200))
        return httpx.Response(200, json={"data": flows})

    config = ClientConfig(
        base_url="http://store.test",
        client_id="id",
        client_secret="secret",
        rate_limit=1000.0,
        max_attempts=3,
        backoff_base=0.01,
        backoff_max=0.02,
    )

    async def main() -> tuple[dict[str, Any], Client]:
        async with Client(config, httpx.MockTransport(handler)) as client:
            return await client.create_flow({"slug": "a", "name": "A"}), client

    created, client = asyncio.run(main())
    assert created["id"] == "flow-1"
    assert client.stats.adopted == 1
    assert len(flows) == 1  # never sent twice
    # Lost POST; a read-back failing its 3 attempts is one failed attempt of the create; then
    # the whole again: read back (found, adopted) before any re-send.
    assert calls == [("POST", 0), ("GET", 503), ("GET", 503), ("GET", 503), ("GET", 200)]


def test_a_frozen_store_ends_requests_queued_later_with_the_first_deadline(
    tmp_path: Path,
) -> None:
    # One place in flight: behind the request on the wire of a frozen store, two wait for the
    # place from the start and two more queue 0.2 s later. The first deadline finds the store
    # silent for a whole deadline: every request still waiting ends then (before, each waited
    # for its own deadline, and the queued ones were sent, one after another, as places
    # freed), and a later request of the run is not sent at all.
    db = tmp_path / "store.sqlite"
    port = free_port()
    config = client_of(
        port,
        max_in_flight=1,
        deadline=0.6,
        timeout=10.0,  # no attempt ends on its own: only the deadline ends them
    )

    async def main(store: subprocess.Popen[str]) -> tuple[list[BaseException | Any], str]:
        async with Client(config) as client:
            await client.list_flows()  # the store answers, and the token is fetched
            store.send_signal(signal.SIGSTOP)
            first = [asyncio.create_task(client.list_flows()) for _ in range(3)]
            await asyncio.sleep(0.2)
            later = [asyncio.create_task(client.list_flows()) for _ in range(2)]
            outcomes = await asyncio.gather(*first, *later, return_exceptions=True)
            with pytest.raises(TransportError) as after:
                await client.list_flows()
            return outcomes, str(after.value)

    with serving(db, port) as store:
        outcomes, after = asyncio.run(main(store))
        store.send_signal(signal.SIGCONT)
        token = Tokens(Storage(db), 3600).issue("client_credentials")["access_token"]
        stats = httpx.get(
            f"http://127.0.0.1:{port}{STATS_ROUTE}",
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        ).json()["data"]
    assert all(isinstance(outcome, TransportError) for outcome in outcomes), outcomes
    messages = [str(outcome) for outcome in outcomes]
    assert all("the store did not answer within 0.6 s" in message for message in messages)
    # The two queued later ended with the first deadline, cut before their own.
    assert all("another request waited that long" in message for message in messages[3:])
    assert "another request waited that long; not sent" in after
    # The store got the first list and the one request on the wire; none of those waiting.
    sent = sum(
        int(item["count"])
        for item in stats["requests"]
        if (item["method"], item["route"]) == ("GET", "/v2/flows")
    )
    assert sent <= 2
