"""The local store's Commerce Extensions over a real socket (epcc-api.md 10, issue 14 item 3).

The first test is the seed-style walkthrough for a Custom API: create an API, add fields,
create an entry through `/v2/extensions/{slug}`, read it back, update it with `If-Match`.
The others go through the definitions, entries, lists and errors endpoint by endpoint.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from support.store import LocalStore

APIS = "/v2/settings/extensions/custom-apis"


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()["data"] if response.content else None


def error(response: httpx.Response, status: int) -> str:
    """The detail of an error answer, checking this spec's shape (`status` a string)."""
    assert response.status_code == status, response.text
    errors = response.json()["errors"]
    assert errors[0]["status"] == str(status)
    return str(errors[0]["detail"])


def test_the_layers_answers_have_a_string_status_too(local_store: LocalStore) -> None:
    """401 (no token) and Starlette's 405 at extensions paths take the SPEC Errors shape."""
    with httpx.Client(base_url=local_store.base_url) as anonymous:
        error(anonymous.get(APIS), 401)
    with httpx.Client(base_url=local_store.base_url, headers=local_store.headers()) as client:
        error(client.patch(APIS), 405)


def new_api(client: httpx.Client, slug: str, **extra: Any) -> dict[str, Any]:
    body = {"type": "custom_api", "name": slug.title(), "slug": slug, "api_type": f"{slug}_ext"}
    return dict(ok(client.post(APIS, json={"data": {**body, **extra}}), 201))


def new_field(
    client: httpx.Client, api_id: str, slug: str, field_type: str = "string", **extra: Any
) -> dict[str, Any]:
    body = {"type": "custom_field", "name": slug, "slug": slug, "field_type": field_type}
    response = client.post(f"{APIS}/{api_id}/fields", json={"data": {**body, **extra}})
    return dict(ok(response, 201))


def test_walkthrough_create_api_fields_entry_read_update_with_if_match(
    api: httpx.Client,
) -> None:
    wishlists = new_api(api, "wishlists", description="Customer wishlists")
    assert wishlists["type"] == "custom_api"
    assert wishlists["api_type"] == "wishlists_ext"
    assert wishlists["allow_upserts"] is False
    assert wishlists["relationships"] == {"parent_apis": {"data": []}}
    name = new_field(api, wishlists["id"], "name", validation={"string": {"max_length": 64}})
    assert name["validation"]["string"] == {
        "min_length": None,
        "max_length": 64,
        "regex": None,
        "allow_null_values": True,
        "immutable": False,
        "unique": "no",
        "unique_case_insensitivity": False,
    }
    new_field(api, wishlists["id"], "items_count", "integer")
    new_field(api, wishlists["id"], "keep_purchased", "boolean")
    new_field(api, wishlists["id"], "tags", "list", validation={"list": {"allowed_type": "string"}})

    created = api.post(
        "/v2/extensions/wishlists",
        json={
            "data": {
                "type": "wishlists_ext",
                "name": "My Wishlist",
                "items_count": 0,
                "keep_purchased": False,
                "tags": ["birthday", "gifts"],
            }
        },
    )
    entry = ok(created, 201)
    assert entry["type"] == "wishlists_ext"
    assert entry["links"]["self"].endswith(f"/v2/extensions/wishlists/{entry['id']}")
    assert created.headers["etag"] == f'W/"{entry["meta"]["etag_id"]}"'
    assert entry["meta"]["resource_version"] == 0

    read = api.get(f"/v2/extensions/wishlists/{entry['id']}")
    assert ok(read) == entry
    assert read.headers["etag"] == created.headers["etag"]
    # The settings endpoint reaches the same entry by the API's id.
    assert ok(api.get(f"{APIS}/{wishlists['id']}/entries/{entry['id']}")) == entry

    update = {"data": {"type": "wishlists_ext", "items_count": 1, "tags": ["priority"]}}
    stale = 'W/"' + "0" * 64 + '"'
    detail = error(
        api.put(
            f"/v2/extensions/wishlists/{entry['id']}", json=update, headers={"If-Match": stale}
        ),
        412,
    )
    assert "does not match the current ETag" in detail
    updated_response = api.put(
        f"/v2/extensions/wishlists/{entry['id']}",
        json=update,
        headers={"If-Match": read.headers["etag"]},
    )
    updated = ok(updated_response)
    assert updated["items_count"] == 1
    assert updated["tags"] == ["priority"]
    assert updated["name"] == "My Wishlist"  # PUT is partial
    assert updated["meta"]["resource_version"] == 1
    assert updated_response.headers["etag"] != read.headers["etag"]
    # The old ETag is stale now, for updates and deletes alike.
    again = api.put(
        f"/v2/extensions/wishlists/{entry['id']}",
        json=update,
        headers={"If-Match": read.headers["etag"]},
    )
    error(again, 412)
    gone = api.delete(
        f"/v2/extensions/wishlists/{entry['id']}", headers={"If-Match": read.headers["etag"]}
    )
    error(gone, 412)
    deleted = api.delete(
        f"/v2/extensions/wishlists/{entry['id']}",
        headers={"If-Match": updated_response.headers["etag"]},
    )
    assert deleted.status_code == 204
    error(api.get(f"/v2/extensions/wishlists/{entry['id']}"), 404)


