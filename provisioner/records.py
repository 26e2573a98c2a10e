"""The records of a flow as read from a store (issue 15): `RecordScan`, and their field values.

A flow's records are the entries of a custom flow (epcc-api.md §5.1) or, for a core flow, the
core resource's objects (`customers`: §5.3, §6), which carry the flow's field values flat
beside their own attributes. `provisioner.client.records` reads them; this module only says
what was read and where a field's value sits in a record. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from provisioner.epcc.flows import CORE_FLOW_SLUGS

__all__ = [
    "RECORD_PATHS",
    "RecordScan",
    "has_value",
    "readable_flow",
    "record_value",
]

# The core resources whose records provisioner reads, by core flow slug (§6). Other core flows
# (orders, products, ...) extend resources the client does not list: their impact is not
# measured, and says so.
RECORD_PATHS: Mapping[str, str] = {"customers": "/v2/customers"}


def readable_flow(flow_slug: str) -> bool:
    """Whether provisioner can read this flow's records: any custom flow, listed core flows."""
    return flow_slug not in CORE_FLOW_SLUGS or flow_slug in RECORD_PATHS


@dataclass(frozen=True)
class RecordScan:
    """The records of one flow read from a store, page by page, within a request budget.

    - `records`: the API's raw objects in the store's order, each id once;
    - `total`: `meta.results.total` of the first page (None when the store did not say);
    - `requests`: the GET requests the read took;
    - `complete`: every record was read (the pages added up to `total`, or the last came
      back short or empty);
    - `stopped`: why a read is incomplete: `"budget"` (the request budget ran out) or
      `"offset limit"` (records beyond the documented `page[offset]` maximum, §2.2).
    """

    flow_slug: str
    records: tuple[Mapping[str, Any], ...]
    total: int | None
    requests: int
    complete: bool
    stopped: str | None = None

    @property
    def scanned(self) -> int:
        return len(self.records)

    @property
    def known_total(self) -> int:
        """The number of records the flow holds as far as is known: the store's total, or
        what was read."""
        return self.total if self.total is not None else len(self.records)


def record_value(record: Mapping[str, Any], field_slug: str) -> Any:
    """The value a record holds for a field: flat in the object (§5.1, §5.3), or for a
    relationship field the items under `relationships.<slug>.data` (None when it has none)."""
    if field_slug in record:
        return record[field_slug]
    relationships = record.get("relationships")
    if isinstance(relationships, Mapping):
        related = relationships.get(field_slug)
        if isinstance(related, Mapping):
            data = related.get("data")
            return data if data not in (None, []) else None
    return None


def has_value(record: Mapping[str, Any], field_slug: str) -> bool:
    """Whether a record holds a value for the field (null and an empty relationship do not)."""
    return record_value(record, field_slug) is not None
