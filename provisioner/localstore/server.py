"""Running a local store: in-process for the CLI (no port), or over a real socket for tests.

`embedded_transport` hands the app to httpx in the same process; a lost answer (the
`lost_write_rate` knob) surfaces there as `httpx.RemoteProtocolError`, as it would over a
socket. `running_server` runs uvicorn in a background thread on a free port and yields the
base URL; leaving the block stops the server and waits for the thread.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import uvicorn

from provisioner.localstore.app import create_app
from provisioner.localstore.faults import LostWrite
from provisioner.localstore.settings import DEFAULT_SETTINGS, StoreSettings

STARTUP_TIMEOUT = 10.0


class EmbeddedTransport(httpx.AsyncBaseTransport):
    """httpx's ASGI transport over a store app, with lost answers as transport errors."""

    def __init__(self, db_path: str | Path, settings: StoreSettings) -> None:
        self.app = create_app(db_path, settings)
        self._inner = httpx.ASGITransport(app=self.app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await self._inner.handle_async_request(request)
        except LostWrite as error:
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a complete response.", request=request
            ) from error

    async def aclose(self) -> None:
        await self._inner.aclose()


def embedded_transport(
    db_path: str | Path, settings: StoreSettings = DEFAULT_SETTINGS
) -> httpx.AsyncBaseTransport:
    """An in-process transport to a store at `db_path` (the CLI's default store)."""
    return EmbeddedTransport(db_path, settings)


class _QuietLostWrites(logging.Filter):
    """Drop uvicorn's error log for a deliberately dropped answer; keep every real error."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], LostWrite))


def quiet_lost_writes() -> None:
    """Install the filter on uvicorn's error logger once."""
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _QuietLostWrites) for f in logger.filters):
        logger.addFilter(_QuietLostWrites())


@contextmanager
def running_server(
    db_path: str | Path,
    settings: StoreSettings = DEFAULT_SETTINGS,
    host: str = "127.0.0.1",
    port: int = 0,
) -> Iterator[str]:
    """Serve a store over HTTP in a background thread; yields `http://HOST:PORT`."""
    quiet_lost_writes()
    config = uvicorn.Config(
        create_app(db_path, settings),
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="local-store", daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            thread.join(STARTUP_TIMEOUT)
            raise RuntimeError(f"the local store did not start on {host}:{port}")
        time.sleep(0.005)
    bound_port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://{host}:{bound_port}"
    finally:
        server.should_exit = True
        thread.join(STARTUP_TIMEOUT)