# ----------------------------------------------------------------------------- definitions


def test_duplicate_api_type_slug_and_field_slug_are_409(api: httpx.Client) -> None:
    first = new_api(api, "wishlists")
    body = {"type": "custom_api", "name": "Other", "slug": "other", "api_type": "wishlists_ext"}
    assert error(api.post(APIS, json={"data": body}), 409) == (
        "custom_api with the given api_type already exists"
    )
    body = {"type": "custom_api", "name": "Other", "slug": "wishlists", "api_type": "other_ext"}
    assert "slug already exists" in error(api.post(APIS, json={"data": body}), 409)
    second = new_api(api, "other")
    rename = {"data": {"type": "custom_api", "slug": "wishlists"}}
    error(api.put(f"{APIS}/{second['id']}", json=rename), 409)

    new_field(api, first["id"], "name")
    field = {"data": {"type": "custom_field", "name": "N", "slug": "name", "field_type": "integer"}}
    assert error(api.post(f"{APIS}/{first['id']}/fields", json=field), 409) == (
        "custom_field with the given slug already exists"
    )
    new_field(api, second["id"], "name")  # slugs are unique within one API only
    assert len(ok(api.get(APIS))) == 2


@pytest.mark.parametrize(
    ("body", "word"),
    [
        ({"slug": "Wish Lists"}, "data.slug"),
        ({"api_type": "wishlists"}, "data.api_type"),
        ({"name": ""}, "data.name"),
        ({"presentation": {"section": "s"}}, "data.presentation.section"),
        ({"colour": "red"}, "data.colour"),
        ({"relationships": {"parent_apis": {"data": [{"type": "api_location", "id": "/v3"}]}}},
         "data.relationships.parent_apis.data[0].id"),
    ],
)  # fmt: skip
def test_custom_api_definition_is_checked(
    api: httpx.Client, body: dict[str, Any], word: str
) -> None:
    data = {"type": "custom_api", "name": "W", "slug": "w", "api_type": "w_ext", **body}
    assert word in error(api.post(APIS, json={"data": data}), 400)
    assert ok(api.get(APIS)) == []


