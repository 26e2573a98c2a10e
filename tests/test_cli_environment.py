"""The environment around a command (issue 10, items 5, 8, 9, 14, 17, 18).

Which store a command talks to, and every value that chooses it (base URL, port, credentials,
rate limit, embedded database), is checked before the first request: a bad value is one line
naming it and what was expected, exit 1, no traceback, nothing written anywhere. Runs the real
CLI (`provisioner.cli.main`) in-process against local stores over real HTTP, and `serve` as a
real subprocess.
"""

from __future__ import annotations

import asyncio
import hashlib
import http.client
import json
import os
import socket
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from click.testing import CliRunner
from support import Cli
from support.seed import CUSTOMERS

from provisioner.commands.serve import command as serve_command


@pytest.fixture
def customers_yaml(tmp_path: Path) -> Path:
    path = tmp_path / "flows" / "customers.yaml"
    path.parent.mkdir()
    path.write_text(CUSTOMERS)
    return path


def assert_one_clear_line(result: Any, *words: str) -> None:
    assert result.code == 1, (result.out, result.err)
    assert "Traceback" not in result.err + result.out
    errors = [line for line in result.err.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.err
    for word in words:
        assert word in errors[0], errors[0]


# ----------------------------------------------------------------------------- item 5: URLs


@pytest.mark.parametrize("command", ["plan", "apply", "export"])
@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://127.0.0.1:18701:", "'18701:'"),
        ("http://127.0.0.1:abc", "'abc'"),
        ("http://127.0.0.1:99999", "'99999'"),
    ],
)
def test_a_bad_port_in_the_base_url_is_one_line(
    cli: Cli, local_store: Any, customers_yaml: Path, command: str, url: str, shown: str
) -> None:
    args: dict[str, list[Any]] = {
        "plan": [customers_yaml],
        "apply": [customers_yaml, "--auto-approve"],
        "export": [],
    }
    env = {**local_store.env(), "EPCC_API_BASE_URL": url}
    result = cli(command, *args[command], env=env)
    assert_one_clear_line(result, shown, "port", "1 to 65535", "EPCC_API_BASE_URL")
    option = cli(command, *args[command], "--base-url", url, env=local_store.env())
    assert_one_clear_line(option, shown, "--base-url")
    assert local_store.write_count() == 0


def test_serve_refuses_a_port_out_of_range() -> None:
    result = CliRunner().invoke(serve_command, ["--port", "70000"])
    assert result.exit_code != 0
    assert isinstance(result.exception, SystemExit), result.exception
    assert "70000 is not in the range 0<=x<=65535" in result.output


def test_serve_names_a_bad_port_in_one_line(cli: Cli) -> None:
    result = cli("serve", "--port", "70000")
    assert result.code == 1
    assert result.err.strip().splitlines() == [
        "Error: Invalid value for '--port': 70000 is not in the range 0<=x<=65535."
    ]


@pytest.mark.parametrize(
    ("option", "value", "expected"),
    [
        ("--fail-rate", "nan", "'nan' is not a finite number."),
        ("--lost-write-rate", "nan", "'nan' is not a finite number."),
        ("--rate-limit", "nan", "'nan' is not a finite number."),
        ("--rate-limit", "inf", "'inf' is not a finite number."),
        ("--retry-after", "inf", "inf is not in the range 0<=x<=3600."),
        ("--latency-ms", "nan", "'nan' is not a finite number."),
        ("--latency-ms", "inf", "inf is not in the range 0<=x<=60000."),
    ],
)
def test_serve_refuses_a_knob_that_is_not_a_finite_number(
    cli: Cli, tmp_path: Path, option: str, value: str, expected: str
) -> None:
    # nan passes every comparison of a range: it used to turn the limiter off, send
    # `retry-after: nan`, hang every request, or end in a traceback (--fail-rate).
    db = tmp_path / "store.sqlite"
    result = cli("serve", "--port", "0", "--db", str(db), option, value)
    assert result.code == 1
    assert result.err.strip().splitlines() == [f"Error: Invalid value for '{option}': {expected}"]
    assert not db.exists()


