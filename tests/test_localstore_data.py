"""Entries, relationships and extended customers in the local store, over a real socket."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from support.store import assert_error, create_flow, field_body


def add_field(
    api: httpx.Client, flow_id: str, slug: str, field_type: str = "string", **extra: Any
) -> dict[str, Any]:
    response = api.post("/v2/fields", json=field_body(flow_id, slug, field_type, **extra))
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def entry(api: httpx.Client, slug: str, **values: Any) -> httpx.Response:
    return api.post(f"/v2/flows/{slug}/entries", json={"data": {"type": "entry", **values}})


def test_entry_values_are_checked_against_the_fields(api: httpx.Client) -> None:
    flow = create_flow(api, "reviews")
    add_field(api, flow["id"], "title", required=True)
    add_field(
        api,
        flow["id"],
        "stars",
        "integer",
        validation_rules=[{"type": "between", "options": {"from": 1, "to": 5}}],
    )
    add_field(
        api, flow["id"], "mood", validation_rules=[{"type": "enum", "options": ["good", "bad"]}]
    )
    add_field(api, flow["id"], "contact", validation_rules=[{"type": "email"}])
    add_field(api, flow["id"], "score", "float")
    add_field(api, flow["id"], "seen", "boolean", default=False)
    add_field(api, flow["id"], "day", "date")
    add_field(api, flow["id"], "hidden", omit_null=True)
    add_field(api, flow["id"], "off", enabled=False)

    created = entry(
        api, "reviews", title="Great", stars=5, score=4, day="2024-02-29", unknown=1, off="x"
    )
    assert created.status_code == 201, created.text
    data = created.json()["data"]
    assert data["type"] == "entry"
    assert data["title"] == "Great"
    assert data["stars"] == 5
    assert data["mood"] is None  # unset: null
    assert data["seen"] is False  # the default, applied on create
    assert "hidden" not in data  # omit_null
    assert "off" not in data  # disabled fields are neither applied nor returned
    assert "unknown" not in data  # unknown keys dropped
    assert data["links"]["self"].endswith(f"/v2/flows/reviews/entries/{data['id']}")

    for bad in (
        {"stars": 6},
        {"stars": "5"},
        {"stars": True},
        {"mood": "meh"},
        {"contact": "not-an-email"},
        {"score": "1.5"},
        {"day": "2023-02-29"},
        {"title": 3},
    ):
        response = entry(api, "reviews", **{"title": "t", **bad})
        assert_error(response, 422, "Failed Validation")
        assert next(iter(bad)) in response.json()["errors"][0]["detail"]
    assert_error(entry(api, "reviews", stars=3), 422)  # required title missing

    entry_id = data["id"]
    put = api.put(
        f"/v2/flows/reviews/entries/{entry_id}",
        json={"data": {"type": "entry", "id": entry_id, "mood": "good"}},
    )
    assert put.status_code == 200
    assert put.json()["data"]["mood"] == "good"
    assert put.json()["data"]["title"] == "Great"  # partial
    null_required = {"data": {"type": "entry", "title": None}}
    assert_error(api.put(f"/v2/flows/reviews/entries/{entry_id}", json=null_required), 422)

    listed = api.get("/v2/flows/reviews/entries").json()
    assert listed["meta"]["results"]["total"] == 1
    assert api.delete(f"/v2/flows/reviews/entries/{entry_id}").status_code == 204
    assert_error(api.get(f"/v2/flows/reviews/entries/{entry_id}"), 404, "Entry not found")
    assert_error(api.get("/v2/flows/nothing/entries"), 404, "Flow not found")


def test_a_wrong_default_is_kept_but_never_applied(api: httpx.Client) -> None:
    flow = create_flow(api, "notes")
    field = add_field(api, flow["id"], "text", default=0)
    assert field["default"] == 0
    assert entry(api, "notes").json()["data"]["text"] is None


def test_client_chosen_entry_ids(api: httpx.Client) -> None:
    create_flow(api, "products(book)")
    chosen = str(uuid.uuid4())
    created = entry(api, "products(book)", id=chosen)
    assert created.status_code == 201
    assert created.json()["data"]["id"] == chosen
    assert_error(entry(api, "products(book)", id=chosen), 409)
    assert_error(entry(api, "products(book)", id="not-a-uuid"), 422)


def test_deleted_field_values_never_come_back(api: httpx.Client) -> None:
    flow = create_flow(api, "notes")
    field = add_field(api, flow["id"], "text")
    entry_id = entry(api, "notes", text="kept?").json()["data"]["id"]
    assert api.delete(f"/v2/fields/{field['id']}").status_code == 204
    add_field(api, flow["id"], "text")
    assert api.get(f"/v2/flows/notes/entries/{entry_id}").json()["data"]["text"] is None


def test_renamed_field_keeps_its_values(api: httpx.Client) -> None:
    flow = create_flow(api, "notes")
    field = add_field(api, flow["id"], "text")
    entry_id = entry(api, "notes", text="kept").json()["data"]["id"]
    api.put(f"/v2/fields/{field['id']}", json={"data": {"type": "field", "slug": "body"}})
    got = api.get(f"/v2/flows/notes/entries/{entry_id}").json()["data"]
    assert got["body"] == "kept"
    assert "text" not in got


def test_deleting_a_flow_deletes_its_entries(api: httpx.Client) -> None:
    flow = create_flow(api, "notes")
    entry(api, "notes")
    api.delete(f"/v2/flows/{flow['id']}")
    create_flow(api, "notes")
    assert api.get("/v2/flows/notes/entries").json()["data"] == []


def test_relationship_endpoints_add_replace_and_clear(api: httpx.Client) -> None:
    flow = create_flow(api, "wishlists")
    add_field(
        api,
        flow["id"],
        "items",
        "relationship",
        validation_rules=[{"type": "one-to-many", "to": "product"}],
    )
    add_field(
        api,
        flow["id"],
        "owner",
        "relationship",
        validation_rules=[{"type": "one-to-one", "to": "customer"}],
    )
    entry_id = entry(api, "wishlists").json()["data"]["id"]
    path = f"/v2/flows/wishlists/entries/{entry_id}/relationships"
    a, b, c = ({"type": "product", "id": str(uuid.uuid4())} for _ in range(3))

    added = api.post(f"{path}/items", json={"data": [a, b]})
    assert added.status_code == 201
    assert added.json()["data"] == [a, b]
    assert api.post(f"{path}/items", json={"data": [b, c]}).json()["data"] == [a, b, c]
    got = api.get(f"/v2/flows/wishlists/entries/{entry_id}").json()["data"]
    assert got["relationships"]["items"]["data"] == [a, b, c]
    assert got["relationships"]["owner"]["data"] is None
    assert api.put(f"{path}/items", json={"data": [c]}).json()["data"] == [c]
    assert api.delete(f"{path}/items").status_code == 204
    got = api.get(f"/v2/flows/wishlists/entries/{entry_id}").json()["data"]
    assert got["relationships"]["items"]["data"] == []

    owner = {"type": "customer", "id": str(uuid.uuid4())}
    assert api.post(f"{path}/owner", json={"data": owner}).status_code == 201
    assert_error(
        api.post(f"{path}/owner", json={"data": [{"type": "customer", "id": str(uuid.uuid4())}]}),
        422,
    )
    assert_error(api.post(f"{path}/missing", json={"data": [a]}), 404, "Field not found")
    assert_error(api.post(f"{path}/items", json={"data": [{"type": "product"}]}), 422)


def test_customers_carry_the_customers_flow_fields(api: httpx.Client) -> None:
    plain = api.post(
        "/v2/customers",
        json={
            "data": {
                "type": "customer",
                "name": "Ann",
                "email": "ann@example.com",
                "password": "s3cret",
            }
        },
    )
    assert plain.status_code == 201, plain.text
    assert plain.json()["data"]["password"] is True
    assert "s3cret" not in plain.text

    flow = create_flow(api, "customers")
    add_field(
        api, flow["id"], "tier", validation_rules=[{"type": "enum", "options": ["gold", "silver"]}]
    )
    add_field(api, flow["id"], "quiet", omit_null=True)
    assert_error(api.post("/v2/fields", json=field_body(flow["id"], "email")), 422)  # shadows

    got = api.get(f"/v2/customers/{plain.json()['data']['id']}").json()["data"]
    assert got["tier"] is None
    assert "quiet" not in got

    body = {
        "data": {
            "type": "customer",
            "name": "Bob",
            "email": "bob@example.com",
            "tier": "gold",
            "nope": 1,
        }
    }
    bob = api.post("/v2/customers", json=body).json()["data"]
    assert bob["tier"] == "gold"
    assert "nope" not in bob
    assert_error(api.post("/v2/customers", json={"data": {**body["data"], "tier": "bronze"}}), 422)
    assert_error(
        api.post("/v2/customers", json={"data": {"type": "customer", "name": "No email"}}), 422
    )

    as_entry = api.get(f"/v2/flows/customers/entries/{bob['id']}").json()["data"]
    assert as_entry["tier"] == "gold"
    assert as_entry["type"] == "entry"
    assert_error(api.post("/v2/flows/customers/entries", json={"data": {"type": "entry"}}), 405)

    renamed = api.put(
        f"/v2/flows/{flow['id']}", json={"data": {"type": "flow", "slug": "old-customers"}}
    )
    assert renamed.status_code == 200
    assert "tier" not in api.get(f"/v2/customers/{bob['id']}").json()["data"]


def test_customer_lists_filter_sort_and_paginate(api: httpx.Client) -> None:
    for name in ("Ron Swanson", "Leslie Knope", "Ann Perkins"):
        email = name.lower().replace(" ", ".") + "@example.com"
        api.post("/v2/customers", json={"data": {"type": "customer", "name": name, "email": email}})
    newest_first = api.get("/v2/customers").json()
    assert [c["name"] for c in newest_first["data"]] == [
        "Ann Perkins",
        "Leslie Knope",
        "Ron Swanson",
    ]
    by_email = api.get(
        "/v2/customers", params={"filter": "eq(email,ron.swanson@example.com)"}
    ).json()
    assert [c["name"] for c in by_email["data"]] == ["Ron Swanson"]
    like = api.get("/v2/customers", params={"filter": "like(name,*Kno*)"}).json()
    assert [c["name"] for c in like["data"]] == ["Leslie Knope"]
    both = api.get(
        "/v2/customers", params={"filter": 'like(email,*example*):eq(name,"Ann Perkins")'}
    )
    assert [c["name"] for c in both.json()["data"]] == ["Ann Perkins"]
    by_name = api.get("/v2/customers", params={"sort": "name", "page[limit]": 2}).json()
    assert [c["name"] for c in by_name["data"]] == ["Ann Perkins", "Leslie Knope"]
    assert by_name["meta"]["results"]["total"] == 3
    assert_error(api.get("/v2/customers", params={"filter": "eq(email"}), 400)
    assert_error(api.get("/v2/customers", params={"filter": "gt(email,a)"}), 400)
    assert_error(api.get("/v2/customers", params={"sort": "password"}), 400)


def test_customer_update_and_delete(api: httpx.Client) -> None:
    created = api.post(
        "/v2/customers", json={"data": {"type": "customer", "name": "A", "email": "a@example.com"}}
    ).json()["data"]
    path = f"/v2/customers/{created['id']}"
    updated = api.put(
        path, json={"data": {"type": "customer", "id": created["id"], "email": "b@example.com"}}
    )
    assert updated.status_code == 200
    assert updated.json()["data"]["name"] == "A"
    assert updated.json()["data"]["email"] == "b@example.com"
    assert_error(api.put(path, json={"data": {"type": "customer", "id": str(uuid.uuid4())}}), 422)
    assert_error(api.put(path, json={"data": {"type": "customer", "name": None}}), 422)
    assert api.delete(path).status_code == 204
    assert_error(api.get(path), 404)