@pytest.mark.parametrize(
    ("body", "word"),
    [
        ({"slug": "created_at"}, "reserved"),
        ({"field_type": "date"}, "data.field_type"),
        ({"validation": {"integer": {"min_value": 1}}}, "data.validation.integer"),
        ({"validation": {"string": {"min_length": 9, "max_length": 3}}}, "greater than"),
        ({"validation": {"string": {"regex": "(a)\\1"}}}, "RE2"),
        ({"validation": {"string": {"regex": "^(?!admin).*$"}}}, "RE2"),
        ({"presentation": {"sort_order": -1}}, "data.presentation.sort_order"),
        ({"use_as_url_slug": True}, "data.use_as_url_slug"),
        ({"field_type": "any", "validation": {"any": {"json_schema": {
            "version": "2020-12", "schema": json.dumps({"$ref": "https://example.com/x"})}}}},
         "external"),
        ({"field_type": "any", "validation": {"any": {"json_schema": {
            "version": "2020-12", "schema": json.dumps({"type": "nothing"})}}}},
         "2020-12 schema"),
        ({"field_type": "any", "validation": {"any": {"json_schema": {
            "version": "2020-12", "schema": json.dumps({"$ref": "#/$defs/missing"})}}}},
         "points at nothing"),
        ({"field_type": "list", "validation": {"list": {"json_schema": {"version": "2020-12",
            "schema": json.dumps({"items": {"$id": "https://e.com/i", "$ref": "#/no"}})}}}},
         "points at nothing"),
    ],
)  # fmt: skip
def test_custom_field_definition_is_checked(
    api: httpx.Client, body: dict[str, Any], word: str
) -> None:
    parent = new_api(api, "wishlists")
    data = {"type": "custom_field", "name": "N", "slug": "n", "field_type": "string", **body}
    assert word in error(api.post(f"{APIS}/{parent['id']}/fields", json={"data": data}), 400)
    assert ok(api.get(f"{APIS}/{parent['id']}/fields")) == []


def test_create_only_attributes_are_refused_on_update(api: httpx.Client) -> None:
    parent = new_api(api, "wishlists")
    path = f"{APIS}/{parent['id']}"
    detail = error(api.put(path, json={"data": {"type": "custom_api", "api_type": "x_ext"}}), 400)
    assert "data.api_type" in detail
    field = new_field(
        api,
        parent["id"],
        "code",
        validation={"string": {"unique": "yes", "allow_null_values": False}},
    )
    field_path = f"{path}/fields/{field['id']}"
    changes: list[tuple[dict[str, Any], str]] = [
        ({"field_type": "integer"}, "data.field_type"),
        ({"use_as_url_slug": True}, "data.use_as_url_slug"),
        ({"validation": {"string": {"unique": "no"}}}, "data.validation.string.unique"),
        (
            {"validation": {"string": {"unique_case_insensitivity": True}}},
            "data.validation.string.unique_case_insensitivity",
        ),
    ]
    for change, where in changes:
        response = api.put(field_path, json={"data": {"type": "custom_field", **change}})
        assert where in error(response, 400), change
    tags = new_field(api, parent["id"], "tags", "list")
    response = api.put(
        f"{path}/fields/{tags['id']}",
        json={"data": {"type": "custom_field", "validation": {"list": {"allowed_type": "string"}}}},
    )
    assert "data.validation.list.allowed_type" in error(response, 400)
    # Repeating a create-only value unchanged is no change; other attributes do change.
    same = {
        "type": "custom_field",
        "field_type": "string",
        "name": "Code",
        "validation": {"string": {"unique": "yes", "max_length": 8}},
    }
    updated = ok(api.put(field_path, json={"data": same}))
    assert updated["name"] == "Code"
    assert updated["validation"]["string"]["max_length"] == 8
    assert updated["validation"]["string"]["unique"] == "yes"
    assert updated["validation"]["string"]["allow_null_values"] is False  # merged, not reset
    renamed = ok(api.put(path, json={"data": {"type": "custom_api", "name": "Lists"}}))
    assert renamed["api_type"] == "wishlists_ext"
    assert renamed["name"] == "Lists"


def test_parents_must_exist_stay_two_deep_and_form_no_cycle(api: httpx.Client) -> None:
    def parents(*ids: str, location: bool = False) -> dict[str, Any]:
        data = [{"type": "custom_api", "id": i} for i in ids]
        if location:
            data.append({"type": "api_location", "id": "/v2/extensions"})
        return {"parent_apis": {"data": data}}

    top = new_api(api, "top", relationships=parents(location=True))
    assert top["relationships"]["parent_apis"]["data"] == [
        {"type": "api_location", "id": "/v2/extensions"}
    ]
    child = new_api(api, "child", relationships=parents(top["id"]))
    grandchild = new_api(api, "grandchild", relationships=parents(child["id"]))
    body = {"type": "custom_api", "name": "G", "slug": "great", "api_type": "great_ext"}
    deep = {**body, "relationships": parents(grandchild["id"])}
    assert "3 parents deep" in error(api.post(APIS, json={"data": deep}), 400)
    ghost = {**body, "relationships": parents("2f0b7c52-7d3c-4f41-9d5c-1b0f3e0e0a11")}
    assert "no Custom API" in error(api.post(APIS, json={"data": ghost}), 400)
    cycle = {"data": {"type": "custom_api", "relationships": parents(grandchild["id"])}}
    assert "cycle" in error(api.put(f"{APIS}/{top['id']}", json=cycle), 400)
    # A parent cannot be deleted while it has children; leaves go first.
    assert "parent of child" in error(api.delete(f"{APIS}/{top['id']}"), 409)
    for item in (grandchild, child, top):
        assert api.delete(f"{APIS}/{item['id']}").status_code == 204
    assert ok(api.get(APIS)) == []