# --------------------------------------------------------------------- item 5: --db paths


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("command", ["plan", "apply", "export"])
def test_an_embedded_database_that_is_a_text_file_is_refused_untouched(
    cli: Cli, customers_yaml: Path, tmp_path: Path, command: str
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("not SQLite\n" * 100)
    before = _digest(notes)
    args: dict[str, list[Any]] = {
        "plan": [customers_yaml],
        "apply": [customers_yaml, "--auto-approve"],
        "export": [],
    }
    result = cli(command, *args[command], "--db", notes)
    assert_one_clear_line(result, str(notes), "not a SQLite database")
    assert _digest(notes) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["flows", "notes.txt"]


@pytest.mark.parametrize("command", ["plan", "apply", "export"])
def test_an_embedded_database_that_cannot_be_created_is_refused(
    cli: Cli, customers_yaml: Path, tmp_path: Path, command: str
) -> None:
    regular = tmp_path / "regular"
    regular.write_text("a file\n")
    args: dict[str, list[Any]] = {
        "plan": [customers_yaml],
        "apply": [customers_yaml, "--auto-approve"],
        "export": [],
    }
    under = cli(command, *args[command], "--db", regular / "store.sqlite")
    assert_one_clear_line(under, f"{regular} is not a directory")
    proc = cli(command, *args[command], "--db", "/proc/x.sqlite")
    assert_one_clear_line(proc, "/proc/x.sqlite", "embedded store's database")
    assert regular.read_text() == "a file\n"


# ------------------------------------------------------------------- item 8: whitespace


def test_whitespace_around_credentials_is_ignored(
    cli: Cli, local_store: Any, customers_yaml: Path
) -> None:
    env = local_store.env()
    env["EPCC_CLIENT_SECRET"] += "\n"
    env["EPCC_CLIENT_ID"] = f"  {env['EPCC_CLIENT_ID']}\t"
    env["EPCC_API_BASE_URL"] = f" {env['EPCC_API_BASE_URL']}/\n"
    applied = cli("apply", customers_yaml, "--auto-approve", env=env)
    assert applied.code == 0, applied.err
    assert local_store.write_count() == 2
    plain = local_store.env()
    del plain["EPCC_CLIENT_SECRET"]
    options = cli(
        "plan",
        customers_yaml,
        "--client-secret",
        f" {local_store.client_secret}\r\n",
        "--detailed-exitcode",
        env=plain,
    )
    assert options.code == 0, options.err


def test_serve_strips_credentials_from_the_environment(tmp_path: Path) -> None:
    db = str(tmp_path / "store.sqlite")
    env = {"EPCC_CLIENT_ID": " env-id\n", "EPCC_CLIENT_SECRET": "env-secret\n"}
    result = CliRunner().invoke(serve_command, ["--db", db, "--print-credentials"], env=env)
    assert result.exit_code == 0, result.output
    assert "export EPCC_CLIENT_ID=env-id\n" in result.output
    assert "export EPCC_CLIENT_SECRET=env-secret\n" in result.output


# ------------------------------------------------------------- item 9: store selection


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        (("EPCC_CLIENT_ID", "EPCC_CLIENT_SECRET"), "EPCC_CLIENT_ID and EPCC_CLIENT_SECRET are"),
        (("EPCC_CLIENT_ID",), "EPCC_CLIENT_ID is"),
    ],
)
def test_credentials_without_a_base_url_are_refused(
    cli: Cli,
    local_store: Any,
    customers_yaml: Path,
    tmp_path: Path,
    variables: tuple[str, ...],
    named: str,
) -> None:
    env = {name: local_store.env()[name] for name in variables}
    db = tmp_path / "embedded.sqlite"
    for command in (["plan", customers_yaml], ["apply", customers_yaml, "--auto-approve"]):
        result = cli(*command, "--db", db, env=env)
        assert_one_clear_line(result, named, "EPCC_API_BASE_URL is not", "--local")
    assert not db.exists()
    local = cli("apply", customers_yaml, "--auto-approve", "--local", "--db", db, env=env)
    assert local.code == 0, local.err
    assert local.err.startswith(f"Using the embedded local store at {db}")
    assert local_store.write_count() == 0


def test_db_with_a_configured_store_is_an_error(
    cli: Cli, local_store: Any, customers_yaml: Path, tmp_path: Path
) -> None:
    db = tmp_path / "embedded.sqlite"
    result = cli("apply", customers_yaml, "--auto-approve", "--db", db, env=local_store.env())
    assert_one_clear_line(result, f"--db {db}", local_store.base_url, "--local")
    assert local_store.stats()["total"] == 0
    assert not db.exists()


def test_the_store_line_names_the_host(cli: Cli, local_store: Any, customers_yaml: Path) -> None:
    result = cli("plan", customers_yaml, env=local_store.env())
    assert result.code == 0, result.err
    assert result.err.splitlines()[0] == f"Using the store at {local_store.base_url}."


# ------------------------------------------------------------------ item 14: rate limit


@pytest.mark.parametrize(
    "value",
    # float() reads "1_0" as 10 and full-width digits as digits: refused like any non-number.
    ["1e-9", "0", "-3", "nan", "inf", "20000", "fast", "1_0", "\uff11\uff10"],
)
def test_a_bad_rate_limit_names_where_it_came_from(
    cli: Cli, local_store: Any, customers_yaml: Path, value: str
) -> None:
    env = {**local_store.env(), "EPCC_RATE_LIMIT": value}
    from_variable = cli("plan", customers_yaml, env=env)
    assert_one_clear_line(from_variable, "EPCC_RATE_LIMIT", "0.1 to 10,000", repr(value))
    assert "--rate-limit" not in from_variable.err
    env = local_store.env()
    from_option = cli("plan", customers_yaml, "--rate-limit", value, env=env)
    assert from_option.code == 1
    assert "--rate-limit" in from_option.err
    assert "0.1 to 10,000" in from_option.err
    assert "EPCC_RATE_LIMIT" not in from_option.err
    assert local_store.stats()["total"] == 0


