"""Failures whose cause is known are said in one line (issue 10, items 6 and 7).

Over real sockets: a refused port, a name that does not resolve, https against the local
store's plain http, a store too slow to answer, a server that answers 3xx (a real
`http.server` in a thread: the local store never redirects, as the API does not). What
cannot heal within a run (an unresolvable name, a TLS mismatch) is reported after one attempt.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from support import Cli, CliResult
from support.httpstub import QuietHandler, http_server

from provisioner.client import Client, ClientConfig, error_from_response, redact
from provisioner.errors import ApiError, TransportError

CUSTOMERS = "flows:\n  customers:\n    name: Customers\n"


@pytest.fixture
def flows_file(tmp_path: Path) -> Path:
    path = tmp_path / "customers.yaml"
    path.write_text(CUSTOMERS)
    return path


def fast(base_url: str, **overrides: Any) -> ClientConfig:
    settings: dict[str, Any] = {
        "base_url": base_url,
        "client_id": "id",
        "client_secret": "secret",
        "rate_limit": 2000.0,
        "backoff_base": 0.01,
        "backoff_max": 0.05,
        "max_attempts": 3,
    }
    settings.update(overrides)
    return ClientConfig(**settings)


def list_flows(cfg: ClientConfig) -> tuple[BaseException, Client]:
    async def main() -> tuple[BaseException, Client]:
        async with Client(cfg) as client:
            try:
                await client.list_flows()
            except Exception as error:
                return error, client
        raise AssertionError("the request succeeded")

    return asyncio.run(main())


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def one_error_line(result: CliResult) -> str:
    assert result.code == 1, (result.out, result.err)
    assert "Traceback" not in result.err
    errors = [line for line in result.err.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.err
    return errors[0]


@pytest.fixture
def redirecting_server() -> Iterator[str]:
    """A real HTTP server that answers every request with 301 to another host."""

    class Redirect(QuietHandler):
        def _answer(self) -> None:
            self.send_response(301)
            location = "https://deploy:s3cret@api.example.test" + self.path
            self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_POST = _answer

    with http_server(Redirect) as url:
        yield url


# --------------------------------------------------------------------------- item 6


def test_a_refused_connection_says_so_and_is_retried() -> None:
    port = free_port()
    error, client = list_flows(fast(f"http://127.0.0.1:{port}"))
    assert isinstance(error, TransportError)
    assert f"connection refused by 127.0.0.1:{port}" in str(error)
    assert "gave up after 3 attempts" in str(error)
    assert client.stats.failures["connection error"] == 3


def test_a_refused_ipv6_loopback_names_the_address() -> None:
    port = free_port()
    error, _ = list_flows(fast(f"http://[::1]:{port}", max_attempts=1))
    assert isinstance(error, TransportError)
    # Refused, or no IPv6 on this machine at all: either way the address and the cause.
    assert f"[::1]:{port}" in str(error)
    assert "refused" in str(error) or "cannot connect" in str(error)


def test_a_name_that_does_not_resolve_is_not_retried() -> None:
    error, client = list_flows(fast("http://no-such-store.invalid", max_attempts=6))
    assert isinstance(error, TransportError)
    assert "name resolution failed for no-such-store.invalid" in str(error)
    assert client.stats.failures["connection error"] == 1
    assert client.stats.retries == 0


def test_https_against_a_plain_http_store_is_a_tls_failure_not_retried(local_store: Any) -> None:
    where = local_store.base_url.removeprefix("http://")
    error, client = list_flows(fast(f"https://{where}", max_attempts=6))
    assert isinstance(error, TransportError)
    assert f"TLS handshake failed with {where}" in str(error)
    assert "plain http://" in str(error)
    assert client.stats.failures["connection error"] == 1


def test_a_timeout_says_what_timed_out(local_store_factory: Any) -> None:
    store = local_store_factory(latency_ms=400)
    cfg = fast(store.base_url, client_id=store.client_id, client_secret=store.client_secret)
    error, _ = list_flows(ClientConfig(**{**cfg.__dict__, "timeout": 0.05, "max_attempts": 2}))
    assert isinstance(error, TransportError)
    assert "timed out waiting for 127.0.0.1:" in str(error)


@pytest.mark.parametrize("debug", [False, True])
def test_the_cli_says_the_cause_in_one_line(
    cli: Cli, redirecting_server: str, flows_file: Path, debug: bool
) -> None:
    # A plain-http server in a thread that logs nothing (the in-process local store would log
    # the garbled TLS hello into the same stderr).
    where = redirecting_server.removeprefix("http://")
    env = {
        "EPCC_API_BASE_URL": f"https://{where}",
        "EPCC_CLIENT_ID": "id",
        "EPCC_CLIENT_SECRET": "secret",
    }
    args = ["--debug"] if debug else []
    result = cli(*args, "plan", flows_file, env=env)
    line = one_error_line(result) if not debug else result.err.splitlines()[-1]
    assert f"TLS handshake failed with {where}" in line
    assert "gave up" not in line
    unresolved = cli(
        "plan", flows_file, env={**env, "EPCC_API_BASE_URL": "http://no-such-store.invalid"}
    )
    assert "name resolution failed for no-such-store.invalid" in one_error_line(unresolved)


# --------------------------------------------------------------------------- item 7


def test_a_base_url_with_a_path_names_the_api_root(
    cli: Cli, local_store: Any, flows_file: Path
) -> None:
    env = {**local_store.env(), "EPCC_API_BASE_URL": local_store.base_url + "/v2"}
    line = one_error_line(cli("plan", flows_file, env=env))
    assert f"should be the API root, {local_store.base_url}" in line
    assert "'/v2' was given" in line
    assert "EPCC_API_BASE_URL" in line
    assert "401" not in line
    assert local_store.stats()["total"] == 0


def test_userinfo_in_the_base_url_is_never_echoed(
    cli: Cli, local_store: Any, flows_file: Path
) -> None:
    where = local_store.base_url.removeprefix("http://")
    for url in (f"http://admin:hunter2@{where}", f"http://admin:hunter2@{where}/v2"):
        result = cli("plan", flows_file, env={**local_store.env(), "EPCC_API_BASE_URL": url})
        line = one_error_line(result)
        assert "hunter2" not in result.err + result.out
        assert "admin" not in result.err + result.out
        assert "user name or password" in line
    assert local_store.stats()["total"] == 0


def test_a_redirect_names_where_it_points(
    cli: Cli, redirecting_server: str, flows_file: Path
) -> None:
    env = {
        "EPCC_API_BASE_URL": redirecting_server,
        "EPCC_CLIENT_ID": "id",
        "EPCC_CLIENT_SECRET": "secret",
    }
    result = cli("plan", flows_file, env=env)
    line = one_error_line(result)
    assert "301" in line
    assert "redirects to https://***@api.example.test/oauth/access_token" in line
    assert "s3cret" not in result.err
    error, _ = list_flows(fast(redirecting_server))
    assert isinstance(error, ApiError)
    assert error.status == 301


def test_redaction_leaves_ordinary_words_alone(local_store: Any) -> None:
    # The local store's own 401 (no token) says "A bearer access token is required."
    response = httpx.get(local_store.base_url + "/v2/flows", timeout=10)
    assert response.status_code == 401
    error = error_from_response("GET", "/v2/flows", response, secrets=["a-secret"])
    assert "A bearer access token is required" in str(error)
    assert redact("Authorization: Bearer 0f3a9c27d1e84b5a") == "Authorization: Bearer ***"
    assert redact("header Bearer abc123def") == "header Bearer ***"