def test_field_rename_keeps_values_delete_drops_them(api: httpx.Client) -> None:
    parent = new_api(api, "notes")
    field = new_field(api, parent["id"], "text")
    entry = ok(
        api.post("/v2/extensions/notes", json={"data": {"type": "notes_ext", "text": "a"}}), 201
    )
    field_path = f"{APIS}/{parent['id']}/fields/{field['id']}"
    ok(api.put(field_path, json={"data": {"type": "custom_field", "slug": "body"}}))
    assert ok(api.get(f"/v2/extensions/notes/{entry['id']}"))["body"] == "a"
    assert api.delete(field_path).status_code == 204
    new_field(api, parent["id"], "body")
    assert ok(api.get(f"/v2/extensions/notes/{entry['id']}"))["body"] is None
    # Deleting the API takes its fields and entries with it.
    assert api.delete(f"{APIS}/{parent['id']}").status_code == 204
    error(api.get("/v2/extensions/notes"), 404)
    error(api.get(f"{APIS}/{parent['id']}/entries/{entry['id']}"), 404)


# ---------------------------------------------------------------------------------- entries


def test_an_entry_against_a_schema_that_cannot_be_applied_is_a_400(api: httpx.Client) -> None:
    """A `$ref` loop resolves (the field is accepted) but no value can be checked against it:
    the entry is refused with the reason, never a 500."""
    parent = new_api(api, "loops")
    loop = {"$ref": "#/$defs/a", "$defs": {"a": {"$ref": "#/$defs/a"}}}
    new_field(api, parent["id"], "extra", "any", validation={"any": {"json_schema": {
              "version": "2020-12", "schema": json.dumps(loop)}}})  # fmt: skip
    answer = api.post("/v2/extensions/loops", json={"data": {"type": "loops_ext", "extra": 1}})
    detail = error(answer, 400)
    assert "data.extra" in detail
    assert "JSON Schema cannot be applied (RecursionError" in detail
    assert ok(api.get("/v2/extensions/loops")) == []


@pytest.fixture
def typed_api(api: httpx.Client) -> dict[str, Any]:
    parent = new_api(api, "things")
    schema = {"type": "object", "required": ["a"], "properties": {"a": {"type": "integer"}}}
    new_field(api, parent["id"], "label", validation={"string": {"min_length": 2,
              "max_length": 5, "regex": "^[a-z]+$"}})  # fmt: skip
    new_field(api, parent["id"], "count", "integer", validation={"integer": {"min_value": 0}})
    new_field(api, parent["id"], "mass", "float")
    new_field(api, parent["id"], "done", "boolean", validation={"boolean": {"allow_null_values":
              False}})  # fmt: skip
    new_field(api, parent["id"], "extra", "any", validation={"any": {"json_schema": {
              "version": "2020-12", "schema": json.dumps(schema)}}})  # fmt: skip
    new_field(api, parent["id"], "tags", "list", validation={"list": {"allowed_type": "string",
              "max_length": 3}})  # fmt: skip
    new_field(api, parent["id"], "code", validation={"string": {"unique": "yes",
              "unique_case_insensitivity": True}})  # fmt: skip
    new_field(api, parent["id"], "serial", "integer", validation={"integer": {"immutable": True}})
    return parent


