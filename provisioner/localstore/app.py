"""The local store's HTTP API: starlette routes over `Storage`, plus the knobs and stats.

`create_app(db_path, settings)` builds one store. Every request passes `StoreMiddleware` first:
it stamps `X-Moltin-Request-Id` (2.6), applies the fault knobs (latency, rate limit, injected
failures, lost answers), checks the bearer token for `/v2` routes (8.2, 8.3), turns any
unexpected exception into a 500 with the error body, and counts the answer for the stats route.
Handlers parse and check the request, run one storage transaction in a worker thread, and
render the legacy JSON:API envelope (2.1) with `links` and `meta`.

Knob exemptions (a choice, documented in README "The local store"):
- `GET/DELETE /v2/local-store/stats` is exempt from every knob and never counted, so tests can
  rely on it.
- `POST /oauth/access_token` is subject to latency and the rate limit, like every request to the
  real API (2.5), but never to injected failures or lost answers: it changes nothing in the
  store, and keeping it reliable makes `fail_rate` a statement about API calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import re
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from provisioner.epcc.flows import CORE_FLOW_SLUGS
from provisioner.localstore import validation
from provisioner.localstore.auth import Tokens, ensure_credentials, same
from provisioner.localstore.errors import NotAllowed, NotFound, StoreError
from provisioner.localstore.faults import Faults, LostWrite
from provisioner.localstore.problems import (
    Problem,
    error_answer,
    error_response,
    json_response,
)
from provisioner.localstore.settings import DEFAULT_SETTINGS, StoreSettings
from provisioner.localstore.storage import (
    CUSTOMER_FILTERS,
    CUSTOMER_SORTS,
    Record,
    Storage,
)

log = logging.getLogger(__name__)

TOKEN_ROUTE = "/oauth/access_token"
STATS_ROUTE = "/v2/local-store/stats"
MAX_BODY_BYTES = 20 * 1024 * 1024  # issue 3: bodies over 20 MiB get 413
DEFAULT_PAGE_LIMIT = 25  # 2.2
MAX_PAGE_LIMIT = 100  # 2.2
MAX_PAGE_OFFSET = 10_000  # 2.2: "The maximum records you can offset is 10,000" (400 beyond)
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
UNMATCHED_ROUTE = "(unmatched)"
INTEGER_RE = re.compile(r"-?[0-9]+")


class StoreContext:
    """Everything one store's handlers and middleware share."""

    def __init__(self, db_path: str | Path, settings: StoreSettings) -> None:
        self.settings = settings
        self.storage = Storage(db_path)
        credentials = ensure_credentials(self.storage, settings.client_id, settings.client_secret)
        self.client_id = credentials.client_id
        self.client_secret = credentials.client_secret
        self.tokens = Tokens(self.storage, settings.token_ttl, credentials.client_secret)
        self.faults = Faults(settings)
        self.stats: Counter[tuple[str, str, int]] = Counter()
        self.routes: list[BaseRoute] = []

    def route_of(self, scope: Scope) -> str | None:
        """The path pattern a request matches (a PARTIAL match: the method is wrong)."""
        partial = None
        for route in self.routes:
            match, _ = route.matches(scope)
            if match is Match.FULL:
                return getattr(route, "path", None)
            if match is Match.PARTIAL and partial is None:
                partial = getattr(route, "path", None)
        return partial


def context(request: Request) -> StoreContext:
    ctx: StoreContext = request.app.state.store
    return ctx


# ------------------------------------------------------------------------------- middleware


