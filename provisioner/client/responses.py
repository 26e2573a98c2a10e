"""Reading the store's answers: the typed exception of a failed answer, and the JSON:API bodies.

`error_from_response` parses leniently every error body shape seen (epcc-api.md §2.4) into the
typed exceptions of `provisioner.errors`, by status, with every secret redacted.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from http import HTTPStatus
from typing import Any

import httpx

from provisioner.client.redaction import redact
from provisioner.errors import (
    ApiError,
    AuthError,
    ConflictError,
    NotFoundError,
    RateLimitedError,
    ServerError,
    ValidationApiError,
)
from provisioner.storeurl import display_url

JsonObject = dict[str, Any]

_ERROR_TYPES: dict[int, type[ApiError]] = {
    400: ValidationApiError,
    401: AuthError,
    403: AuthError,
    404: NotFoundError,
    409: ConflictError,
    422: ValidationApiError,
    429: RateLimitedError,
}


def _text(value: object) -> str:
    if value is None or isinstance(value, bool):
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, Mapping):  # a JSON:API `source` object, e.g. {"pointer": "/data/x"}
        return ", ".join(_text(v) for v in value.values() if _text(v))
    if isinstance(value, list):
        return "; ".join(_text(v) for v in value if _text(v))
    return str(value)


def _snippet(content: bytes, limit: int = 200) -> str:
    """A short readable excerpt of a body that is not JSON (an HTML error page, say)."""
    text = content.decode("utf-8", errors="replace")
    text = re.sub(r"<[^>]*>", " ", text)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def phrase(status: int) -> str:
    """The standard reason phrase of `status` (`""` for an unknown status)."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


class _ErrorBody:
    """The titles, details and request id gathered from an error body."""

    def __init__(self, request_id: str) -> None:
        self.titles: list[str] = []
        self.details: list[str] = []
        self.request_id = request_id

    def read(self, content: bytes) -> None:
        try:
            body: Any = json.loads(content) if content else None
        except ValueError:
            self.details.append(_snippet(content))
            return
        if isinstance(body, Mapping):
            self._read_object(body)
        elif body is not None and _text(body):
            self.details.append(_snippet(_text(body).encode()))

    def _read_object(self, body: Mapping[str, Any]) -> None:
        errors = body.get("errors", body.get("error"))
        for item in errors if isinstance(errors, list) else [errors]:
            if isinstance(item, Mapping):
                self._read_item(item)
            elif _text(item):
                self.titles.append(_text(item))
        if not self.titles and _text(body.get("title")):
            self.titles.append(_text(body["title"]))
        if not self.details and _text(body.get("detail")):
            self.details.append(_text(body["detail"]))
        if not self.titles and not self.details and _text(body.get("message")):
            self.details.append(_text(body["message"]))
        self.request_id = self.request_id or _text(body.get("request_id"))

    def _read_item(self, item: Mapping[str, Any]) -> None:
        title, detail = _text(item.get("title")), _text(item.get("detail"))
        source = _text(item.get("source"))
        if title:
            self.titles.append(title)
        if detail:
            self.details.append(
                f"{source}: {detail}" if source and source not in detail else detail
            )
        elif source and title:
            self.details.append(f"{source}: {title}")
        self.request_id = self.request_id or _text(item.get("request_id"))

    def detail(self) -> str:
        unique = list(dict.fromkeys(d for d in self.details if d))
        unique += [t for t in self.titles[1:] if t not in unique]
        return "; ".join(unique)