@pytest.mark.parametrize(
    ("values", "word"),
    [
        ({"label": "x"}, "data.label"),
        ({"label": "toolong"}, "data.label"),
        ({"label": "ABC"}, "does not match"),
        ({"count": -1}, "data.count"),
        ({"count": "1"}, "data.count"),
        ({"count": 2**53}, "data.count"),
        ({"mass": True}, "data.mass"),
        ({"done": None}, "data.done"),
        ({"extra": {"b": 1}}, "JSON Schema"),
        ({"extra": {"a": "x"}}, "data.extra.a"),
        ({"tags": ["a", 1]}, "data.tags[1]"),
        ({"tags": ["a", "b", "c", "d"]}, "data.tags"),
        ({"nope": 1}, "data.nope"),
    ],
)
def test_entry_values_are_checked_against_the_fields(
    api: httpx.Client, typed_api: dict[str, Any], values: dict[str, Any], word: str
) -> None:
    body = {"type": "things_ext", "done": True, **values}
    assert word in error(api.post("/v2/extensions/things", json={"data": body}), 400)
    assert ok(api.get("/v2/extensions/things")) == []


def test_entry_type_unique_immutable_and_null_rules(
    api: httpx.Client, typed_api: dict[str, Any]
) -> None:
    wrong = {"data": {"type": "other_ext", "done": True}}
    assert "api_type" in error(api.post("/v2/extensions/things", json=wrong), 400)
    missing = {"data": {"type": "things_ext"}}  # `done` allows no null: it needs a value
    assert "data.done" in error(api.post("/v2/extensions/things", json=missing), 400)
    body = {"type": "things_ext", "done": True, "code": "ABC", "serial": 7, "extra": {"a": 1}}
    first = ok(api.post("/v2/extensions/things", json={"data": body}), 201)
    duplicate = {"data": {**body, "code": "abc"}}  # unique, case-insensitively
    assert "code" in error(api.post("/v2/extensions/things", json=duplicate), 409)
    second = ok(api.post("/v2/extensions/things", json={"data": {**body, "code": "xyz"}}), 201)
    path = f"/v2/extensions/things/{second['id']}"
    clash = {"data": {"type": "things_ext", "code": "Abc"}}
    error(api.put(path, json=clash), 409)
    frozen = {"data": {"type": "things_ext", "serial": 8}}
    assert "immutable" in error(api.put(path, json=frozen), 400)
    same = {"data": {"type": "things_ext", "serial": 7, "extra": {"a": 2, "z": [1]}}}
    updated = ok(api.put(path, json=same))
    assert updated["extra"] == {"a": 2, "z": [1]}
    replaced = ok(api.put(path, json={"data": {"type": "things_ext", "extra": {"a": 3}}}))
    assert replaced["extra"] == {"a": 3}  # `any` is replaced, not merged
    assert ok(api.get(f"/v2/extensions/things/{first['id']}"))["code"] == "ABC"


def test_allow_upserts_lets_put_create(api: httpx.Client) -> None:
    parent = new_api(api, "stock")
    new_field(api, parent["id"], "qty", "integer")
    entry_id = "7e067539-6f6c-46e1-8c55-940031b36c6a"
    body = {"data": {"type": "stock_ext", "qty": 1}}
    error(api.put(f"/v2/extensions/stock/{entry_id}", json=body), 404)
    ok(
        api.put(
            f"{APIS}/{parent['id']}", json={"data": {"type": "custom_api", "allow_upserts": True}}
        )
    )
    created = ok(api.put(f"/v2/extensions/stock/{entry_id}", json=body), 201)
    assert created["id"] == entry_id
    assert created["qty"] == 1
    assert (
        ok(api.put(f"/v2/extensions/stock/{entry_id}", json=body))["meta"]["resource_version"] == 1
    )