class StoreMiddleware:
    """Request id, knobs, authentication, last-resort error answers and stats."""

    def __init__(self, app: ASGIApp, ctx: StoreContext) -> None:
        self.app = app
        self.ctx = ctx

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        ctx, faults = self.ctx, self.ctx.faults
        request_id = str(uuid.uuid4())
        method, path = scope["method"], scope["path"]
        route = ctx.route_of(scope)
        exempt = route == STATS_ROUTE
        messages: list[Message] = []

        async def capture(message: Message) -> None:
            messages.append(message)

        response: Response | None = None
        lose = False
        if not exempt:
            if faults.latency_seconds:
                await asyncio.sleep(faults.latency_seconds)
            if faults.rate_limited():
                response = error_response(
                    429, "Rate limit exceeded", headers=faults.retry_after_header()
                )
            elif route != TOKEN_ROUTE and (status := faults.injected_failure()) is not None:
                headers = faults.retry_after_header() if status == 429 else None
                response = error_response(
                    status,
                    "Injected failure (local store fail_rate)",
                    headers=headers,
                    request_id=request_id,
                )
        if response is None and path.startswith("/v2"):
            response = self.authenticate(scope, method, path)
        if response is None:
            lose = (
                method in WRITE_METHODS
                and path.startswith("/v2")
                and not exempt
                and faults.lose_answer()
            )
            try:
                await self.app(scope, receive, capture)
            except ClientDisconnect:
                # The client went away mid-body (e.g. a killed apply): nobody to answer, and
                # nothing was written (the body is read before any transaction starts).
                log.debug("local store: client disconnected during %s %s", method, path)
                return
            except Exception:
                log.exception("local store: unexpected error on %s %s", method, path)
                messages.clear()
                response = error_response(
                    500,
                    "There was an internal server error, you can report with your request id.",
                    request_id=request_id,
                )
                lose = False
        if response is not None:
            await response(scope, receive, capture)

        start = messages[0]
        start["headers"] = [
            *start.get("headers", []),
            (b"x-moltin-request-id", request_id.encode("ascii")),
        ]
        status = int(start["status"])
        if not exempt:
            ctx.stats[(method, route or UNMATCHED_ROUTE, status)] += 1
        if lose and 200 <= status < 300:
            # The write is committed; send the status line and drop the connection before the
            # body, so the client never sees a complete answer (issue 3: lost writes).
            if status == 204:
                # A 204 is complete with its status line, so none is sent. ASGI cannot close a
                # connection unanswered (raising first makes the server answer 500), but a
                # header name HTTP forbids makes uvicorn (h11 and httptools) refuse the start
                # before writing a byte; the LostWrite below then closes the connection.
                start = {**start, "headers": [*start["headers"], (b"lost answer", b"")]}
                with contextlib.suppress(Exception):
                    await send(start)
            else:
                await send(start)
            raise LostWrite(f"{method} {path}: answer dropped after commit (lost_write_rate)")
        for message in messages:
            await send(message)

    def authenticate(self, scope: Scope, method: str, path: str) -> Response | None:
        """8.2/8.3: a valid bearer token; implicit tokens only read flows and fields."""
        headers = dict(scope.get("headers") or [])
        header = headers.get(b"authorization", b"").decode("latin-1").strip()
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return error_response(
                401, "A bearer access token is required.", "Unable to validate access token"
            )
        grant = self.ctx.tokens.grant_of(token)
        if grant is None:
            return error_response(
                401,
                "The access token is invalid or has expired.",
                "Unable to validate access token",
            )
        scope.setdefault("state", {})["grant"] = grant
        if grant == "implicit" and not implicit_allowed(method, path):
            return error_response(
                403, "An implicit token can only read flows and fields.", "Forbidden"
            )
        return None


def implicit_allowed(method: str, path: str) -> bool:
    """1.3: implicit tokens read `/flows` (and fields); core-flow entries are resource data."""
    if path == STATS_ROUTE:
        return True
    if method not in ("GET", "HEAD"):
        return False
    parts = path.strip("/").split("/")
    if parts[:2] == ["v2", "fields"]:
        return True
    if parts[:2] != ["v2", "flows"]:
        return False
    return not (len(parts) >= 4 and parts[3] == "entries" and parts[2] in CORE_FLOW_SLUGS)


# ----------------------------------------------------------------------------- request input


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
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
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


# ---------------------------------------------------------------------------------- rendering


def meta(record: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "owner": record.get("owner", "store"),
        "timestamps": {"created_at": record["created_at"], "updated_at": record["updated_at"]},
    }


def render_flow(request: Request, flow: Record) -> dict[str, Any]:
    """3.3: the flow object."""
    return {
        "id": flow["id"],
        "type": "flow",
        "name": flow["name"],
        "slug": flow["slug"],
        "description": flow["description"],
        "enabled": flow["enabled"],
        "links": {"self": f"{base_url(request)}/v2/flows/{flow['id']}"},
        "relationships": {},
        "meta": meta(flow),
    }