def error_from_response(
    method: str,
    path: str,
    response: httpx.Response,
    *,
    error_type: type[ApiError] | None = None,
    secrets: Iterable[str] = (),
    note: str = "",
) -> ApiError:
    """The typed exception for a failed answer, parsing any error body shape seen (§2.4).

    `errors` may be a list of objects or strings, one object, or a string (the legacy 403
    `{"status": false, "errors": "Forbidden"}`); `status` inside may be an int, a string or
    absent; the 500 body puts `title`/`detail`/`request_id` at the top level. The type follows
    the HTTP status alone.
    """
    status = response.status_code
    parsed = _ErrorBody(response.headers.get("x-moltin-request-id") or "")
    parsed.read(response.content)
    title = parsed.titles[0] if parsed.titles else (response.reason_phrase or phrase(status))
    detail = parsed.detail()
    if note:
        detail = f"{detail} ({note})" if detail else note
    kind = error_type or _ERROR_TYPES.get(status) or (ServerError if status >= 500 else ApiError)
    secrets = tuple(secrets)
    return kind(
        method,
        path,
        status,
        redact(title, secrets),
        redact(detail, secrets),
        redact(parsed.request_id, secrets) or None,
    )


def answer_error(
    method: str,
    path: str,
    response: httpx.Response,
    *,
    token_call: bool,
    secrets: Iterable[str],
    note: str = "",
    credential_hint: str = "EPCC_CLIENT_ID and EPCC_CLIENT_SECRET",
) -> ApiError:
    """The error for a refused answer; the token call's refusals are `AuthError`s with a hint
    naming where the credentials came from (`credential_hint`)."""
    if token_call and response.status_code in (400, 401, 403):
        hint = f"check {credential_hint}"
        note = f"{note}; {hint}" if note else hint
    return error_from_response(
        method,
        path,
        response,
        error_type=AuthError if token_call else None,
        secrets=secrets,
        note=note,
    )


def redirect_error(
    method: str, path: str, response: httpx.Response, secrets: Iterable[str]
) -> ApiError:
    """A 3xx: the API never redirects, so the base URL points at the wrong place."""
    location = response.headers.get("location", "").strip()
    where = ""
    if location:
        target = display_url(str(response.request.url.join(location)))
        where = f" to {target}"
    detail = (
        f"the store redirects{where}: set EPCC_API_BASE_URL to the API root it names "
        "(the API itself never redirects)"
    )
    return ApiError(
        method,
        path,
        response.status_code,
        response.reason_phrase or phrase(response.status_code),
        redact(detail, secrets),
        response.headers.get("x-moltin-request-id") or None,
    )


def malformed(method: str, path: str, status: int, why: str) -> ApiError:
    """An answer whose shape the client cannot use."""
    return ApiError(method, path, status, "Malformed response", why)


def json_body(
    method: str,
    path: str,
    response: httpx.Response,
    *,
    error_type: type[ApiError] = ApiError,
) -> JsonObject:
    """The answer's JSON object, or `error_type` saying it is not one."""
    try:
        body = response.json()
    except ValueError:
        raise error_type(
            method, path, response.status_code, "Malformed response", "the body is not JSON"
        ) from None
    if not isinstance(body, dict):
        raise error_type(
            method, path, response.status_code, "Malformed response", "the body is not an object"
        )
    return body


def data_object(method: str, path: str, response: httpx.Response) -> JsonObject:
    """The answer's `data` object."""
    data = json_body(method, path, response).get("data")
    if not isinstance(data, dict):
        raise malformed(method, path, response.status_code, "`data` is not an object")
    return data


def _at(mapping: Mapping[str, Any], keys: tuple[str, ...]) -> object:
    node: Any = mapping
    for key in keys:
        if not isinstance(node, Mapping):
            return None
        node = node.get(key)
    return node


def str_at(mapping: Mapping[str, Any], *keys: str) -> str | None:
    """The string at `mapping[k1][k2]...`, or None."""
    node = _at(mapping, keys)
    return node if isinstance(node, str) else None


def int_at(mapping: Mapping[str, Any], *keys: str) -> int | None:
    """The whole number (or digit string) at `mapping[k1][k2]...`, or None."""
    node = _at(mapping, keys)
    if isinstance(node, bool):
        return None
    if isinstance(node, int):
        return node
    if isinstance(node, str) and node.strip().isdigit():
        return int(node)
    return None
