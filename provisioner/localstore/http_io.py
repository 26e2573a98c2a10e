"""Reading a request: the body (size, JSON, content type), paging parameters, the base URL.

What is wrong with the request itself is a `Problem` (400, 413, 415): it is said the same way
whatever the body was meant to be.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from starlette.requests import Request

from provisioner.localstore.problems import Problem

MAX_BODY_BYTES = 20 * 1024 * 1024  # issue 3: bodies over 20 MiB get 413
DEFAULT_PAGE_LIMIT = 25  # 2.2
MAX_PAGE_LIMIT = 100  # 2.2
MAX_PAGE_OFFSET = 10_000  # 2.2: "The maximum records you can offset is 10,000" (400 beyond)
INTEGER_RE = re.compile(r"-?[0-9]+")


async def read_body(request: Request) -> bytes:
    """The raw body, refusing more than 20 MiB (413) before or while reading it."""
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > MAX_BODY_BYTES:
        raise Problem(413, "The request body is larger than 20 MiB.")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise Problem(413, "The request body is larger than 20 MiB.")
        chunks.append(chunk)
    return b"".join(chunks)


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    """JSON has no infinities: `1e400` would come back as `Infinity`, which is not JSON."""
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"{text} is out of range")
    return value


async def read_json(request: Request, *, optional: bool = False) -> Any:
    """The JSON body: 415 unless the content type is JSON, 400 when it does not parse.

    With `optional`, an empty body gives None (DELETE of relationships takes no body).
    """
    body = await read_body(request)
    if not body.strip():
        if optional:
            return None
        raise Problem(400, "The request body is empty; a JSON document is required.")
    kind = media_type(request)
    if kind != "application/json" and not kind.endswith("+json"):
        raise Problem(415, "The request body must be JSON (Content-Type: application/json).")
    try:
        parsed = json.loads(
            body.decode("utf-8"), parse_constant=_reject_constant, parse_float=_finite_float
        )
        # A lone surrogate (`"\ud800"`) parses but is not text: it could be neither stored
        # nor sent back, so it is refused here like any other malformed input.
        json.dumps(parsed, ensure_ascii=False).encode("utf-8")
    except (ValueError, RecursionError) as error:
        raise Problem(400, f"The request body is not valid JSON: {error}") from error
    return parsed


def page_params(request: Request) -> tuple[int, int]:
    """2.2: `page[limit]` (1..100, default 25; larger asks get 100) and `page[offset]` >= 0."""
    params = request.query_params
    limit_text = params.get("page[limit]")
    offset_text = params.get("page[offset]")
    for text in (limit_text, offset_text):
        # int() alone would also take "1_0", " 1" or full-width digits.
        if text and not INTEGER_RE.fullmatch(text):
            raise Problem(400, "page[limit] and page[offset] must be integers.")
    limit = DEFAULT_PAGE_LIMIT if not limit_text else int(limit_text)
    offset = 0 if not offset_text else int(offset_text)
    if limit < 1:
        raise Problem(400, "page[limit] must be at least 1.")
    if not 0 <= offset <= MAX_PAGE_OFFSET:
        raise Problem(400, f"page[offset] must be between 0 and {MAX_PAGE_OFFSET}.")
    return min(limit, MAX_PAGE_LIMIT), offset


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")