def render_field(request: Request, field: Record) -> dict[str, Any]:
    """4.3: the field object, every key present even when null."""
    return {
        "id": field["id"],
        "type": "field",
        "field_type": field["field_type"],
        "slug": field["slug"],
        "name": field["name"],
        "description": field["description"],
        "required": field["required"],
        "unique": field["unique"],
        "default": field["default"],
        "enabled": field["enabled"],
        "order": field["order"],
        "omit_null": field["omit_null"],
        "validation_rules": field["validation_rules"],
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
    request: Request, flow: Record, fields: list[Record], entry: Record
) -> dict[str, Any]:
    """5.1: the entry object: custom values flat, relationships apart."""
    body: dict[str, Any] = {"id": entry["id"], "type": "entry"}
    body.update(custom_data(fields, entry["values"]))
    relationships = relationships_of(fields, entry["values"])
    if relationships:
        body["relationships"] = relationships
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


async def run(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """One storage transaction in a worker thread (SQLite calls block)."""
    return await run_in_threadpool(function, *args, **kwargs)


# ------------------------------------------------------------------------------------ handlers


async def token_endpoint(request: Request) -> Response:
    """1.1/1.2/8.1: form-encoded client_credentials or implicit grant."""
    ctx = context(request)
    body = await read_body(request)
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/x-www-form-urlencoded":
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


async def flows_endpoint(request: Request) -> Response:
    ctx = context(request)
    if request.method == "POST":
        data = validation.data_object(await read_json(request), "flow")
        attrs = validation.flow_attributes(data, create=True)
        flow = await run(ctx.storage.create_flow, attrs)
        return json_response({"data": render_flow(request, flow)}, status=201)
    limit, offset = page_params(request)
    flows, total = await run(ctx.storage.list_flows, limit, offset)
    return render_list(request, [render_flow(request, f) for f in flows], total, limit, offset)


async def flow_endpoint(request: Request) -> Response:
    ctx = context(request)
    flow_id = request.path_params["flow_id"]
    if request.method == "PUT":
        data = validation.data_object(await read_json(request), "flow")
        validation.check_path_id(data, flow_id)
        attrs = validation.flow_attributes(data, create=False)
        flow = await run(ctx.storage.update_flow, flow_id, attrs)
    elif request.method == "DELETE":
        await run(ctx.storage.delete_flow, flow_id)
        return Response(status_code=204)
    else:
        flow = await run(ctx.storage.get_flow, flow_id)
    return json_response({"data": render_flow(request, flow)})


async def fields_endpoint(request: Request) -> Response:
    ctx = context(request)
    if request.method == "POST":
        data = validation.data_object(await read_json(request), "field")
        attrs = validation.field_attributes(data, create=True)
        flow_id = validation.flow_relationship(data)
        if flow_id is None:
            raise validation.failed("data.relationships.flow is required: name the flow.")
        field = await run(ctx.storage.create_field, flow_id, attrs)
        return json_response({"data": render_field(request, field)}, status=201)
    limit, offset = page_params(request)
    fields, total = await run(ctx.storage.list_fields, limit, offset)
    return render_list(request, [render_field(request, f) for f in fields], total, limit, offset)


async def flow_fields_endpoint(request: Request) -> Response:
    """4.1: `GET /v2/flows/{slug}/fields` takes the flow's slug."""
    ctx = context(request)
    limit, offset = page_params(request)
    fields, total = await run(
        ctx.storage.list_fields, limit, offset, request.path_params["flow_slug"]
    )
    return render_list(request, [render_field(request, f) for f in fields], total, limit, offset)


async def field_endpoint(request: Request) -> Response:
    ctx = context(request)
    field_id = request.path_params["field_id"]
    if request.method == "PUT":
        data = validation.data_object(await read_json(request), "field")
        validation.check_path_id(data, field_id)
        attrs = validation.field_attributes(data, create=False)
        flow_id = validation.flow_relationship(data)
        field = await run(ctx.storage.update_field, field_id, flow_id, attrs)
    elif request.method == "DELETE":
        await run(ctx.storage.delete_field, field_id)
        return Response(status_code=204)
    else:
        field = await run(ctx.storage.get_field, field_id)
    return json_response({"data": render_field(request, field)})


# ------------------------------------------------------------------------------------- entries


def core_flow(slug: str) -> bool:
    return slug in CORE_FLOW_SLUGS


def core_entries_are_managed(slug: str) -> NotAllowed:
    """3.4: "Entries for core flows are managed automatically" - not through /entries."""
    return NotAllowed(
        f'Entries of the core flow "{slug}" are managed through its resource, not /entries.'
    )


def render_core_entry(
    request: Request, flow: Record, fields: list[Record], resource: Record
) -> dict[str, Any]:
    """Section 0: a core resource's custom data read as an entry of its flow."""
    body: dict[str, Any] = {"id": resource["id"], "type": "entry"}
    body.update(custom_data(fields, resource["values"]))
    self_link = f"{base_url(request)}/v2/flows/{flow['slug']}/entries/{resource['id']}"
    body["links"] = {"self": self_link}
    body["meta"] = meta(resource)
    return body


def entry_id_of(data: Mapping[str, Any]) -> str | None:
    """5.1: a create may choose the entry's id (PXM templates use the product id)."""
    if "id" not in data:
        return None
    entry_id = data["id"]
    if not isinstance(entry_id, str) or not validation.is_uuid(entry_id):
        raise validation.failed("data.id must be a UUID.")
    return entry_id


async def entries_endpoint(request: Request) -> Response:
    ctx = context(request)
    slug = request.path_params["flow_slug"]
    if request.method == "POST":
        flow = await run(ctx.storage.get_flow_by_slug, slug)
        if core_flow(flow["slug"]):
            raise core_entries_are_managed(slug)
        data = validation.data_object(await read_json(request), "entry")
        entry_id = entry_id_of(data)
        flow, fields, entry = await run(
            ctx.storage.write_entry, slug, entry_id, data, validation.custom_values, create=True
        )
        return json_response({"data": render_entry(request, flow, fields, entry)}, status=201)
    limit, offset = page_params(request)
    if core_flow(slug):
        flow = await run(ctx.storage.get_flow_by_slug, slug)
        items: list[dict[str, Any]] = []
        total = 0
        if slug == "customers":
            fields, customers, total = await run(
                ctx.storage.list_customers, [], "created_at", limit, offset
            )
            items = [render_core_entry(request, flow, fields, c) for c in customers]
        return render_list(request, items, total, limit, offset)
    flow, fields, entries, total = await run(ctx.storage.list_entries, slug, limit, offset)
    items = [render_entry(request, flow, fields, entry) for entry in entries]
    return render_list(request, items, total, limit, offset)


async def entry_endpoint(request: Request) -> Response:
    ctx = context(request)
    slug = request.path_params["flow_slug"]
    entry_id = request.path_params["entry_id"]
    if core_flow(slug):
        flow = await run(ctx.storage.get_flow_by_slug, slug)
        if request.method != "GET":
            raise core_entries_are_managed(slug)
        if slug != "customers":
            raise NotFound("entry")
        try:
            fields, customer = await run(ctx.storage.get_customer, entry_id)
        except StoreError as error:
            raise NotFound("entry") from error
        return json_response({"data": render_core_entry(request, flow, fields, customer)})
    if request.method == "PUT":
        data = validation.data_object(await read_json(request), "entry")
        validation.check_path_id(data, entry_id)
        flow, fields, entry = await run(
            ctx.storage.write_entry, slug, entry_id, data, validation.custom_values, create=False
        )
    elif request.method == "DELETE":
        await run(ctx.storage.delete_entry, slug, entry_id)
        return Response(status_code=204)
    else:
        flow, fields, entry = await run(ctx.storage.get_entry, slug, entry_id)
    return json_response({"data": render_entry(request, flow, fields, entry)})


async def relationships_endpoint(request: Request) -> Response:
    """5.2: POST adds, PUT replaces, DELETE clears (or removes the items it names)."""
    ctx = context(request)
    slug = request.path_params["flow_slug"]
    if core_flow(slug):
        await run(ctx.storage.get_flow_by_slug, slug)
        raise core_entries_are_managed(slug)
    body = await read_json(request, optional=request.method == "DELETE")
    items = None if body is None else validation.relationship_items(body)
    mode = {"POST": "add", "PUT": "replace", "DELETE": "remove"}[request.method]
    current = await run(
        ctx.storage.change_relationships,
        slug,
        request.path_params["entry_id"],
        request.path_params["field_slug"],
        items,
        mode,
    )
    if request.method == "DELETE":
        return Response(status_code=204)
    # The flows spec answers 201 to both POST and PUT (5.2 notes the markdown's 200 for PUT).
    return json_response({"data": current}, status=201)


# ----------------------------------------------------------------------------------- customers

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


async def customers_endpoint(request: Request) -> Response:
    ctx = context(request)
    if request.method == "POST":
        data = validation.data_object(await read_json(request), "customer")
        attrs = validation.customer_attributes(data, create=True)
        fields, customer = await run(
            ctx.storage.write_customer, None, attrs, data, validation.custom_values
        )
        return json_response({"data": render_customer(request, fields, customer)}, status=201)
    limit, offset = page_params(request)
    text = request.query_params.get("filter")
    filters = parse_filter(text) if text else []
    sort = request.query_params.get("sort") or "-created_at"  # 6: newest first by default
    if sort.removeprefix("-") not in CUSTOMER_SORTS:
        raise Problem(400, f"Customers cannot be sorted by {sort!r}")
    fields, customers, total = await run(ctx.storage.list_customers, filters, sort, limit, offset)
    items = [render_customer(request, fields, customer) for customer in customers]
    return render_list(request, items, total, limit, offset)


async def customer_endpoint(request: Request) -> Response:
    ctx = context(request)
    customer_id = request.path_params["customer_id"]
    if request.method == "PUT":
        data = validation.data_object(await read_json(request), "customer")
        validation.check_path_id(data, customer_id)
        attrs = validation.customer_attributes(data, create=False)
        fields, customer = await run(
            ctx.storage.write_customer, customer_id, attrs, data, validation.custom_values
        )
    elif request.method == "DELETE":
        await run(ctx.storage.delete_customer, customer_id)
        return Response(status_code=204)
    else:
        fields, customer = await run(ctx.storage.get_customer, customer_id)
    return json_response({"data": render_customer(request, fields, customer)})


def routes() -> list[BaseRoute]:
    # Commerce Extensions (epcc-api.md 10) live in their own module, which imports this one.
    from provisioner.localstore.extensions_routes import routes as extension_routes

    return [
        Route(TOKEN_ROUTE, token_endpoint, methods=["POST"]),
        Route(STATS_ROUTE, stats_endpoint, methods=["GET", "DELETE"]),
        Route("/v2/flows", flows_endpoint, methods=["GET", "POST"]),
        Route("/v2/flows/{flow_id}", flow_endpoint, methods=["GET", "PUT", "DELETE"]),
        Route("/v2/flows/{flow_slug}/fields", flow_fields_endpoint, methods=["GET"]),
        Route("/v2/fields", fields_endpoint, methods=["GET", "POST"]),
        Route("/v2/fields/{field_id}", field_endpoint, methods=["GET", "PUT", "DELETE"]),
        Route("/v2/flows/{flow_slug}/entries", entries_endpoint, methods=["GET", "POST"]),
        Route(
            "/v2/flows/{flow_slug}/entries/{entry_id}",
            entry_endpoint,
            methods=["GET", "PUT", "DELETE"],
        ),
        Route(
            "/v2/flows/{flow_slug}/entries/{entry_id}/relationships/{field_slug}",
            relationships_endpoint,
            methods=["POST", "PUT", "DELETE"],
        ),
        Route("/v2/customers", customers_endpoint, methods=["GET", "POST"]),
        Route("/v2/customers/{customer_id}", customer_endpoint, methods=["GET", "PUT", "DELETE"]),
        *extension_routes(),
    ]


# --------------------------------------------------------------------------------------- app


async def on_error(request: Request, exc: Exception) -> Response:
    """A domain error or a `Problem`, in the words of the API the request belongs to."""
    assert isinstance(exc, StoreError | Problem)
    return error_answer(exc, request.url.path)


async def on_http_exception(request: Request, exc: Exception) -> Response:
    """Starlette's own 404/405 (unknown route, wrong method) with the standard error body."""
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        detail = f"No such route: {request.method} {request.url.path}"
    elif exc.status_code == 405:
        detail = f"{request.method} is not allowed on {request.url.path}"
    else:
        detail = str(exc.detail)
    return error_response(exc.status_code, detail, headers=exc.headers)


def create_app(db_path: str | Path, settings: StoreSettings = DEFAULT_SETTINGS) -> Starlette:
    """A local store over the SQLite database at `db_path` (created if missing)."""
    ctx = StoreContext(db_path, settings)
    handlers: Mapping[Any, Callable[[Request, Exception], Awaitable[Response]]] = {
        Problem: on_error,
        StoreError: on_error,
        HTTPException: on_http_exception,
    }
    app = Starlette(
        routes=routes(),
        middleware=[Middleware(StoreMiddleware, ctx=ctx)],
        exception_handlers=dict(handlers),
    )
    app.router.redirect_slashes = False
    ctx.routes = list(app.router.routes)
    app.state.store = ctx
    return app
