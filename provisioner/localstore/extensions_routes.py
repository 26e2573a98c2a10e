"""The local store's Commerce Extensions routes (epcc-api.md 10; commerce-extensions.yaml):
Custom APIs (`/v2/settings/extensions/custom-apis[/{id}]`), their fields (`.../fields`), their
entries (`.../entries` and `/v2/extensions/{slug}[/{id or url slug}]`) and the generated spec.

Bodies are checked by `provisioner.custom_api_rules`; what needs the stored state by
`ExtensionsStorage`. Errors take this spec's body (`status` a string, validation 400; see
`problems.error_answer`). Lists page, filter and sort as the spec says.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from provisioner import custom_api_rules as rules
from provisioner.epcc import custom_apis as facts
from provisioner.localstore.context import context, run, serve_item
from provisioner.localstore.errors import StoreError
from provisioner.localstore.extensions_entries import ExtensionsStorage
from provisioner.localstore.extensions_filters import definition_filter, entry_filter, parse_filters
from provisioner.localstore.extensions_openapi import openapi_endpoint
from provisioner.localstore.extensions_paging import page_of, render_page, sort_records
from provisioner.localstore.extensions_storage import Record, bad_request, invalid
from provisioner.localstore.http_io import base_url, read_json
from provisioner.localstore.problems import json_response
from provisioner.localstore.storage import now_iso  # SPEC Timestamps: ms, UTC

Handler = Callable[[Request], Awaitable[Response]]
Params = Mapping[str, str]  # the route's path parameters
Data = dict[str, Any]  # the body's `data`


def store(request: Request) -> ExtensionsStorage:
    return ExtensionsStorage(context(request).storage)


async def data_of(request: Request, type_name: str | None) -> dict[str, Any]:
    """`body.data` as an object; its `type` must be `type_name` (None: checked by the caller)."""
    body = await read_json(request)
    if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
        raise bad_request("The field 'data' is required and must be an object.")
    data: dict[str, Any] = body["data"]
    if "type" not in data:
        raise bad_request("The field 'data.type' is required.")
    if type_name is not None and data["type"] != type_name:
        raise bad_request(f"data.type must be {type_name!r}.")
    return data


def check_id(data: dict[str, Any], path_id: str) -> None:
    """An update may repeat the id; it must then be the one in the path (and is dropped)."""
    if "id" in data:
        if data["id"] != path_id:
            raise bad_request("data.id does not match the id in the path.")
        del data["id"]


# ---------------------------------------------------------------------- the shared shape


@dataclass(frozen=True)
class Definition:
    """Custom APIs or their fields: one shape for their collection and item routes.

    `new` checks a create body and builds the record; the storage callables run in a worker
    thread; `update` checks an update body and stores it.
    """

    type_name: str
    id_param: str
    filters: Mapping[str, frozenset[str]]
    sorts: frozenset[str]
    render: Callable[[Request, Record], dict[str, Any]]
    new: Callable[[Params, Data], Record]
    create: Callable[[ExtensionsStorage, Record], Record]
    update: Callable[[ExtensionsStorage, Params, Data], Awaitable[Record]]
    get: Callable[[ExtensionsStorage, Params], Record]
    delete: Callable[[ExtensionsStorage, Params], None]
    records: Callable[[ExtensionsStorage, Params], list[Record]]


def definitions_endpoint(kind: Definition) -> Handler:
    """`GET` a filtered, sorted page; `POST` creates one (201)."""

    async def endpoint(request: Request) -> Response:
        ext, params = store(request), request.path_params
        if request.method == "POST":
            record = kind.new(params, await data_of(request, kind.type_name))
            created = await run(kind.create, ext, record)
            return json_response({"data": kind.render(request, created)}, status=201)
        page = page_of(request)
        text = request.query_params.get("filter")
        keep = definition_filter(parse_filters(text) if text else [], kind.filters)
        found = [record for record in await run(kind.records, ext, params) if keep(record)]
        found = sort_records(found, request.query_params.get("sort"), kind.sorts)
        return render_page(request, [kind.render(request, record) for record in found], page)

    return endpoint


def definition_endpoint(kind: Definition) -> Handler:
    """`GET`, `PUT` (a partial update) or `DELETE` (204) one."""

    async def endpoint(request: Request) -> Response:
        ext, params = store(request), request.path_params

        async def update() -> Record:
            data = await data_of(request, kind.type_name)
            check_id(data, params[kind.id_param])
            return await kind.update(ext, params, data)

        delete, get = partial(kind.delete, ext, params), partial(kind.get, ext, params)
        return await serve_item(request, update, delete, get, kind.render)

    return endpoint


# ------------------------------------------------------------------------------ Custom APIs


def meta_of(record: Mapping[str, Any]) -> dict[str, Any]:
    return {"timestamps": {"created_at": record["created_at"], "updated_at": record["updated_at"]}}


def render_api(request: Request, api: Record) -> dict[str, Any]:
    """SPEC CustomAPI."""
    return {
        "id": api["id"],
        "type": facts.CUSTOM_API_TYPE,
        "name": api["name"],
        "description": api["description"],
        "slug": api["slug"],
        "api_type": api["api_type"],
        "allow_upserts": api["allow_upserts"],
        "presentation": api["presentation"],
        "relationships": {"parent_apis": {"data": api["parents"]}},
        "links": {"self": f"{base_url(request)}{facts.SETTINGS_PREFIX}/{api['id']}"},
        "meta": meta_of(api),
    }


def parents_of(data: Mapping[str, Any]) -> list[dict[str, str]]:
    refs = data["relationships"].get("parent_apis", {}).get("data", [])
    return [{"type": ref["type"], "id": ref["id"]} for ref in refs]


def new_api(params: Params, data: Data) -> Record:
    violations = rules.custom_api_violations(data, create=True)
    if violations:
        raise invalid(violations)
    stamp = now_iso()
    return {
        "id": str(uuid.uuid4()),
        "slug": data["slug"],
        "api_type": data["api_type"],
        "name": data["name"],
        "description": data.get("description", facts.API_DEFAULTS["description"]),
        "allow_upserts": data.get("allow_upserts", facts.API_DEFAULTS["allow_upserts"]),
        "presentation": {"page": None, "section": None, **data.get("presentation", {})},
        "parents": parents_of(data) if "relationships" in data else [],
        "created_at": stamp,
        "updated_at": stamp,
    }


async def update_api(ext: ExtensionsStorage, params: Params, data: Data) -> Record:
    violations = rules.custom_api_violations(data, create=False)
    if violations:
        raise invalid(violations)
    keys = ("name", "description", "slug", "allow_upserts")
    changes: dict[str, Any] = {k: data[k] for k in keys if k in data}
    if "presentation" in data:
        changes["presentation"] = data["presentation"]
    if "relationships" in data and "parent_apis" in data["relationships"]:
        changes["parents"] = parents_of(data)
    result: Record = await run(ext.update_api, params["custom_api_id"], changes, now_iso())
    return result


APIS = Definition(
    type_name=facts.CUSTOM_API_TYPE,
    id_param="custom_api_id",
    filters=facts.API_FILTERS,
    sorts=facts.API_SORTS,
    render=render_api,
    new=new_api,
    create=lambda ext, api: ext.create_api(api),
    update=update_api,
    get=lambda ext, p: ext.get_api(p["custom_api_id"]),
    delete=lambda ext, p: ext.delete_api(p["custom_api_id"]),
    records=lambda ext, p: ext.list_apis(),
)


# ----------------------------------------------------------------------------------- fields


def render_field(request: Request, field: Record) -> dict[str, Any]:
    """SPEC CustomField: every validation key of its type, defaults filled."""
    self_link = f"{base_url(request)}{facts.SETTINGS_PREFIX}/{field['api_id']}/fields/{field['id']}"
    return {
        "id": field["id"],
        "type": facts.CUSTOM_FIELD_TYPE,
        "name": field["name"],
        "description": field["description"],
        "slug": field["slug"],
        "field_type": field["field_type"],
        "use_as_url_slug": field["use_as_url_slug"],
        "presentation": field["presentation"],
        "validation": field["validation"],
        "links": {"self": self_link},
        "meta": meta_of(field),
    }


def new_field(params: Params, data: Data) -> Record:
    violations = rules.custom_field_violations(data, create=True)
    if violations:
        raise invalid(violations)
    stamp = now_iso()
    field_type = data["field_type"]
    return {
        "id": str(uuid.uuid4()),
        "api_id": params["custom_api_id"],
        "slug": data["slug"],
        "name": data["name"],
        "description": data.get("description", facts.FIELD_DEFAULTS["description"]),
        "field_type": field_type,
        "use_as_url_slug": data.get("use_as_url_slug", False),
        "presentation": {"sort_order": facts.SORT_ORDER_DEFAULT, **data.get("presentation", {})},
        "validation": rules.full_validation(field_type, data.get("validation")),
        "created_at": stamp,
        "updated_at": stamp,
    }


async def update_field(ext: ExtensionsStorage, params: Params, data: Data) -> Record:
    api_id, field_id = params["custom_api_id"], params["custom_field_id"]
    current = await run(ext.get_field, api_id, field_id)
    field_type = current["field_type"]
    given = data.get("validation")
    rules_given = given.get(field_type) if isinstance(given, dict) else None
    if isinstance(rules_given, dict):  # create-only keys sent unchanged are no change
        table = facts.VALIDATION[field_type]
        for key in [k for k in rules_given if k in table and not table[k].on_update]:
            if rules_given[key] == current["validation"][field_type][key]:
                del rules_given[key]
    shape = {k: v for k, v in data.items() if k not in ("field_type", "use_as_url_slug")}
    violations = rules.custom_field_violations({**shape, "field_type": field_type}, create=False)
    violations += rules.create_only_violations(current, data, facts.FIELD_CREATE_ONLY[:2])
    if violations:
        raise invalid(violations)
    result: Record = await run(ext.update_field, api_id, field_id, data, now_iso())
    return result


FIELDS = Definition(
    type_name=facts.CUSTOM_FIELD_TYPE,
    id_param="custom_field_id",
    filters=facts.FIELD_FILTERS,
    sorts=facts.FIELD_SORTS,
    render=render_field,
    new=new_field,
    create=lambda ext, field: ext.create_field(field),
    update=update_field,
    get=lambda ext, p: ext.get_field(p["custom_api_id"], p["custom_field_id"]),
    delete=lambda ext, p: ext.delete_field(p["custom_api_id"], p["custom_field_id"]),
    records=lambda ext, p: ext.list_fields(p["custom_api_id"]),
)

# ---------------------------------------------------------------------------------- entries


def entry_key(api: Record, fields: Sequence[Record], entry: Record) -> str:
    """The entry's place in `/v2/extensions/{slug}/...`: its url slug value, else its id."""
    for field in fields:
        if field["use_as_url_slug"]:
            value = entry["values"].get(field["id"])
            if isinstance(value, str):
                return value
    return str(entry["id"])


