"""A small HTTP server on an ephemeral port, for what the local store cannot be made to say
(a store message quoting terminal controls, a redirect to another host).

`QuietHandler` is a request handler that answers JSON (`send_json`) and logs nothing;
`http_server(handler)` serves it on 127.0.0.1 in a thread and yields its base URL; `TOKEN` is
the body of a granted token.
"""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

TOKEN: dict[str, Any] = {"access_token": "t" * 40, "token_type": "Bearer", "expires_in": 3600}


class QuietHandler(http.server.BaseHTTPRequestHandler):
    """A handler that writes nothing to stderr and answers JSON with `send_json`."""

    def send_json(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def http_server(handler: type[http.server.BaseHTTPRequestHandler]) -> Iterator[str]:
    """Serve `handler` on an ephemeral port of 127.0.0.1; yield the base URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