def test_entries_over_64_kib_are_413(api: httpx.Client) -> None:
    parent = new_api(api, "blobs")
    for slug in ("a", "b"):
        new_field(api, parent["id"], slug)
    half = "x" * 33_000
    first = ok(
        api.post("/v2/extensions/blobs", json={"data": {"type": "blobs_ext", "a": half}}), 201
    )
    too_big = {"data": {"type": "blobs_ext", "b": half}}
    response = api.put(f"/v2/extensions/blobs/{first['id']}", json=too_big)
    assert error(response, 413).startswith("Maximum entry size reached")
    both = {"data": {"type": "blobs_ext", "a": half, "b": half}}
    error(api.post("/v2/extensions/blobs", json=both), 413)
    assert len(ok(api.get("/v2/extensions/blobs"))) == 1


def test_use_as_url_slug(api: httpx.Client) -> None:
    parent = new_api(api, "pages")
    rules = {"string": {"unique": "yes", "allow_null_values": False}}
    new_field(api, parent["id"], "handle", validation=rules, use_as_url_slug=True)
    second = {"type": "custom_field", "name": "h", "slug": "h2", "field_type": "string",
              "use_as_url_slug": True, "validation": rules}  # fmt: skip
    detail = error(api.post(f"{APIS}/{parent['id']}/fields", json={"data": second}), 400)
    assert "at most one" in detail
    assert "is also set on 'handle'" in detail  # the field that holds it, not the new one
    about = {"data": {"type": "pages_ext", "handle": "about-us"}}
    entry = ok(api.post("/v2/extensions/pages", json=about), 201)
    assert entry["links"]["self"].endswith("/v2/extensions/pages/about-us")
    assert ok(api.get("/v2/extensions/pages/about-us"))["id"] == entry["id"]
    bad = {"data": {"type": "pages_ext", "handle": "a b"}}
    assert "URLs" in error(api.post("/v2/extensions/pages", json=bad), 400)
    other = new_api(api, "posts")
    new_field(api, other["id"], "title")
    ok(api.post("/v2/extensions/posts", json={"data": {"type": "posts_ext", "title": "t"}}), 201)
    late = {**second, "slug": "handle"}
    detail = error(api.post(f"{APIS}/{other['id']}/fields", json={"data": late}), 400)
    assert "already has entries" in detail


# ------------------------------------------------------------------------------------ lists


def test_lists_page_filter_and_sort(api: httpx.Client) -> None:
    for slug in ("alpha", "bravo", "charlie"):
        new_api(api, slug, description=f"{slug} list")
    newest_first = [item["slug"] for item in ok(api.get(APIS))]
    assert newest_first == ["charlie", "bravo", "alpha"]  # default sort -created_at
    page = api.get(APIS, params={"page[limit]": 2, "page[offset]": 0, "sort": "slug"}).json()
    assert [item["slug"] for item in page["data"]] == ["alpha", "bravo"]
    assert page["meta"]["page"] == {"limit": 2, "offset": 0, "current": 1, "total": 2}
    assert page["meta"]["results"] == {"total": 3, "total_method": "exact"}
    assert page["links"]["prev"] is None
    following = httpx.get(page["links"]["next"], headers=api.headers).json()
    assert [item["slug"] for item in following["data"]] == ["charlie"]
    assert following["links"]["next"] is None

    def slugs(**params: Any) -> list[str]:
        return [item["slug"] for item in ok(api.get(APIS, params={"sort": "slug", **params}))]

    assert slugs(filter="like(slug,*a*)") == ["alpha", "bravo", "charlie"]
    assert slugs(filter="in(api_type,alpha_ext,charlie_ext)") == ["alpha", "charlie"]
    assert slugs(filter='eq(name,"Bravo"):like(description,bra*)') == ["bravo"]
    assert slugs(sort="-api_type") == ["charlie", "bravo", "alpha"]
    assert "unknown field [version]" in error(
        api.get(APIS, params={"filter": "eq(version,1)"}), 400
    )
    error(api.get(APIS, params={"filter": "eq(slug"}), 400)
    error(api.get(APIS, params={"filter": "gt(slug,a)"}), 400)  # not an operator of slug
    error(api.get(APIS, params={"sort": "description"}), 400)
    error(api.get(APIS, params={"page[offset]": 10_001}), 400)
    assert api.get(APIS, params={"page[limit]": 500}).json()["meta"]["page"]["limit"] == 100