def render_entry(api: Record, fields: Sequence[Record], entry: Record, base: str) -> dict[str, Any]:
    """SPEC CustomAPIEntry: values flat by slug (null when unset), meta with the etag."""
    body: dict[str, Any] = {"id": entry["id"], "type": api["api_type"]}
    live = {field["id"] for field in fields}
    for field in sorted(fields, key=lambda f: f["presentation"].get("sort_order") or 0):
        body[field["slug"]] = entry["values"].get(field["id"])
    key = entry_key(api, fields, entry)
    body["links"] = {"self": f"{base}{facts.EXTENSIONS_PREFIX}/{api['slug']}/{key}"}
    body["meta"] = {
        **meta_of(entry),
        "data_size": sum(
            rules.value_size(value) for fid, value in entry["values"].items() if fid in live
        ),
        "resource_version": entry["resource_version"],
        "etag_id": entry["etag_id"],
    }
    return body


def entry_response(
    request: Request, api: Record, fields: Sequence[Record], entry: Record, status: int = 200
) -> Response:
    body = {"data": render_entry(api, fields, entry, base_url(request))}
    return json_response(body, status=status, headers={"ETag": f'W/"{entry["etag_id"]}"'})


def entry_location(request: Request) -> tuple[str, bool]:
    """(the API's id or slug, whether it is a slug) from the route's path."""
    if "custom_api_slug" in request.path_params:
        return request.path_params["custom_api_slug"], True
    return request.path_params["custom_api_id"], False


