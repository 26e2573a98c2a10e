"""The local store's error answers: one exception, one body shape.

Handlers raise `Problem(status, title, detail)`; the app turns it into the standard error body
`{"errors": [{"status": <int>, "title": ..., "detail": ...}]}` (epcc-api.md 2.4, section 0).
`status` is an integer, as in the flows spec's `Error` schema.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from starlette.responses import Response

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


def error_body(status: int, title: str, detail: str, request_id: str | None = None) -> Any:
    """The standard error body (2.4); 5xx answers also name the request id, as the real API."""
    error: dict[str, Any] = {"status": status, "title": title, "detail": detail}
    if request_id is not None and status >= 500:
        error["request_id"] = request_id
    return {"errors": [error]}


def error_response(
    status: int,
    detail: str,
    title: str | None = None,
    headers: Mapping[str, str] | None = None,
    request_id: str | None = None,
) -> Response:
    """An error answer with the standard body."""
    body = error_body(status, title or TITLES.get(status, "Error"), detail, request_id)
    return json_response(body, status=status, headers=headers)


def problem_response(problem: Problem) -> Response:
    return error_response(problem.status, problem.detail, problem.title)
