"""The flows API's handlers: one shape for flows, fields, entries and customers, plus the token
and stats routes.

Each kind of object is a `Resource`: the `type` its bodies carry, how it is created, read,
updated, deleted and listed (storage calls, with the body checks of `validation`, run in a
worker thread as one transaction), and how it is rendered. `collection` serves
`GET` (a page) and `POST` (create, 201) of any of them; `item` serves `GET`, `PUT` and `DELETE`
(204). What differs (core flows' entries, relationships) is said where it differs.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import Response

from provisioner.epcc.flows import CORE_FLOW_SLUGS
from provisioner.localstore import validation
from provisioner.localstore.auth import same
from provisioner.localstore.context import context, run, serve_item
from provisioner.localstore.errors import NotAllowed, NotFound, StoreError
from provisioner.localstore.http_io import media_type, page_params, read_body, read_json
from provisioner.localstore.problems import Problem, json_response
from provisioner.localstore.render import (
    render_customer,
    render_entry,
    render_field,
    render_flow,
    render_list,
)
from provisioner.localstore.storage import CUSTOMER_FILTERS, CUSTOMER_SORTS, Storage

Handler = Callable[[Request], Awaitable[Response]]
Params = Mapping[str, str]  # the route's path parameters
Data = dict[str, Any]  # the body's `data`


@dataclass(frozen=True)
class Resource:
    """One kind of object: its body `type`, its id's path parameter, its storage and rendering.

    The storage callables take the path parameters (and the body's `data`) and run in a worker
    thread; `render` turns what they return into the API's object.
    """

    type_name: str
    id_param: str
    render: Callable[[Request, Any], dict[str, Any]]
    create: Callable[[Storage, Params, Data], Any]
    update: Callable[[Storage, Params, Data], Any]
    get: Callable[[Storage, Params], Any]
    delete: Callable[[Storage, Params], None]
    page: Callable[[Storage, Params, Params, int, int], tuple[list[Any], int]]  # + the query


async def collection(request: Request, resource: Resource) -> Response:
    """`GET` a page of the objects, or `POST` one (201)."""
    storage, params = context(request).storage, request.path_params
    if request.method == "POST":
        data = validation.data_object(await read_json(request), resource.type_name)
        created = await run(resource.create, storage, params, data)
        return json_response({"data": resource.render(request, created)}, status=201)
    limit, offset = page_params(request)
    query = request.query_params
    found, total = await run(resource.page, storage, params, query, limit, offset)
    items = [resource.render(request, one) for one in found]
    return render_list(request, items, total, limit, offset)


async def item(request: Request, resource: Resource) -> Response:
    """`GET`, `PUT` (a PUT may repeat the id: 3.5, 5.1) or `DELETE` (204) one object."""
    storage, params = context(request).storage, request.path_params

    async def update() -> Any:
        data = validation.data_object(await read_json(request), resource.type_name)
        validation.check_path_id(data, params[resource.id_param])
        return await run(resource.update, storage, params, data)

    delete, get = partial(resource.delete, storage, params), partial(resource.get, storage, params)
    return await serve_item(request, update, delete, get, resource.render)


def collection_endpoint(resource: Resource) -> Handler:
    async def endpoint(request: Request) -> Response:
        return await collection(request, resource)

    return endpoint


def item_endpoint(resource: Resource) -> Handler:
    async def endpoint(request: Request) -> Response:
        return await item(request, resource)

    return endpoint


# ------------------------------------------------------------------------------ flows, fields


def _create_field(storage: Storage, params: Params, data: Data) -> Any:
    attrs = validation.field_attributes(data, create=True)
    flow_id = validation.flow_relationship(data)
    if flow_id is None:
        raise validation.failed("data.relationships.flow is required: name the flow.")
    return storage.create_field(flow_id, attrs)


def _update_field(storage: Storage, params: Params, data: Data) -> Any:
    attrs = validation.field_attributes(data, create=False)
    flow_id = validation.flow_relationship(data)
    return storage.update_field(params["field_id"], flow_id, attrs)


FLOWS = Resource(
    type_name="flow",
    id_param="flow_id",
    render=render_flow,
    create=lambda s, p, data: s.create_flow(validation.flow_attributes(data, create=True)),
    update=lambda s, p, data: s.update_flow(
        p["flow_id"], validation.flow_attributes(data, create=False)
    ),
    get=lambda s, p: s.get_flow(p["flow_id"]),
    delete=lambda s, p: s.delete_flow(p["flow_id"]),
    page=lambda s, p, q, limit, offset: s.list_flows(limit, offset),
)
FIELDS = Resource(
    type_name="field",
    id_param="field_id",
    render=render_field,
    create=_create_field,
    update=_update_field,
    get=lambda s, p: s.get_field(p["field_id"]),
    delete=lambda s, p: s.delete_field(p["field_id"]),
    # 4.1: `GET /v2/flows/{slug}/fields` takes the flow's slug.
    page=lambda s, p, q, limit, offset: s.list_fields(limit, offset, p.get("flow_slug")),
)


# ------------------------------------------------------------------------------------- entries


def _entry_page(storage: Storage, params: Params, query: Params, limit: int, offset: int) -> Any:
    flow, fields, entries, total = storage.list_entries(params["flow_slug"], limit, offset)
    return [(flow, fields, entry) for entry in entries], total


def _create_entry(storage: Storage, params: Params, data: Data) -> Any:
    return storage.write_entry(
        params["flow_slug"], entry_id_of(data), data, validation.custom_values, create=True
    )


ENTRIES = Resource(
    type_name="entry",
    id_param="entry_id",
    render=lambda request, found: render_entry(request, *found),
    create=_create_entry,
    update=lambda s, p, data: s.write_entry(
        p["flow_slug"], p["entry_id"], data, validation.custom_values, create=False
    ),
    get=lambda s, p: s.get_entry(p["flow_slug"], p["entry_id"]),
    delete=lambda s, p: s.delete_entry(p["flow_slug"], p["entry_id"]),
    page=_entry_page,
)


def entry_id_of(data: Mapping[str, Any]) -> str | None:
    """5.1: a create may choose the entry's id (PXM templates use the product id)."""
    if "id" not in data:
        return None
    entry_id = data["id"]
    if not isinstance(entry_id, str) or not validation.is_uuid(entry_id):
        raise validation.failed("data.id must be a UUID.")
    return entry_id


def core_entries_are_managed(slug: str) -> NotAllowed:
    """3.4: "Entries for core flows are managed automatically" - not through /entries."""
    return NotAllowed(
        f'Entries of the core flow "{slug}" are managed through its resource, not /entries.'
    )


async def entries_endpoint(request: Request) -> Response:
    storage, slug = context(request).storage, request.path_params["flow_slug"]
    if request.method == "POST":
        flow = await run(storage.get_flow_by_slug, slug)
        if flow["slug"] in CORE_FLOW_SLUGS:
            raise core_entries_are_managed(slug)
    elif slug in CORE_FLOW_SLUGS:
        return await core_entries(request, slug)
    return await collection(request, ENTRIES)


async def core_entries(request: Request, slug: str) -> Response:
    """Section 0: a core flow's entries are its resources' custom data (customers only here)."""
    storage = context(request).storage
    limit, offset = page_params(request)
    flow = await run(storage.get_flow_by_slug, slug)
    items: list[dict[str, Any]] = []
    total = 0
    if slug == "customers":
        fields, customers, total = await run(
            storage.list_customers, [], "created_at", limit, offset
        )
        items = [render_entry(request, flow, fields, c, relationships=False) for c in customers]
    return render_list(request, items, total, limit, offset)


async def entry_endpoint(request: Request) -> Response:
    slug = request.path_params["flow_slug"]
    if slug not in CORE_FLOW_SLUGS:
        return await item(request, ENTRIES)
    storage = context(request).storage
    flow = await run(storage.get_flow_by_slug, slug)
    if request.method != "GET":
        raise core_entries_are_managed(slug)
    if slug != "customers":
        raise NotFound("entry")
    try:
        fields, customer = await run(storage.get_customer, request.path_params["entry_id"])
    except StoreError as error:
        raise NotFound("entry") from error
    core = render_entry(request, flow, fields, customer, relationships=False)
    return json_response({"data": core})


async def relationships_endpoint(request: Request) -> Response:
    """5.2: POST adds, PUT replaces, DELETE clears (or removes the items it names)."""
    storage, params = context(request).storage, request.path_params
    slug = params["flow_slug"]
    if slug in CORE_FLOW_SLUGS:
        await run(storage.get_flow_by_slug, slug)
        raise core_entries_are_managed(slug)
    body = await read_json(request, optional=request.method == "DELETE")
    items = None if body is None else validation.relationship_items(body)
    mode = {"POST": "add", "PUT": "replace", "DELETE": "remove"}[request.method]
    current = await run(
        storage.change_relationships,
        slug,
        params["entry_id"],
        params["field_slug"],
        items,
        mode,
    )
    if request.method == "DELETE":
        return Response(status_code=204)
    # The flows spec answers 201 to both POST and PUT (5.2 notes the markdown's 200 for PUT).
    return json_response({"data": current}, status=201)


# ----------------------------------------------------------------------------------- customers


def _write_customer(storage: Storage, customer_id: str | None, data: Data) -> Any:
    attrs = validation.customer_attributes(data, create=customer_id is None)
    return storage.write_customer(customer_id, attrs, data, validation.custom_values)


FILTER_RE = re.compile(r'([a-z]+)\(([a-z_]+),("(?:[^"\\]|\\.)*"|[^)]*)\)')
MAX_FILTERS = 10  # 2.3


def parse_filter(text: str) -> list[tuple[str, str, str]]:
    """2.3: `op(attribute,value)` joined by `:`; 400 "Could not parse the supplied filter"."""
    result: list[tuple[str, str, str]] = []
    position = 0
    while True:
        match = FILTER_RE.match(text, position)
        if match is None:
            raise Problem(400, "Could not parse the supplied filter")
        op, attribute, value = match.groups()
        if value.startswith('"') and value.endswith('"') and len(value) >= 2:
            value = value[1:-1].replace('\\"', '"')
        if op not in CUSTOMER_FILTERS.get(attribute, frozenset()):
            raise Problem(400, f"Filtering customers with {op}({attribute},...) is not supported")
        result.append((op, attribute, value))
        position = match.end()
        if position == len(text):
            break
        if text[position] != ":":
            raise Problem(400, "Could not parse the supplied filter")
        position += 1
    if len(result) > MAX_FILTERS:
        raise Problem(400, f"At most {MAX_FILTERS} filters are supported")
    return result


def _customer_page(storage: Storage, query: Params, limit: int, offset: int) -> Any:
    """A page of customers, filtered (2.3) and sorted (newest first by default, 6)."""
    text = query.get("filter")
    filters = parse_filter(text) if text else []
    sort = query.get("sort") or "-created_at"
    if sort.removeprefix("-") not in CUSTOMER_SORTS:
        raise Problem(400, f"Customers cannot be sorted by {sort!r}")
    fields, customers, total = storage.list_customers(filters, sort, limit, offset)
    return [(fields, customer) for customer in customers], total


CUSTOMERS = Resource(
    type_name="customer",
    id_param="customer_id",
    render=lambda request, found: render_customer(request, *found),
    create=lambda s, p, data: _write_customer(s, None, data),
    update=lambda s, p, data: _write_customer(s, p["customer_id"], data),
    get=lambda s, p: s.get_customer(p["customer_id"]),
    delete=lambda s, p: s.delete_customer(p["customer_id"]),
    page=lambda s, p, q, limit, offset: _customer_page(s, q, limit, offset),
)


# ------------------------------------------------------------------------------ token, stats


async def token_endpoint(request: Request) -> Response:
    """1.1/1.2/8.1: form-encoded client_credentials or implicit grant."""
    ctx = context(request)
    body = await read_body(request)
    if media_type(request) != "application/x-www-form-urlencoded":
        raise Problem(
            415, "The token request must be form-encoded (application/x-www-form-urlencoded)."
        )
    try:
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8")).items()}
    except UnicodeDecodeError as error:
        raise Problem(400, "The token request is not valid form data.") from error
    grant_type = form.get("grant_type")
    if grant_type not in ("client_credentials", "implicit"):
        raise Problem(400, "grant_type must be client_credentials or implicit.")
    if not form.get("client_id"):
        raise Problem(400, "client_id is required.")
    valid = same(form.get("client_id"), ctx.client_id)
    if grant_type == "client_credentials":
        if not form.get("client_secret"):
            raise Problem(400, "client_secret is required for client_credentials.")
        valid = valid and same(form.get("client_secret"), ctx.client_secret)
    if not valid:
        raise Problem(401, "Unauthorized", "Unauthorized")
    token = await run(ctx.tokens.issue, grant_type)
    return json_response(token, headers={"Cache-Control": "no-store"})


async def stats_endpoint(request: Request) -> Response:
    """Requests served by method, route pattern and status (interface 2)."""
    ctx = context(request)
    if request.method == "DELETE":
        ctx.stats.clear()
        return Response(status_code=204)
    requests = [
        {"method": method, "route": route, "status": status, "count": count}
        for (method, route, status), count in sorted(ctx.stats.items())
    ]
    return json_response({"data": {"total": sum(ctx.stats.values()), "requests": requests}})