async def entry_body(request: Request, api_type: str) -> dict[str, Any]:
    data = await data_of(request, None)
    if data["type"] != api_type:
        raise bad_request(f"data.type must be {api_type!r}, the Custom API's api_type.")
    return data


async def entries_endpoint(request: Request) -> Response:
    ext = store(request)
    key, by_slug = entry_location(request)
    if request.method == "POST":
        api, _ = await run(ext.api_with_fields, key, by_slug=by_slug)
        data = await entry_body(request, api["api_type"])
        if "id" in data:
            raise bad_request("data.id: an entry's id is given by the store.")
        api, fields, entry, _ = await run(
            ext.write_entry, key, None, data, now_iso(), by_slug=by_slug, if_match=None
        )
        return entry_response(request, api, fields, entry, status=201)
    page = page_of(request, entries=True)
    api, fields, entries = await run(ext.list_entries, key, by_slug=by_slug)
    text = request.query_params.get("filter")
    keep = entry_filter(parse_filters(text) if text else [], fields)
    chosen = [entry for entry in entries if keep(entry)]
    chosen = sort_records(
        chosen, request.query_params.get("sort"), facts.ENTRY_SORTS, nullable=True
    )
    base = base_url(request)
    return render_page(request, [render_entry(api, fields, e, base) for e in chosen], page)