def test_field_lists_filter_by_type(api: httpx.Client) -> None:
    parent = new_api(api, "mixed")
    for slug, field_type in (("a", "string"), ("b", "integer"), ("c", "string")):
        new_field(api, parent["id"], slug, field_type)
    path = f"{APIS}/{parent['id']}/fields"
    found = ok(api.get(path, params={"filter": "eq(field_type,string)", "sort": "slug"}))
    assert [field["slug"] for field in found] == ["a", "c"]
    error(api.get(f"{APIS}/2f0b7c52-7d3c-4f41-9d5c-1b0f3e0e0a11/fields"), 404)


def test_entry_lists_filter_by_field_type_and_total_methods(api: httpx.Client) -> None:
    parent = new_api(api, "items")
    new_field(api, parent["id"], "name")
    new_field(api, parent["id"], "qty", "integer")
    new_field(api, parent["id"], "tags", "list", validation={"list": {"allowed_type": "string"}})
    new_field(api, parent["id"], "mixed", "list")
    rows: list[dict[str, Any]] = [
        {"name": "apple", "qty": 3, "tags": ["red", "fruit"], "mixed": [1, "x"]},
        {"name": "beet", "qty": 10, "tags": ["red"], "mixed": ["1"]},
        {"name": "corn", "qty": None, "tags": ["yellow", "veg", "crop"], "mixed": [True]},
    ]
    for row in rows:
        ok(api.post("/v2/extensions/items", json={"data": {"type": "items_ext", **row}}), 201)

    def names(text: str) -> list[str]:
        found = ok(api.get("/v2/extensions/items", params={"filter": text, "sort": "created_at"}))
        return [item["name"] for item in found]

    assert names("ge(qty,3):lt(qty,10)") == ["apple"]
    assert names("is_null(qty)") == ["corn"]
    assert names("like(name,*e*)") == ["apple", "beet"]
    assert names("in(name,beet,corn)") == ["beet", "corn"]
    assert names("contains(tags,red)") == ["apple", "beet"]
    assert names("contains_all(tags,red,fruit)") == ["apple"]
    assert names("contains_any(tags,veg,fruit)") == ["apple", "corn"]
    assert names("eq(tags[0],yellow)") == ["corn"]
    assert names("ge(tags.length,2)") == ["apple", "corn"]
    assert names("contains(mixed,1)") == ["apple", "beet"]  # untyped lists coerce
    assert names("contains(mixed,true)") == ["corn"]
    error(api.get("/v2/extensions/items", params={"filter": "contains_all(mixed,1)"}), 400)
    error(api.get("/v2/extensions/items", params={"filter": "eq(qty,many)"}), 400)
    error(api.get("/v2/extensions/items", params={"filter": "eq(colour,red)"}), 400)

    observed = api.get(
        "/v2/extensions/items", params={"page[limit]": 1, "page[total_method]": "observed"}
    ).json()
    assert observed["meta"]["results"] == {"total": 2, "total_method": "observed"}
    assert observed["data"][0]["name"] == "corn"  # newest first
    everything = api.get(f"{APIS}/{parent['id']}/entries").json()
    assert everything["meta"]["results"] == {"total": 3, "total_method": "exact"}
    error(api.get("/v2/extensions/items", params={"page[total_method]": "exact"}), 400)


def test_generated_spec_lists_each_api(api: httpx.Client) -> None:
    parent = new_api(api, "wishlists")
    new_field(api, parent["id"], "name", description="the name")
    spec = api.get("/v2/settings/extensions/specifications/openapi").json()
    assert set(spec["paths"]) == {"/v2/extensions/wishlists", "/v2/extensions/wishlists/{id}"}
    properties = spec["components"]["schemas"]["wishlists_ext"]["properties"]
    assert properties["name"] == {"type": ["string", "null"], "description": "the name"}


def test_implicit_tokens_cannot_reach_custom_apis(local_store: LocalStore) -> None:
    form = {"grant_type": "implicit", "client_id": local_store.client_id}
    token = httpx.post(f"{local_store.base_url}/oauth/access_token", data=form).json()
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    assert httpx.get(local_store.base_url + APIS, headers=headers).status_code == 403
    assert httpx.get(local_store.base_url + APIS).status_code == 401
