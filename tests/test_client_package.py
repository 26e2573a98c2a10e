"""The client package's own bookkeeping: every module that logs is redacted, and one function
classifies a failed exchange (the message, the retry decision, whether it was sent, whether
the store refused the connection)."""

from __future__ import annotations

import asyncio
import importlib
import logging
import pkgutil
import socket

import httpx
from support.api import ApiClient

import provisioner.client
from provisioner.client import Client, classify_transport_error
from provisioner.client.redaction import REDACTED_LOGGERS


def test_every_module_of_the_client_that_logs_is_redacted() -> None:
    loggers = set()
    for info in pkgutil.iter_modules(provisioner.client.__path__):
        module = importlib.import_module(f"provisioner.client.{info.name}")
        log = getattr(module, "log", None)
        if isinstance(log, logging.Logger):
            loggers.add(log.name)
    assert loggers  # the package logs
    assert loggers <= set(REDACTED_LOGGERS)
    assert {name for name in REDACTED_LOGGERS if name.startswith("provisioner.")} == loggers


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_refused_connection_was_not_sent_and_is_the_store_refusing() -> None:
    port = _closed_port()

    async def main() -> httpx.HTTPError:
        async with httpx.AsyncClient() as http:
            try:
                await http.get(f"http://127.0.0.1:{port}/v2/flows")
            except httpx.HTTPError as error:
                return error
        raise AssertionError("a closed port answered")

    failure = classify_transport_error(asyncio.run(main()), f"127.0.0.1:{port}")
    assert failure.kind == "connection error"
    assert failure.cause == f"connection refused by 127.0.0.1:{port}"
    assert failure.retryable
    assert not failure.maybe_sent  # nothing left: nothing can have been applied
    assert failure.refused  # what a store restarting causes


def test_a_dropped_answer_may_have_been_applied_and_is_not_a_refusal() -> None:
    error = httpx.RemoteProtocolError("Server disconnected without sending a response.")
    failure = classify_transport_error(error, "store.test:443")
    assert failure.kind == "connection error"
    assert failure.cause == "store.test:443 closed the connection before the answer was complete"
    assert failure.retryable
    assert failure.maybe_sent
    assert not failure.refused


def test_a_read_timeout_may_have_been_applied() -> None:
    failure = classify_transport_error(httpx.ReadTimeout("timed out"), "store.test:443")
    assert (failure.kind, failure.maybe_sent, failure.refused) == ("timeout", True, False)
    assert failure.cause == "timed out waiting for store.test:443 to answer"
    pool = classify_transport_error(httpx.PoolTimeout("no slot"), "store.test:443")
    assert not pool.maybe_sent


def test_the_entry_helpers_only_tests_use_are_test_support_not_the_package() -> None:
    """No command creates, reads or lists entries (the reader counts them): those helpers are
    `support.api.ApiClient`'s (issue 12 item 5), not the program's `Client`."""
    for name in ("create_entry", "get_entry", "list_entries"):
        assert name in vars(ApiClient), name
        assert not hasattr(Client, name), name
