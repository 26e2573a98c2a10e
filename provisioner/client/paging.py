"""Reading whole lists (epcc-api.md §2.2): `PagedSession._list`.

The first page gives `meta.results.total`, the other pages are requested concurrently (within
the pace and the in-flight bound) and the records must add up to the total. A list that
changed meanwhile (its pages report different totals: another writer) is read again, whole;
one that keeps changing or never adds up is `IncompleteListError`. A list reaching past the
`page[offset]` maximum of 10,000 raises `ListTooLongError` up front (the reader then lists per
flow); without a total, pages follow one another until one comes back short, empty or
repeated; a reply without `meta` is the whole list (issue 16).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from provisioner.client.responses import JsonObject, int_at, json_body, malformed, str_at
from provisioner.client.session import Session
from provisioner.errors import IncompleteListError, ListTooLongError

log = logging.getLogger(__name__)

PAGE_LIMIT = 100  # the documented maximum of page[limit] (§2.2)
MAX_PAGES = 10_000  # a runaway guard only, for lists without a total
# A list that changed while it was read (another writer: its pages report different totals)
# is read again, whole, after these pauses; one that keeps changing is IncompleteListError.
REREAD_DELAYS = (0.05, 0.1, 0.2, 0.4)


class PagedSession(Session):
    """A `Session` that reads whole lists."""

    async def _list(self, path: str, params: Mapping[str, str] | None = None) -> list[JsonObject]:
        """Every record of a list (§2.2), ids de-duplicated.

        The first page says how many records there are (`meta.results.total`); the other pages
        are then requested at once, paced by the rate limit and the in-flight bound, and the
        records read must number exactly that total. When they do not and the pages report
        different totals, another writer changed the list while it was read: it is read again,
        whole, after a short pause (`REREAD_DELAYS`); a list that keeps changing, or one whose
        pages agree on a total they do not add up to (the store did not serve every page), is
        `IncompleteListError`: a short list is never returned as if it were whole. A list
        whose last page lies beyond the documented `page[offset]` maximum raises
        `ListTooLongError` before any further page is asked for. Without a total (or with a
        lower bound), pages are read one after the other until one comes back short, empty or
        repeated; without `meta` the reply is the whole list.
        """
        for delay in (*REREAD_DELAYS, None):
            try:
                return await self._list_once(path, params)
            except _ListChanged as changed:
                if delay is None:
                    raise changed.error from None
                log.debug("%s changed while it was read (%s); reading it again", path, changed)
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _list_once(
        self, path: str, params: Mapping[str, str] | None = None
    ) -> list[JsonObject]:
        """One read of a whole list (`_list`); `_ListChanged` when the store changed meanwhile."""
        first, meta = await self._page(path, params, 0)
        if meta is None:
            return first  # an unpaginated reply is the whole list (§2.2, §0)
        total = int_at(meta, "results", "total")
        method = str_at(meta, "results", "total_method")
        if total is None or method not in (None, "exact"):
            return await self._list_in_sequence(path, params, first, meta)
        size = int_at(meta, "page", "limit") or PAGE_LIMIT
        if 0 < len(first) < min(size, total):
            size = len(first)  # the server's page is smaller than it says
        offsets = range(size, total, size) if first else range(0)
        if offsets and offsets[-1] > self.max_page_offset:
            raise ListTooLongError(path, total, self.max_page_offset, size)
        pages = await asyncio.gather(*(self._page(path, params, offset) for offset in offsets))
        items = _unique_by_id([first, *(page for page, _ in pages)])
        if len(items) != total:
            error = IncompleteListError(path, len(items), total)
            totals = {int_at(page_meta, "results", "total") for _, page_meta in pages if page_meta}
            if totals - {total}:
                raise _ListChanged(error)  # the pages disagree: another writer, read again
            raise error
        return items

    async def _list_in_sequence(
        self,
        path: str,
        params: Mapping[str, str] | None,
        first: list[JsonObject],
        meta: Mapping[str, Any],
    ) -> list[JsonObject]:
        """Pages one after the other, for a list without an exact total."""
        unique = _UniqueById()
        page, offset = first, 0
        for _ in range(MAX_PAGES):
            fresh = unique.add(page)
            if page and not fresh:  # the same page again: the server ignores page[offset]
                log.debug("%s does not seem to support pagination", path)
                return unique.items
            limit = int_at(meta, "page", "limit") or PAGE_LIMIT
            offset += len(page)
            if not page or len(page) < limit:
                return unique.items
            if offset > self.max_page_offset:
                raise ListTooLongError(path, None, self.max_page_offset, limit)
            page, next_meta = await self._page(path, params, offset)
            if next_meta is None:
                unique.add(page)
                return unique.items
            meta = next_meta
        raise malformed("GET", path, 200, f"more than {MAX_PAGES} pages")

    async def _page(
        self, path: str, params: Mapping[str, str] | None, offset: int
    ) -> tuple[list[JsonObject], Mapping[str, Any] | None]:
        """One page: its records and its `meta` (None when the reply has none)."""
        query = {**(params or {}), "page[limit]": str(PAGE_LIMIT), "page[offset]": str(offset)}
        response = await self._request("GET", path, params=query)
        body = json_body("GET", path, response)
        data = body.get("data")
        if not isinstance(data, list):
            raise malformed("GET", path, response.status_code, "`data` is not a list")
        if not all(isinstance(item, dict) for item in data):
            raise malformed("GET", path, response.status_code, "a list item is not an object")
        meta = body.get("meta")
        return data, meta if isinstance(meta, Mapping) else None


class _ListChanged(Exception):
    """A read whose pages report different totals: the list changed while it was read."""

    def __init__(self, error: IncompleteListError) -> None:
        super().__init__(str(error))
        self.error = error


class _UniqueById:
    """Records in the order they come, each id once (records without an id all kept)."""

    def __init__(self) -> None:
        self.items: list[JsonObject] = []
        self._seen: set[str] = set()

    def add(self, page: Sequence[JsonObject]) -> int:
        """Add the records of `page` not seen before; how many were new."""
        fresh = 0
        for item in page:
            key = item.get("id")
            if isinstance(key, str):
                if key in self._seen:
                    continue
                self._seen.add(key)
            self.items.append(item)
            fresh += 1
        return fresh


def _unique_by_id(pages: Sequence[Sequence[JsonObject]]) -> list[JsonObject]:
    """The records of `pages` in order, each id once (records without an id all kept)."""
    unique = _UniqueById()
    for page in pages:
        unique.add(page)
    return unique.items
