"""The local store's Commerce Extensions routes (epcc-api.md 10; commerce-extensions.yaml).

- `/v2/settings/extensions/custom-apis[/{id}]`: Custom APIs;
- `.../custom-apis/{id}/fields[/{field_id}]`: their fields;
- `.../custom-apis/{id}/entries[/{entry_id}]` and `/v2/extensions/{slug}[/{id or url slug}]`:
  their entries;
- `/v2/settings/extensions/specifications/openapi`: the generated spec of `/v2/extensions`.

Bodies are checked by `provisioner.custom_api_rules` (400 naming every violation); what needs
the stored state is checked by `ExtensionsStorage`. Errors (`problems.error_answer`, by the
path) use this spec's body, whose `status` is a string
(`{"errors": [{"status": "400", "title": ..., "detail": ...}]}`, SPEC Errors), and
validation is 400, not the flows' 422. Lists page, filter and sort as the spec says
(`page[limit]` <= 100, `page[offset]` <= 10,000, `filter=op(attr,value):...`, `sort`).
"""

from __future__ import annotations

import datetime as dt
import math
import re
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from provisioner import custom_api_rules as rules
from provisioner.epcc import custom_apis as facts
from provisioner.localstore.app import base_url, context, read_json, run
from provisioner.localstore.errors import Invalid, StoreError
from provisioner.localstore.extensions_storage import (
    ExtensionsStorage,
    Record,
    bad_request,
    invalid,
)
from provisioner.localstore.problems import json_response

Handler = Callable[[Request], Awaitable[Response]]
INTEGER_RE = re.compile(r"-?[0-9]+")


