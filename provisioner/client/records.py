"""Reading (and writing) the records of a flow with their field values (issue 15).

A custom flow's records are its entries (`GET /v2/flows/{slug}/entries`, epcc-api.md §5.1); a
core flow's are the core resource's objects, which carry the flow's fields flat (§5.3):
`customers` is read through `GET /v2/customers` (§6, oldest first, `sort=created_at`, so a
customer created during the read lands on the last page). Other core flows are not read
(`provisioner.records.RECORD_PATHS`).

- `read_records(client, flow_slug, budget=None)` -> `RecordScan`: pages of 100, the first
  alone (it says `meta.results.total`), then the rest concurrently within the client's pace,
  at most `budget` GET requests in all; records beyond the budget are not read and the scan
  says so (`complete`, `stopped`). Past the documented `page[offset]` maximum (§2.2) the
  customers are read in `id` order instead (`sort=id`, `filter=gt(id,LAST)`, the guide's
  pattern), one page after the other; entries, which document no filter, stop there.
- `count_records(client, flow_slug)` -> int | None: one `page[limit]=1` request.
- `update_record(client, flow_slug, record_id, values)`: a partial PUT of field values.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from provisioner.client.domain import Client, segment
from provisioner.client.paging import PAGE_LIMIT
from provisioner.client.responses import JsonObject, int_at, json_body, malformed
from provisioner.records import RECORD_PATHS, RecordScan, readable_flow

__all__ = ["count_records", "read_records", "records_path", "update_record"]

# Core resources are read oldest first (§6 allows `sort`; the default is newest first, which
# would shift every page when a record is created during the read).
_SORTS: Mapping[str, str] = {"customers": "created_at"}
# Lists that can be read past the page[offset] maximum by sorting on `id` and filtering
# `gt(id,LAST)` (the pattern the pagination guide gives, §2.2; customers filter on id, §2.3).
_KEYSET = frozenset({"customers"})


def records_path(flow_slug: str) -> str | None:
    """The list path of a flow's records; None for a core flow provisioner does not read."""
    if not readable_flow(flow_slug):
        return None
    return RECORD_PATHS.get(flow_slug) or f"/v2/flows/{segment(flow_slug)}/entries"


def _query(flow_slug: str, limit: int, offset: int) -> dict[str, str]:
    query = {"page[limit]": str(limit), "page[offset]": str(offset)}
    sort = _SORTS.get(flow_slug)
    if sort is not None:
        query["sort"] = sort
    return query


async def _page(
    client: Client, path: str, query: Mapping[str, str]
) -> tuple[list[JsonObject], Mapping[str, Any] | None]:
    response = await client._request("GET", path, params=query)
    body = json_body("GET", path, response)
    data = body.get("data")
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise malformed("GET", path, response.status_code, "`data` is not a list of objects")
    meta = body.get("meta")
    return data, meta if isinstance(meta, Mapping) else None


def _path_of(flow_slug: str) -> str:
    path = records_path(flow_slug)
    if path is None:
        raise ValueError(f"the records of the core flow {flow_slug!r} are not read")
    return path


async def count_records(client: Client, flow_slug: str) -> int | None:
    """How many records the flow holds: one `page[limit]=1` read of `meta.results.total`;
    None when the store does not say (an unpaginated reply, §0)."""
    path = _path_of(flow_slug)
    _, meta = await _page(client, path, _query(flow_slug, 1, 0))
    if meta is None:
        return None
    return int_at(meta, "results", "total")


