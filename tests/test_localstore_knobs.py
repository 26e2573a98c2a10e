"""The local store's knobs, embedded transport and `serve` command."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from support.store import LocalStore, assert_error, flow_body, token_for

from provisioner.commands.serve import command as serve_command
from provisioner.localstore import StoreSettings, embedded_transport, local_credentials
from provisioner.localstore.storage import Storage

FAILURES = {500, 502, 503, 429}


def flows_in(store: LocalStore) -> list[str]:
    flows, _ = Storage(store.db_path).list_flows(100, 0)
    return [flow["slug"] for flow in flows]


def test_latency_is_added_to_every_request(local_store_factory: Any) -> None:
    store = local_store_factory(latency_ms=200)
    started = time.monotonic()
    httpx.get(f"{store.base_url}/v2/flows", headers=store.headers())
    assert time.monotonic() - started >= 0.2  # a lower bound only: sleeping never makes it shorter


def test_rate_limit_answers_429_with_the_configured_retry_after(local_store_factory: Any) -> None:
    store = local_store_factory(rate_limit=1, retry_after=2)
    with httpx.Client(base_url=store.base_url, headers=store.headers()) as client:
        responses = [client.get("/v2/flows") for _ in range(6)]
    limited = [r for r in responses if r.status_code == 429]
    assert limited
    assert_error(limited[0], 429)
    assert limited[0].headers["retry-after"] == "2"
    assert any(item["status"] == 429 for item in store.stats()["requests"])


def test_429_has_no_retry_after_unless_configured(local_store_factory: Any) -> None:
    store = local_store_factory(rate_limit=1)
    with httpx.Client(base_url=store.base_url, headers=store.headers()) as client:
        limited = [r for r in (client.get("/v2/flows") for _ in range(6)) if r.status_code == 429]
    assert limited
    assert "retry-after" not in limited[0].headers


def test_injected_failures_have_no_effect(local_store_factory: Any) -> None:
    store = local_store_factory(fail_rate=1.0)
    token = token_for(store)  # the token endpoint is exempt from injected failures
    with httpx.Client(
        base_url=store.base_url, headers={"Authorization": f"Bearer {token}"}
    ) as client:
        statuses = {
            client.post("/v2/flows", json=flow_body(f"f{i}")).status_code for i in range(12)
        }
    assert statuses <= FAILURES
    assert len(statuses) > 1
    assert flows_in(store) == []
    assert store.write_count() == 12  # the stats route itself is exempt and reliable


def test_every_error_at_an_extensions_path_has_a_string_status(local_store_factory: Any) -> None:
    """SPEC Errors (commerce-extensions.yaml): `status` is a string, for the answers the
    layers make (injected 5xx and 429s) as for domain errors; flows keep an integer."""
    store = local_store_factory(fail_rate=1.0, seed=5)
    token = token_for(store)
    with httpx.Client(
        base_url=store.base_url, headers={"Authorization": f"Bearer {token}"}
    ) as client:
        answers = [client.get("/v2/settings/extensions/custom-apis") for _ in range(16)]
        answers += [client.get("/v2/extensions/anything") for _ in range(4)]
        flows = client.get("/v2/flows")
    assert {a.status_code for a in answers} >= {500, 502, 503}
    for answer in answers:
        assert answer.json()["errors"][0]["status"] == str(answer.status_code), answer.text
    assert flows.json()["errors"][0]["status"] == flows.status_code


def test_seeded_failures_are_reproducible(local_store_factory: Any) -> None:
    def run(store: LocalStore) -> list[int]:
        with httpx.Client(base_url=store.base_url, headers=store.headers()) as client:
            return [client.get("/v2/flows").status_code for _ in range(30)]

    first = run(local_store_factory(fail_rate=0.5, seed=7))
    second = run(local_store_factory(fail_rate=0.5, seed=7))
    assert first == second
    assert 200 in first
    assert set(first) - {200} <= FAILURES
    assert set(first) - {200}


def test_lost_writes_are_committed_over_a_socket(local_store_factory: Any) -> None:
    store = local_store_factory(lost_write_rate=1.0)
    with httpx.Client(base_url=store.base_url, headers=store.headers()) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            client.post("/v2/flows", json=flow_body("wishlists"))
        assert flows_in(store) == ["wishlists"]
        assert_error(client.post("/v2/flows", json=flow_body("wishlists")), 422)  # failed: answered
        assert client.get("/v2/flows").status_code == 200  # reads are never lost


def test_a_lost_delete_loses_its_whole_answer_over_a_socket(local_store_factory: Any) -> None:
    # A 204 is all status line: sending it would deliver the answer complete, so a lost one
    # closes the connection before the status line.
    store = local_store_factory(lost_write_rate=1.0)
    flow = Storage(store.db_path).create_flow(
        {"slug": "wishlists", "name": "W", "description": "", "enabled": True}
    )
    with httpx.Client(base_url=store.base_url, headers=store.headers()) as client:
        with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
            client.delete(f"/v2/flows/{flow['id']}")
        assert flows_in(store) == []  # committed all the same
        assert_error(client.delete(f"/v2/flows/{flow['id']}"), 404)


def test_lost_writes_in_the_embedded_transport(tmp_path: Path) -> None:
    db_path = tmp_path / "store.sqlite"
    client_id, client_secret = local_credentials(db_path)

    async def scenario() -> None:
        transport = embedded_transport(db_path, StoreSettings(lost_write_rate=1.0))
        async with httpx.AsyncClient(transport=transport, base_url="http://local-store") as client:
            form = {
                "grant_type": "client_credentials",
                "client_id": client_id,
                "client_secret": client_secret,
            }
            token = (await client.post("/oauth/access_token", data=form)).json()["access_token"]
            client.headers["Authorization"] = f"Bearer {token}"
            with pytest.raises(httpx.RemoteProtocolError):
                await client.post("/v2/flows", json=flow_body("wishlists"))
            listed = (await client.get("/v2/flows")).json()["data"]
            assert [flow["slug"] for flow in listed] == ["wishlists"]
            with pytest.raises(httpx.RemoteProtocolError):
                await client.delete(f"/v2/flows/{listed[0]['id']}")
            assert (await client.get("/v2/flows")).json()["data"] == []

    asyncio.run(scenario())


def test_embedded_transport_serves_the_api(tmp_path: Path) -> None:
    db_path = tmp_path / "store.sqlite"
    client_id, client_secret = local_credentials(db_path)
    assert local_credentials(db_path) == (client_id, client_secret)  # kept in the database

    async def scenario() -> None:
        async with httpx.AsyncClient(
            transport=embedded_transport(db_path), base_url="http://x"
        ) as client:
            form = {
                "grant_type": "client_credentials",
                "client_id": client_id,
                "client_secret": client_secret,
            }
            token = (await client.post("/oauth/access_token", data=form)).json()["access_token"]
            client.headers["Authorization"] = f"Bearer {token}"
            created = await client.post("/v2/flows", json=flow_body("wishlists"))
            assert created.status_code == 201
            assert created.headers["x-moltin-request-id"]
            assert (await client.get("/v2/flows/wishlists/fields")).json()["data"] == []

    asyncio.run(scenario())


def test_explicit_credentials_replace_the_stored_pair(tmp_path: Path) -> None:
    db_path = tmp_path / "store.sqlite"
    local_credentials(db_path)
    assert local_credentials(db_path, "my-id", "my-secret") == ("my-id", "my-secret")
    assert local_credentials(db_path) == ("my-id", "my-secret")


def test_serve_prints_credentials_from_the_environment(tmp_path: Path) -> None:
    db = str(tmp_path / "store.sqlite")
    env = {"EPCC_CLIENT_ID": "env-id", "EPCC_CLIENT_SECRET": "env-secret"}
    result = CliRunner().invoke(serve_command, ["--db", db, "--print-credentials"], env=env)
    assert result.exit_code == 0, result.output
    assert "export EPCC_CLIENT_ID=env-id" in result.output
    assert "export EPCC_CLIENT_SECRET=env-secret" in result.output


def test_serve_that_cannot_listen_generates_no_credentials(tmp_path: Path) -> None:
    # Generated credentials are shown once, by the start that serves: a start that fails to
    # listen must not generate (and so hide) them.
    db = tmp_path / "store.sqlite"
    env = {"EPCC_CLIENT_ID": "", "EPCC_CLIENT_SECRET": ""}
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        result = CliRunner().invoke(serve_command, ["--db", str(db), "--port", port], env=env)
    assert result.exit_code != 0
    assert "cannot listen" in result.output
    storage = Storage(db)
    with storage.transaction(write=False) as conn:
        assert storage.get_setting(conn, "client_id") is None


@pytest.mark.parametrize("print_credentials", [False, True])
def test_serve_with_an_unusable_database_is_a_clean_error(
    tmp_path: Path, print_credentials: bool
) -> None:
    not_a_database = tmp_path / "notes.txt"
    not_a_database.write_text("not SQLite\n" * 100)
    args = ["--db", str(not_a_database), "--port", "0"]
    if print_credentials:
        args.append("--print-credentials")
    result = CliRunner().invoke(serve_command, args)
    assert isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code != 0
    assert "cannot open the database" in result.output


def start_serve(db: Path) -> tuple[subprocess.Popen[str], str, list[str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EPCC_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "provisioner", "serve", "--port", "0", "--db", str(db)],
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
    base_url = lines[0].split()[3]
    return process, base_url, lines


def stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    process.wait(timeout=10)
    if process.stdout is not None:
        process.stdout.close()


@pytest.mark.slow
def test_serve_runs_a_durable_store(tmp_path: Path) -> None:
    db = tmp_path / "data" / "store.sqlite"
    process, base_url, lines = start_serve(db)
    try:
        exports = dict(
            line.removeprefix("export ").split("=", 1)
            for line in lines
            if line.startswith("export ")
        )
        assert exports["EPCC_API_BASE_URL"] == base_url
        form = {
            "grant_type": "client_credentials",
            "client_id": exports["EPCC_CLIENT_ID"],
            "client_secret": exports["EPCC_CLIENT_SECRET"],
        }
        token = httpx.post(f"{base_url}/oauth/access_token", data=form).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        assert (
            httpx.post(
                f"{base_url}/v2/flows", json=flow_body("wishlists"), headers=headers
            ).status_code
            == 201
        )
    finally:
        stop(process)

    process, base_url, lines = start_serve(db)
    try:
        assert not any("EPCC_CLIENT_SECRET" in line for line in lines)  # printed only once
        token = httpx.post(f"{base_url}/oauth/access_token", data=form).json()["access_token"]
        listed = httpx.get(f"{base_url}/v2/flows", headers={"Authorization": f"Bearer {token}"})
        assert [flow["slug"] for flow in listed.json()["data"]] == ["wishlists"]
    finally:
        stop(process)
