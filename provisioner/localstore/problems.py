"""The local store's error answers: the one place errors become the API's error bodies.

Storage and the checks raise domain errors (`localstore.errors`); the HTTP layer raises
`Problem(status, detail, title)` for what is wrong with the request itself (not JSON, too
large, bad paging). `error_answer` turns either into the error body of the API the request
belongs to:

- Flows, fields, entries, customers (epcc-api.md 2.4, section 0): `{"errors": [{"status": <int>,
  "title", "detail"}]}`, validation failures 422.
- Commerce Extensions (section 10, SPEC Errors): the same with `status` a string, validation
  failures 400. `error_body` is the one place the shape is chosen, by the request's path:
  every answer the layers make (429, injected 5xx, 401/403, the last resort's 500) passes it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from starlette.responses import Response

from provisioner.epcc import custom_apis as extension_facts
from provisioner.localstore.errors import (
    Conflict,
    Invalid,
    NotAllowed,
    NotFound,
    PreconditionFailed,
    StoreError,
    StoreFailure,
    TooLarge,
)

JSON_CONTENT_TYPE = "application/json; charset=utf-8"  # 2.1: what the real API sends

# 2.4: titles the real service uses for these statuses.
TITLES: dict[int, str] = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Payload Too Large",
    415: "Unsupported Media Type",
    422: "Failed Validation",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    507: "Insufficient Storage",  # the local store's disk is full (RFC 4918)
}


class Problem(Exception):
    """An answer other than success: status, title and detail of the error body."""

    def __init__(self, status: int, detail: str, title: str | None = None) -> None:
        self.status = status
        self.title = title or TITLES.get(status, "Error")
        self.detail = detail
        super().__init__(f"{status} {self.title}: {detail}")


def json_response(
    body: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """A JSON response with the API's content type (UTF-8, compact)."""
    content = json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    response = Response(content.encode("utf-8"), status_code=status, headers=headers)
    response.headers["content-type"] = JSON_CONTENT_TYPE
    return response


def error_body(
    status: int, title: str, detail: str, request_id: str | None = None, path: str | None = None
) -> Any:
    """The standard error body (2.4); 5xx answers also name the request id, as the real API.
    At a Commerce Extensions `path` the status is a string (SPEC Errors), whatever the answer
    (a domain error, an injected failure, a 429, a 500 of the last resort, a 401)."""
    shown: int | str = str(status) if path is not None and is_extensions_path(path) else status
    error: dict[str, Any] = {"status": shown, "title": title, "detail": detail}
    if request_id is not None and status >= 500:
        error["request_id"] = request_id
    return {"errors": [error]}


def error_response(
    status: int,
    detail: str,
    title: str | None = None,
    headers: Mapping[str, str] | None = None,
    request_id: str | None = None,
    path: str | None = None,
) -> Response:
    """An error answer with the standard body, in the shape of the API `path` belongs to."""
    body = error_body(status, title or TITLES.get(status, "Error"), detail, request_id, path)
    return json_response(body, status=status, headers=headers)


# Where Commerce Extensions live: their errors take that spec's shape (section 10).
EXTENSION_PREFIXES: tuple[str, ...] = (
    extension_facts.SETTINGS_PREFIX.rsplit("/", 1)[0] + "/",  # /v2/settings/extensions/
    extension_facts.EXTENSIONS_PREFIX + "/",
)
_SIMPLE: Mapping[type[StoreError], tuple[int, str]] = {
    Conflict: (409, "Conflict"),
    NotAllowed: (405, "Method Not Allowed"),
    PreconditionFailed: (412, "Precondition Failed"),
    TooLarge: (413, "Payload Too Large"),
}


def is_extensions_path(path: str) -> bool:
    return path.startswith(EXTENSION_PREFIXES)


def _flows_status(error: StoreError) -> tuple[int, str, str]:
    """(status, title, detail) of a domain error in the flows API's words."""
    if isinstance(error, Invalid):
        return 422, "Failed Validation", error.detail
    if isinstance(error, NotFound):
        return (
            404,
            f"{error.kind.capitalize()} not found",
            (f"The requested {error.kind} could not be found"),
        )
    if isinstance(error, StoreFailure):
        status = 507 if error.kind == "full" else 503
        return status, TITLES[status], error.detail
    status, title = _SIMPLE.get(type(error), (500, TITLES[500]))
    return status, title, error.detail


def _extensions_status(error: StoreError) -> tuple[int, str, str]:
    """(status, title, detail) in Commerce Extensions' words (SPEC Errors)."""
    if isinstance(error, Invalid):
        return 400, "Bad Request", error.detail
    if isinstance(error, NotFound):
        return 404, "Not Found", error.detail
    if isinstance(error, TooLarge):
        return 413, "Request Entity Too Large", error.detail
    return _flows_status(error)


def error_answer(error: StoreError | Problem, path: str) -> Response:
    """The answer to a request at `path` that raised `error`."""
    if isinstance(error, Problem):
        status, title, detail = error.status, error.title, error.detail
    elif is_extensions_path(path):
        status, title, detail = _extensions_status(error)
    else:
        status, title, detail = _flows_status(error)
    return error_response(status, detail, title, path=path)