def now_iso() -> str:
    """ISO-8601 UTC with milliseconds (SPEC Timestamps example `2017-01-10T11:41:19.244Z`)."""
    now = dt.datetime.now(dt.UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


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


@dataclass(frozen=True)
class Filter:
    op: str
    attribute: str
    values: tuple[str, ...]


FILTER_HEAD_RE = re.compile(r"([a-z_]+)\(([^,()]+)")


def parse_filters(text: str) -> list[Filter]:
    """`op(attribute,value,...)` joined by `:` (2.3); values may be double-quoted."""
    result: list[Filter] = []
    position = 0
    while True:
        head = FILTER_HEAD_RE.match(text, position)
        if head is None:
            raise bad_request("Could not parse the supplied filter")
        op, attribute = head.groups()
        position = head.end()
        values: list[str] = []
        while position < len(text) and text[position] == ",":
            position += 1
            if text.startswith('"', position):
                end = position + 1
                chars: list[str] = []
                while end < len(text) and text[end] != '"':
                    if text[end] == "\\" and end + 1 < len(text):
                        end += 1
                    chars.append(text[end])
                    end += 1
                if end >= len(text):
                    raise bad_request("Could not parse the supplied filter")
                values.append("".join(chars))
                position = end + 1
            else:
                end = position
                while end < len(text) and text[end] not in ",)":
                    end += 1
                values.append(text[position:end])
                position = end
        if position >= len(text) or text[position] != ")":
            raise bad_request("Could not parse the supplied filter")
        position += 1
        result.append(Filter(op, attribute.strip(), tuple(values)))
        if position == len(text):
            break
        if text[position] != ":":
            raise bad_request("Could not parse the supplied filter")
        position += 1
    if len(result) > facts.MAX_FILTERS:
        raise bad_request(f"At most {facts.MAX_FILTERS} filters are supported")
    return result


def like(pattern: str, value: Any, *, fold: bool = False) -> bool:
    """`*` is the only wildcard (2.3); everything else is literal."""
    if not isinstance(value, str):
        return False
    regex = ".*".join(re.escape(part) for part in pattern.split("*"))
    return re.fullmatch(regex, value, flags=re.S | (re.I if fold else 0)) is not None


def compare(op: str, actual: Any, wanted: Sequence[Any]) -> bool:
    """`eq`, `in`, `lt`/`le`/`gt`/`ge`, `like`/`ilike`, `is_null` on one value."""
    if op == "is_null":
        return actual is None
    if actual is None or not wanted:
        return False
    first = wanted[0]
    try:
        if op == "eq":
            return bool(actual == first)
        if op == "in":
            return actual in wanted
        if op == "lt":
            return bool(actual < first)
        if op == "le":
            return bool(actual <= first)
        if op == "gt":
            return bool(actual > first)
        if op == "ge":
            return bool(actual >= first)
    except TypeError:
        return False
    if op == "like":
        return like(str(first), actual)
    if op == "ilike":
        return like(str(first), actual, fold=True)
    raise bad_request(f"Unsupported filter operator {op}")


def arity_ok(flt: Filter) -> None:
    count = len(flt.values)
    if flt.op == "is_null" and count != 0:
        raise bad_request(f"is_null({flt.attribute}) takes no value")
    if flt.op not in ("is_null", "in", "contains_any", "contains_all") and count != 1:
        raise bad_request(f"{flt.op}({flt.attribute},...) takes one value")
    if flt.op in ("in", "contains_any", "contains_all") and count < 1:
        raise bad_request(f"{flt.op}({flt.attribute},...) takes at least one value")


def definition_filter(
    filters: Iterable[Filter], allowed: Mapping[str, frozenset[str]]
) -> Callable[[Record], bool]:
    """A predicate over Custom APIs or fields (SPEC ListCustomAPIs / ListCustomFields)."""
    checks = []
    for flt in filters:
        ops = allowed.get(flt.attribute)
        if ops is None:
            raise bad_request(
                f"Invalid filter: unknown field [{flt.attribute}] specified in search filter, "
                f"allowed fields are [{' '.join(sorted(allowed))}]"
            )
        if flt.op not in ops:
            raise bad_request(f"Invalid filter: {flt.op} is not supported on {flt.attribute}")
        arity_ok(flt)
        checks.append(flt)

    def attribute(record: Record, name: str) -> Any:
        if name == "presentation.page":
            return (record.get("presentation") or {}).get("page")
        return record.get(name)

    return lambda record: all(
        compare(f.op, attribute(record, f.attribute), f.values) for f in checks
    )


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


async def apis_endpoint(request: Request) -> Response:
    ext = store(request)
    if request.method == "POST":
        data = await data_of(request, facts.CUSTOM_API_TYPE)
        violations = rules.custom_api_violations(data, create=True)
        if violations:
            raise invalid(violations)
        stamp = now_iso()
        presentation = {"page": None, "section": None, **data.get("presentation", {})}
        api = {
            "id": str(uuid.uuid4()),
            "slug": data["slug"],
            "api_type": data["api_type"],
            "name": data["name"],
            "description": data.get("description", facts.API_DEFAULTS["description"]),
            "allow_upserts": data.get("allow_upserts", facts.API_DEFAULTS["allow_upserts"]),
            "presentation": presentation,
            "parents": parents_of(data) if "relationships" in data else [],
            "created_at": stamp,
            "updated_at": stamp,
        }
        created = await run(ext.create_api, api)
        return json_response({"data": render_api(request, created)}, status=201)
    page = page_of(request)
    text = request.query_params.get("filter")
    keep = definition_filter(parse_filters(text) if text else [], facts.API_FILTERS)
    apis = [api for api in await run(ext.list_apis) if keep(api)]
    apis = sort_records(apis, request.query_params.get("sort"), facts.API_SORTS)
    return render_page(request, [render_api(request, api) for api in apis], page)


async def api_endpoint(request: Request) -> Response:
    ext = store(request)
    api_id = request.path_params["custom_api_id"]
    if request.method == "PUT":
        data = await data_of(request, facts.CUSTOM_API_TYPE)
        check_id(data, api_id)
        violations = rules.custom_api_violations(data, create=False)
        if violations:
            raise invalid(violations)
        keys = ("name", "description", "slug", "allow_upserts")
        changes: dict[str, Any] = {k: data[k] for k in keys if k in data}
        if "presentation" in data:
            changes["presentation"] = data["presentation"]
        if "relationships" in data and "parent_apis" in data["relationships"]:
            changes["parents"] = parents_of(data)
        api = await run(ext.update_api, api_id, changes, now_iso())
    elif request.method == "DELETE":
        await run(ext.delete_api, api_id)
        return Response(status_code=204)
    else:
        api = await run(ext.get_api, api_id)
    return json_response({"data": render_api(request, api)})


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


async def fields_endpoint(request: Request) -> Response:
    ext = store(request)
    api_id = request.path_params["custom_api_id"]
    if request.method == "POST":
        data = await data_of(request, facts.CUSTOM_FIELD_TYPE)
        violations = rules.custom_field_violations(data, create=True)
        if violations:
            raise invalid(violations)
        stamp = now_iso()
        field_type = data["field_type"]
        field = {
            "id": str(uuid.uuid4()),
            "api_id": api_id,
            "slug": data["slug"],
            "name": data["name"],
            "description": data.get("description", facts.FIELD_DEFAULTS["description"]),
            "field_type": field_type,
            "use_as_url_slug": data.get("use_as_url_slug", False),
            "presentation": {
                "sort_order": facts.SORT_ORDER_DEFAULT,
                **data.get("presentation", {}),
            },
            "validation": rules.full_validation(field_type, data.get("validation")),
            "created_at": stamp,
            "updated_at": stamp,
        }
        created = await run(ext.create_field, field)
        return json_response({"data": render_field(request, created)}, status=201)
    page = page_of(request)
    text = request.query_params.get("filter")
    keep = definition_filter(parse_filters(text) if text else [], facts.FIELD_FILTERS)
    fields = [field for field in await run(ext.list_fields, api_id) if keep(field)]
    fields = sort_records(fields, request.query_params.get("sort"), facts.FIELD_SORTS)
    return render_page(request, [render_field(request, field) for field in fields], page)


async def field_endpoint(request: Request) -> Response:
    ext = store(request)
    api_id = request.path_params["custom_api_id"]
    field_id = request.path_params["custom_field_id"]
    if request.method == "PUT":
        data = await data_of(request, facts.CUSTOM_FIELD_TYPE)
        check_id(data, field_id)
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
        violations = rules.custom_field_violations(
            {**shape, "field_type": field_type}, create=False
        )
        violations += rules.create_only_violations(current, data, facts.FIELD_CREATE_ONLY[:2])
        if violations:
            raise invalid(violations)
        field = await run(ext.update_field, api_id, field_id, data, now_iso())
    elif request.method == "DELETE":
        await run(ext.delete_field, api_id, field_id)
        return Response(status_code=204)
    else:
        field = await run(ext.get_field, api_id, field_id)
    return json_response({"data": render_field(request, field)})


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


def typed(field: Record, text: str, op: str) -> Any:
    """A filter value read as the field's type (400 when it cannot be)."""
    field_type = field["field_type"]
    try:
        if field_type == "integer":
            return int(text)
        if field_type == "float":
            return float(text)
        if field_type == "boolean":
            if text not in ("true", "false"):
                raise ValueError(text)
            return text == "true"
    except ValueError as error:
        raise bad_request(f"{op}({field['slug']},{text}): not a {field_type}") from error
    return text


def coerced(value: Any) -> str:
    """An element of an untyped list as text, so `1` matches 1 and "1" (SPEC type coercion)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


LIST_ATTR_RE = re.compile(r"^(?P<slug>.+?)(?:\[(?P<index>[0-9]{1,3})\]|\.(?P<length>length))$")


def entry_filter(filters: Iterable[Filter], fields: Sequence[Record]) -> Callable[[Record], bool]:
    """A predicate over entries (SPEC ListCustomAPIEntries, ListCustomField filtering)."""
    by_slug = {field["slug"]: field for field in fields}
    checks: list[Callable[[Record], bool]] = []
    for flt in filters:
        arity_ok(flt)
        checks.append(_entry_check(flt, by_slug))
    return lambda entry: all(check(entry) for check in checks)


def _entry_check(flt: Filter, by_slug: Mapping[str, Record]) -> Callable[[Record], bool]:
    op, name = flt.op, flt.attribute
    if name in facts.ENTRY_FILTERS:
        if op not in facts.ENTRY_FILTERS[name]:
            raise bad_request(f"Invalid filter: {op} is not supported on {name}")
        return lambda entry: compare(op, entry.get(name), flt.values)
    field = by_slug.get(name)
    if field is not None:
        field_type = field["field_type"]
        if op not in facts.ENTRY_FIELD_FILTERS[field_type]:
            raise bad_request(f"Invalid filter: {op} is not supported on {field_type} field {name}")
        if field_type == "list":
            return _list_check(flt, field)
        wanted = [typed(field, value, op) for value in flt.values]
        fid = field["id"]
        return lambda entry: compare(op, entry["values"].get(fid), wanted)
    match = LIST_ATTR_RE.match(name)
    field = by_slug.get(match.group("slug")) if match else None
    if match is None or field is None or field["field_type"] != "list":
        allowed = sorted([*facts.ENTRY_FILTERS, *by_slug])
        raise bad_request(
            f"Invalid filter: unknown field [{name}] specified in search filter, "
            f"allowed fields are [{' '.join(allowed)}]"
        )
    allowed_type = field["validation"]["list"].get("allowed_type") or "any"
    fid = field["id"]
    if match.group("length"):
        if op not in facts.LIST_LENGTH_FILTERS:
            raise bad_request(f"Invalid filter: {op} is not supported on {name}")
        wanted_len = [typed({"field_type": "integer", "slug": name}, v, op) for v in flt.values]
        return lambda entry: (
            isinstance(entry["values"].get(fid), list)
            and compare(op, len(entry["values"][fid]), wanted_len)
        )
    if op not in facts.LIST_INDEX_FILTERS or (
        allowed_type == "any" and op in facts.TYPED_LIST_ONLY
    ):
        raise bad_request(f"Invalid filter: {op} is not supported on {name}")
    index = int(match.group("index"))
    element = {"field_type": allowed_type, "slug": name}
    wanted = [typed(element, v, op) if allowed_type != "any" else v for v in flt.values]

    def at_index(entry: Record) -> bool:
        items = entry["values"].get(fid)
        item = items[index] if isinstance(items, list) and index < len(items) else None
        if allowed_type == "any" and item is not None and op != "is_null":
            item = coerced(item)
        return compare(op, item, wanted)

    return at_index


def _list_check(flt: Filter, field: Record) -> Callable[[Record], bool]:
    allowed_type = field["validation"]["list"].get("allowed_type") or "any"
    fid, op = field["id"], flt.op
    if op == "is_null":
        return lambda entry: entry["values"].get(fid) is None
    if op == "contains_all" and allowed_type == "any":
        raise bad_request("Invalid filter: contains_all needs a list with an allowed_type")
    if allowed_type == "any":
        wanted = set(flt.values)

        def items_of(entry: Record) -> set[str]:
            items = entry["values"].get(fid)
            return (
                {coerced(i) for i in items if i is not None} if isinstance(items, list) else set()
            )

    else:
        element = {"field_type": allowed_type, "slug": field["slug"]}
        converted = []
        for value in flt.values:
            try:
                converted.append(typed(element, value, op))
            except Invalid:
                if op == "contains_all":
                    raise
        wanted = set(converted)

        def items_of(entry: Record) -> set[str]:
            items = entry["values"].get(fid)
            return set(items) if isinstance(items, list) else set()

    if op == "contains_all":
        return lambda entry: bool(wanted) and wanted <= items_of(entry)
    return lambda entry: bool(wanted & items_of(entry))  # contains, contains_any


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


# ------------------------------------------------------------------------ generated spec

JSON_TYPES = {
    "string": {"type": ["string", "null"]},
    "integer": {"type": ["integer", "null"]},
    "float": {"type": ["number", "null"]},
    "boolean": {"type": ["boolean", "null"]},
    "list": {"type": ["array", "null"]},
    "any": {},
}


async def openapi_endpoint(request: Request) -> Response:
    """SPEC GetOpenAPISpecification: typed schemas for this store's `/v2/extensions/*`."""
    ext = store(request)
    apis = await run(ext.list_apis)
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for api in sorted(apis, key=lambda a: a["slug"]):
        _, fields = await run(ext.api_with_fields, api["id"], by_slug=False)
        name = api["api_type"]
        properties: dict[str, Any] = {"id": {"type": "string"}, "type": {"const": name}}
        for field in fields:
            properties[field["slug"]] = {**JSON_TYPES[field["field_type"]]}
            if field["description"]:
                properties[field["slug"]]["description"] = field["description"]
        schemas[name] = {"type": "object", "properties": properties}
        ref = {"$ref": f"#/components/schemas/{name}"}
        one = {"content": {"application/json": {"schema": {"properties": {"data": ref}}}}}
        many = {
            "content": {
                "application/json": {
                    "schema": {"properties": {"data": {"type": "array", "items": ref}}}
                }
            }
        }
        base = f"{facts.EXTENSIONS_PREFIX}/{api['slug']}"
        paths[base] = {
            "get": {"summary": f"List {api['name']}", "responses": {"200": many}},
            "post": {"summary": f"Create {api['name']}", "requestBody": one,
                     "responses": {"201": one}},
        }  # fmt: skip
        paths[base + "/{id}"] = {
            "get": {"responses": {"200": one}},
            "put": {"requestBody": one, "responses": {"200": one}},
            "delete": {"responses": {"204": {"description": "No Content"}}},
        }
    spec = {
        "openapi": "3.1.0",
        "info": {"title": "Custom APIs", "version": "1"},
        "paths": paths,
        "components": {"schemas": schemas},
    }
    return json_response(spec)


def routes() -> list[BaseRoute]:
    prefix = facts.SETTINGS_PREFIX
    one_api = prefix + "/{custom_api_id}"
    item = ["GET", "PUT", "DELETE"]
    return [
        Route(prefix, apis_endpoint, methods=["GET", "POST"]),
        Route(one_api, api_endpoint, methods=item),
        Route(one_api + "/fields", fields_endpoint, methods=["GET", "POST"]),
        Route(one_api + "/fields/{custom_field_id}", field_endpoint, methods=item),
        Route(one_api + "/entries", entries_endpoint, methods=["GET", "POST"]),
        Route(one_api + "/entries/{entry_key}", entry_endpoint, methods=item),
        Route("/v2/settings/extensions/specifications/openapi", openapi_endpoint, methods=["GET"]),
        Route(facts.EXTENSIONS_PREFIX + "/{custom_api_slug}", entries_endpoint,
              methods=["GET", "POST"]),
        Route(facts.EXTENSIONS_PREFIX + "/{custom_api_slug}/{entry_key}", entry_endpoint,
              methods=item),
    ]  # fmt: skip
