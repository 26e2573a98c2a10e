"""Commerce Extensions' lists: paging and sorting (SPEC PageLimit, PageOffset, *Sort).

Lists are filtered and sorted in memory, then one page of them is rendered with `links` and
`meta` (SPEC PaginationMeta, PaginationLinks).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from provisioner.epcc import custom_apis as facts
from provisioner.localstore.extensions_storage import Record, bad_request
from provisioner.localstore.http_io import base_url
from provisioner.localstore.problems import json_response

INTEGER_RE = re.compile(r"-?[0-9]+")

# ------------------------------------------------------------------------------------ lists


@dataclass(frozen=True)
class Page:
    limit: int
    offset: int
    total_method: str | None  # entries only (SPEC PageTotalMethod)


def page_of(request: Request, *, entries: bool = False) -> Page:
    """SPEC PageLimit (0.., at most 100 served) and PageOffset (0..10,000)."""
    params = request.query_params
    values = {}
    for name in ("page[limit]", "page[offset]"):
        text = params.get(name)
        if text and not INTEGER_RE.fullmatch(text):
            raise bad_request(f"{name} must be an integer.")
        values[name] = None if not text else int(text)
    limit = values["page[limit]"]
    offset = values["page[offset]"] or 0
    if limit is None:
        limit = facts.DEFAULT_PAGE_LIMIT
    if limit < 0:
        raise bad_request("page[limit] must be at least 0.")
    if not 0 <= offset <= facts.MAX_PAGE_OFFSET:
        raise bad_request(f"page[offset] must be between 0 and {facts.MAX_PAGE_OFFSET}.")
    total_method = None
    if entries:
        total_method = params.get("page[total_method]") or "lower_bound"
        if total_method not in facts.TOTAL_METHODS:
            raise bad_request(
                f"page[total_method] must be one of {', '.join(facts.TOTAL_METHODS)}."
            )
        timeout = params.get("timeout")
        if timeout is not None and (
            not INTEGER_RE.fullmatch(timeout) or not 1 <= int(timeout) <= 20000
        ):
            raise bad_request("timeout must be an integer from 1 to 20000 (milliseconds).")
    return Page(min(limit, facts.MAX_PAGE_LIMIT), offset, total_method)


def render_page(request: Request, items: Sequence[Any], page: Page) -> Response:
    """`data`, `links` and `meta` (SPEC PaginationMeta, PaginationLinks) for one page."""
    total = len(items)
    limit, offset = page.limit, page.offset
    shown = list(items[offset : offset + limit])
    method = "exact"
    reported = total
    if page.total_method == "observed":
        method = "observed"
        reported = offset + len(shown) + (1 if offset + limit < total else 0)
    elif page.total_method == "lower_bound" and total > facts.LOWER_BOUND_COUNT:
        method, reported = "lower_bound", facts.LOWER_BOUND_COUNT
    pages = math.ceil(total / limit) if limit and total else 0
    others = [(k, v) for k, v in request.query_params.multi_items() if not k.startswith("page[")]
    if page.total_method is not None and "page[total_method]" in request.query_params:
        others.append(("page[total_method]", page.total_method))

    def link(at: int) -> str:
        query = urlencode(
            [*others, ("page[offset]", str(at)), ("page[limit]", str(limit))], safe="(),:*@"
        )
        return f"{base_url(request)}{request.url.path}?{query}"

    last = max(0, (pages - 1) * limit)
    links = {
        "current": link(offset),
        "first": link(0),
        "last": link(last) if pages > 1 else None,
        "next": link(offset + limit) if limit and offset + limit < total else None,
        "prev": link(max(0, offset - limit)) if offset > 0 else None,
    }
    meta = {
        "page": {
            "limit": limit,
            "offset": offset,
            "current": offset // limit + 1 if limit else 1,
            "total": pages,
        },
        "results": {"total": reported, "total_method": method},
    }
    return json_response({"data": shown, "links": links, "meta": meta})


def sort_records(
    records: list[Record], sort: str | None, allowed: frozenset[str], *, nullable: bool = False
) -> list[Record]:
    """SPEC *Sort: an attribute, `-` for descending; default `-created_at` (ties: creation)."""
    sort = sort or facts.DEFAULT_SORT
    if nullable and sort == "null":
        return records
    name = sort[1:] if sort.startswith("-") else sort
    if name not in allowed:
        raise bad_request(f"Cannot sort by {sort!r}; sortable: {', '.join(sorted(allowed))}")
    indexed = list(enumerate(records))
    indexed.sort(key=lambda pair: (pair[1].get(name) or "", pair[0]), reverse=sort.startswith("-"))
    return [record for _, record in indexed]