async def entry_endpoint(request: Request) -> Response:
    ext = store(request)
    key, by_slug = entry_location(request)
    entry_ref = request.path_params["entry_key"]
    if_match = request.headers.get("if-match")
    if request.method == "PUT":
        api, _ = await run(ext.api_with_fields, key, by_slug=by_slug)
        data = await entry_body(request, api["api_type"])
        if "id" in data and data["id"] != entry_ref:
            try:
                _, _, current = await run(ext.get_entry, key, entry_ref, by_slug=by_slug)
            except StoreError:
                current = None
            if current is None or data["id"] != current["id"]:
                raise bad_request("data.id does not match the entry in the path.")
        api, fields, entry, created = await run(
            ext.write_entry, key, entry_ref, data, now_iso(), by_slug=by_slug, if_match=if_match
        )
        return entry_response(request, api, fields, entry, status=201 if created else 200)
    if request.method == "DELETE":
        await run(ext.delete_entry, key, entry_ref, by_slug=by_slug, if_match=if_match)
        return Response(status_code=204)
    api, fields, entry = await run(ext.get_entry, key, entry_ref, by_slug=by_slug)
    return entry_response(request, api, fields, entry)


def routes() -> list[BaseRoute]:
    prefix = facts.SETTINGS_PREFIX
    one_api = prefix + "/{custom_api_id}"
    item = ["GET", "PUT", "DELETE"]
    return [
        Route(prefix, definitions_endpoint(APIS), methods=["GET", "POST"]),
        Route(one_api, definition_endpoint(APIS), methods=item),
        Route(one_api + "/fields", definitions_endpoint(FIELDS), methods=["GET", "POST"]),
        Route(one_api + "/fields/{custom_field_id}", definition_endpoint(FIELDS), methods=item),
        Route(one_api + "/entries", entries_endpoint, methods=["GET", "POST"]),
        Route(one_api + "/entries/{entry_key}", entry_endpoint, methods=item),
        Route("/v2/settings/extensions/specifications/openapi", openapi_endpoint, methods=["GET"]),
        Route(facts.EXTENSIONS_PREFIX + "/{custom_api_slug}", entries_endpoint,
              methods=["GET", "POST"]),
        Route(facts.EXTENSIONS_PREFIX + "/{custom_api_slug}/{entry_key}", entry_endpoint,
              methods=item),
    ]  # fmt: skip
