"""Rendering the flows API's objects: flows, fields, entries, customers and list pages.

Every object is the legacy JSON:API envelope (2.1) with `links` and `meta`; lists carry the
paging links and counts of 2.2.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from provisioner.localstore.http_io import base_url
from provisioner.localstore.problems import json_response
from provisioner.localstore.storage import Record


def meta(record: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "owner": record.get("owner", "store"),
        "timestamps": {"created_at": record["created_at"], "updated_at": record["updated_at"]},
    }


# The attributes of a flow (3.3) and of a field (4.3, every key present even when null), in
# the order they are rendered.
FLOW_KEYS = ("name", "slug", "description", "enabled")
FIELD_KEYS = ("field_type", "slug", "name", "description", "required", "unique", "default",
              "enabled", "order", "omit_null", "validation_rules")  # fmt: skip


def render_flow(request: Request, flow: Record) -> dict[str, Any]:
    """3.3: the flow object."""
    return {
        "id": flow["id"],
        "type": "flow",
        **{key: flow[key] for key in FLOW_KEYS},
        "links": {"self": f"{base_url(request)}/v2/flows/{flow['id']}"},
        "relationships": {},
        "meta": meta(flow),
    }


def render_field(request: Request, field: Record) -> dict[str, Any]:
    """4.3: the field object, every key present even when null."""
    return {
        "id": field["id"],
        "type": "field",
        **{key: field[key] for key in FIELD_KEYS},
        "links": {"self": f"{base_url(request)}/v2/flows/{field['flow_id']}/fields/{field['id']}"},
        "relationships": {"flow": {"data": {"type": "flow", "id": field["flow_id"]}}},
        "meta": meta(field),
    }


def shown_fields(fields: list[Record]) -> list[Record]:
    """4.9: enabled fields only, in `order` (unordered last), then creation order."""
    enabled = [field for field in fields if field["enabled"]]
    return sorted(enabled, key=lambda f: (f["order"] is None, f["order"] or 0))


def custom_data(fields: list[Record], values: Mapping[str, Any]) -> dict[str, Any]:
    """Custom values flat by slug; unset is null unless `omit_null` (4.9)."""
    data: dict[str, Any] = {}
    for field in shown_fields(fields):
        if field["field_type"] == "relationship":
            continue
        value = values.get(field["id"])
        if value is None and field["omit_null"]:
            continue
        data[field["slug"]] = value
    return data


def relationships_of(fields: list[Record], values: Mapping[str, Any]) -> dict[str, Any]:
    """5.1: relationship fields under `relationships.<slug>.data`."""
    result: dict[str, Any] = {}
    for field in shown_fields(fields):
        if field["field_type"] != "relationship":
            continue
        items = values.get(field["id"]) or []
        kinds = {rule.get("type") for rule in field["validation_rules"] or []}
        if "one-to-one" in kinds:
            result[field["slug"]] = {"data": items[0] if items else None}
        else:
            result[field["slug"]] = {"data": items}
    return result


def render_entry(
    request: Request,
    flow: Record,
    fields: list[Record],
    entry: Record,
    *,
    relationships: bool = True,
) -> dict[str, Any]:
    """5.1: the entry object: custom values flat, relationships apart. A core resource's
    custom data read as an entry of its flow (section 0) shows no relationships."""
    body: dict[str, Any] = {"id": entry["id"], "type": "entry"}
    body.update(custom_data(fields, entry["values"]))
    related = relationships_of(fields, entry["values"]) if relationships else {}
    if related:
        body["relationships"] = related
    body["links"] = {"self": f"{base_url(request)}/v2/flows/{flow['slug']}/entries/{entry['id']}"}
    body["meta"] = meta(entry)
    return body


def render_customer(request: Request, fields: list[Record], customer: Record) -> dict[str, Any]:
    """6 and 5.3: the customer with the `customers` flow's fields flat in `data`."""
    body: dict[str, Any] = {
        "type": "customer",
        "id": customer["id"],
        "name": customer["name"],
        "email": customer["email"],
        "external_ref": customer["external_ref"],
        "password": customer["password"],  # a boolean: the password itself never leaves
    }
    body.update(custom_data(fields, customer["values"]))
    body["links"] = {"self": f"{base_url(request)}/v2/customers/{customer['id']}"}
    body["meta"] = meta(customer)
    return body


def render_list(
    request: Request, items: list[dict[str, Any]], total: int, limit: int, offset: int
) -> Response:
    """2.2: `data`, `links` (current/first/last/prev/next) and `meta.page`/`meta.results`."""
    pages = math.ceil(total / limit) if total else 0
    last_offset = max(0, (pages - 1) * limit)
    others = [(k, v) for k, v in request.query_params.multi_items() if not k.startswith("page[")]

    def link(at: int | None) -> str | None:
        if at is None:
            return None
        query = urlencode(
            [*others, ("page[limit]", str(limit)), ("page[offset]", str(at))],
            safe="[](),:*@",
        )
        return f"{base_url(request)}{request.url.path}?{query}"

    links = {
        "current": link(offset),
        "first": link(0),
        "last": link(last_offset) if pages > 1 else None,
        "prev": link(max(0, offset - limit)) if offset > 0 else None,
        "next": link(offset + limit) if offset + limit < total else None,
    }
    body = {
        "data": items,
        "links": links,
        "meta": {
            "page": {
                "limit": limit,
                "offset": offset,
                "current": offset // limit + 1,
                "total": pages,
            },
            "results": {"total": total},
        },
    }
    return json_response(body)