async def read_records(
    client: Client, flow_slug: str, *, budget: int | None = None, page_limit: int = PAGE_LIMIT
) -> RecordScan:
    """The records of a flow with their field values, read within `budget` GET requests.

    The first page gives the total; the other pages are then requested concurrently (paced
    like every request of the client). Without a total, pages follow one another until one
    comes back short or empty. A budget of N reads at most N pages (N >= 1); `None` reads
    all. Records are kept in the store's order, each id once.
    """
    if budget is not None and budget < 1:
        raise ValueError("the request budget must be at least 1")
    path = _path_of(flow_slug)
    first, meta = await _page(client, path, _query(flow_slug, page_limit, 0))
    requests = 1
    if meta is None:  # an unpaginated reply is the whole list (§0)
        return RecordScan(flow_slug, tuple(_unique([first])), None, 1, True)
    total = int_at(meta, "results", "total")
    size = int_at(meta, "page", "limit") or page_limit
    if 0 < len(first) < size and (total is None or len(first) < total):
        size = len(first)  # the server's page is smaller than it says
    if total is None:
        return await _read_in_sequence(client, flow_slug, path, first, size, budget)
    offsets = list(range(size, total, size)) if first else []
    stopped = None
    reachable = [offset for offset in offsets if offset <= client.max_page_offset]
    if len(reachable) < len(offsets) and flow_slug in _KEYSET:
        return await _read_by_id(client, flow_slug, path, total, size, budget)
    if len(reachable) < len(offsets):
        stopped = "offset limit"
    if budget is not None and len(reachable) > budget - 1:
        reachable = reachable[: budget - 1]
        stopped = "budget"
    pages = await asyncio.gather(
        *(_page(client, path, _query(flow_slug, size, offset)) for offset in reachable)
    )
    requests += len(reachable)
    records = _unique([first, *(page for page, _ in pages)])
    complete = stopped is None and len(records) >= total
    return RecordScan(flow_slug, tuple(records), total, requests, complete, stopped)


async def _read_in_sequence(
    client: Client,
    flow_slug: str,
    path: str,
    first: list[JsonObject],
    size: int,
    budget: int | None,
) -> RecordScan:
    """Pages one after the other, for a store that gives no total."""
    pages, page, offset, requests = [first], first, 0, 1
    while page and len(page) >= size:
        offset += len(page)
        if offset > client.max_page_offset:
            return RecordScan(
                flow_slug, tuple(_unique(pages)), None, requests, False, "offset limit"
            )
        if budget is not None and requests >= budget:
            return RecordScan(flow_slug, tuple(_unique(pages)), None, requests, False, "budget")
        page, _ = await _page(client, path, _query(flow_slug, size, offset))
        requests += 1
        pages.append(page)
    return RecordScan(flow_slug, tuple(_unique(pages)), None, requests, True)


async def _read_by_id(
    client: Client, flow_slug: str, path: str, total: int, size: int, budget: int | None
) -> RecordScan:
    """A list too long for page offsets, read again in `id` order, each page the records
    after the last id read (`sort=id`, `filter=gt(id,LAST)`); one after the other. The first
    request (by offset, which gave the total) counts in `requests`."""
    pages: list[list[JsonObject]] = []
    requests, last = 1, None
    stopped: str | None = None
    while True:
        if budget is not None and requests >= budget:
            stopped = "budget"
            break
        query = {"page[limit]": str(size), "page[offset]": "0", "sort": "id"}
        if last is not None:
            query["filter"] = f"gt(id,{last})"
        page, _ = await _page(client, path, query)
        requests += 1
        pages.append(page)
        ids = [record.get("id") for record in page]
        if len(page) < size or not isinstance(ids[-1], str) or ids[-1] == last:
            break
        last = ids[-1]
    records = tuple(_unique(pages))
    complete = stopped is None and len(records) >= total
    return RecordScan(flow_slug, records, total, requests, complete, stopped)


def _unique(pages: list[list[JsonObject]]) -> list[JsonObject]:
    seen: set[str] = set()
    records: list[JsonObject] = []
    for page in pages:
        for record in page:
            key = record.get("id")
            if isinstance(key, str):
                if key in seen:
                    continue
                seen.add(key)
            records.append(record)
    return records


async def update_record(
    client: Client, flow_slug: str, record_id: str, values: Mapping[str, Any]
) -> JsonObject:
    """Set field values of one record (a partial PUT, §5.1 / §5.3); a value of None clears."""
    path = _path_of(flow_slug)
    kind = "customer" if flow_slug == "customers" else "entry"
    return await client._update(f"{path}/{segment(record_id)}", kind, record_id, values)