@pytest.mark.slow
def test_the_rate_limit_bounds_are_accepted(
    cli: Cli, local_store: Any, customers_yaml: Path
) -> None:
    env = {**local_store.env(), "EPCC_RATE_LIMIT": " 10000 "}
    assert cli("plan", customers_yaml, env=env).code == 0
    assert cli("plan", customers_yaml, "--rate-limit", "0.1", env=local_store.env()).code == 0


# ---------------------------------------------------------------- items 17, 18: serve


def start_serve(db: Path, *args: str) -> tuple[subprocess.Popen[str], str, dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EPCC_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "provisioner", "serve", "--db", str(db), *args],
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
    exports = dict(
        line.removeprefix("export ").split("=", 1) for line in lines if line.startswith("export ")
    )
    return process, lines[0].split()[3], exports


def stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    process.wait(timeout=10)
    if process.stdout is not None:
        process.stdout.close()


def test_print_credentials_names_the_port_the_store_runs_on(tmp_path: Path) -> None:
    db = tmp_path / "store.sqlite"
    process, base_url, exports = start_serve(db, "--port", "0")
    try:
        assert not base_url.endswith(":8710")
        printed = subprocess.run(
            [sys.executable, "-m", "provisioner", "serve", "--db", str(db), "--print-credentials"],
            capture_output=True,
            text=True,
            check=True,
            env={k: v for k, v in os.environ.items() if not k.startswith("EPCC_")},
        ).stdout
        assert f"export EPCC_API_BASE_URL={base_url}\n" in printed
        assert f"export EPCC_CLIENT_SECRET={exports['EPCC_CLIENT_SECRET']}\n" in printed
        explicit = CliRunner().invoke(
            serve_command, ["--db", str(db), "--print-credentials", "--port", "9999"]
        )
        assert "export EPCC_API_BASE_URL=http://127.0.0.1:9999\n" in explicit.output
    finally:
        stop(process)


def test_serve_turns_nagle_off_on_the_connections_it_accepts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # uvicorn serves `serve`'s socket through asyncio's create_server; run that same path on
    # the socket the command opened and read TCP_NODELAY on the connection it accepts.
    seen: list[int] = []

    def run(self: uvicorn.Server, sockets: list[socket.socket]) -> None:
        async def main() -> None:
            accepted = asyncio.Event()

            class Probe(asyncio.Protocol):
                def connection_made(self, transport: Any) -> None:
                    sock = transport.get_extra_info("socket")
                    seen.append(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
                    transport.close()
                    accepted.set()

            server = await asyncio.get_running_loop().create_server(Probe, sock=sockets[0])
            with socket.create_connection(sockets[0].getsockname()[:2], timeout=5):
                await asyncio.wait_for(accepted.wait(), 5)
            server.close()

        asyncio.run(main())

    monkeypatch.setattr(uvicorn.Server, "run", run)
    result = CliRunner().invoke(serve_command, ["--db", str(tmp_path / "s.sqlite"), "--port", "0"])
    assert result.exit_code == 0, result.output
    assert seen
    assert seen[0] != 0


def _get_many(base_url: str, token: str, count: int, *, keep_alive: bool) -> float:
    url = urllib.parse.urlsplit(base_url)
    headers = {"Authorization": f"Bearer {token}"}
    connection = http.client.HTTPConnection(url.hostname or "", url.port, timeout=10)
    started = time.perf_counter()
    for _ in range(count):
        if not keep_alive:
            connection = http.client.HTTPConnection(url.hostname or "", url.port, timeout=10)
        connection.request("GET", "/v2/fields", headers=headers)
        response = connection.getresponse()
        assert response.status == 200
        response.read()
        if not keep_alive:
            connection.close()
    connection.close()
    return time.perf_counter() - started


def test_fifty_gets_over_one_connection_are_not_latency_bound(tmp_path: Path) -> None:
    # Latency-bound means >= 40 ms a request (the delayed ACK): 2 s for 50. A control run of
    # the same GETs on a fresh connection each (which never waits for a delayed ACK) absorbs
    # the machine's load; the kept-alive run may not be slower than it by a second.
    process, base_url, exports = start_serve(tmp_path / "store.sqlite", "--port", "0")
    try:
        form = urllib.parse.urlencode(
            {
                "grant_type": "client_credentials",
                "client_id": exports["EPCC_CLIENT_ID"],
                "client_secret": exports["EPCC_CLIENT_SECRET"],
            }
        )
        url = urllib.parse.urlsplit(base_url)
        connection = http.client.HTTPConnection(url.hostname or "", url.port, timeout=10)
        connection.request(
            "POST",
            "/oauth/access_token",
            body=form,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        token = json.loads(connection.getresponse().read())["access_token"]
        connection.close()
        _get_many(base_url, token, 5, keep_alive=True)  # warm up
        kept = _get_many(base_url, token, 50, keep_alive=True)
        fresh = _get_many(base_url, token, 50, keep_alive=False)
        assert kept < fresh + 1.0, (kept, fresh)
    finally:
        stop(process)
