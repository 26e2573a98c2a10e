"""The local store's core over a real socket: tokens, flows, fields, lists, stats, errors."""

from __future__ import annotations

from typing import Any

import httpx
from support.store import (
    LocalStore,
    add_fields_directly,
    assert_error,
    create_flow,
    field_body,
    flow_body,
    token_for,
)


def test_token_endpoint_rejects_bad_credentials(local_store: LocalStore) -> None:
    url = f"{local_store.base_url}/oauth/access_token"
    wrong = {"grant_type": "client_credentials", "client_id": local_store.client_id}
    assert_error(httpx.post(url, data={**wrong, "client_secret": "nope"}), 401, "Unauthorized")
    assert_error(httpx.post(url, data={"grant_type": "password"}), 400)
    assert_error(httpx.post(url, json={"grant_type": "implicit"}), 415)


def test_v2_routes_need_a_valid_token(local_store: LocalStore) -> None:
    url = f"{local_store.base_url}/v2/flows"
    assert_error(httpx.get(url), 401, "Unable to validate access token")
    assert_error(httpx.get(url, headers={"Authorization": "Bearer " + "0" * 40}), 401)


def test_implicit_token_reads_flows_and_fields_only(local_store: LocalStore) -> None:
    headers = {"Authorization": f"Bearer {token_for(local_store, 'implicit')}"}
    with httpx.Client(base_url=local_store.base_url, headers=headers) as client:
        assert client.get("/v2/flows").status_code == 200
        assert client.get("/v2/fields").status_code == 200
        assert_error(client.post("/v2/flows", json=flow_body("wishlists")), 403, "Forbidden")
        assert_error(client.get("/v2/customers"), 403, "Forbidden")
    assert local_store.write_count() == 1  # the refused POST, with no effect
    assert (
        len(
            httpx.get(f"{local_store.base_url}/v2/flows", headers=local_store.headers()).json()[
                "data"
            ]
        )
        == 0
    )


def test_expired_token_is_refused(local_store_factory: Any) -> None:
    store = local_store_factory(token_ttl=1)
    token = token_for(store)
    response = httpx.post(
        f"{store.base_url}/oauth/access_token",
        data={"grant_type": "implicit", "client_id": store.client_id},
    )
    assert response.json()["expires_in"] == 1
    import time

    time.sleep(1.1)
    assert_error(
        httpx.get(f"{store.base_url}/v2/flows", headers={"Authorization": f"Bearer {token}"}), 401
    )


def test_flow_crud(api: httpx.Client) -> None:
    flow = create_flow(api, "wishlists")
    assert flow["type"] == "flow"
    assert flow["meta"]["owner"] == "store"
    assert flow["links"]["self"].endswith(f"/v2/flows/{flow['id']}")
    assert flow["meta"]["timestamps"]["created_at"].endswith("Z")
    assert len(flow["meta"]["timestamps"]["created_at"]) == len("2017-05-02T10:50:45.622Z")

    got = api.get(f"/v2/flows/{flow['id']}").json()["data"]
    assert got == flow

    response = api.put(
        f"/v2/flows/{flow['id']}",
        json={"data": {"type": "flow", "id": flow["id"], "enabled": False}},
    )
    assert response.status_code == 200
    updated = response.json()["data"]
    assert updated["enabled"] is False
    assert updated["name"] == flow["name"]  # partial update

    assert api.delete(f"/v2/flows/{flow['id']}").status_code == 204
    assert_error(api.get(f"/v2/flows/{flow['id']}"), 404, "Flow not found")
    assert_error(api.delete(f"/v2/flows/{flow['id']}"), 404, "Flow not found")


def test_flow_slug_rules(api: httpx.Client) -> None:
    create_flow(api, "wishlists")
    assert_error(api.post("/v2/flows", json=flow_body("wishlists")), 422, "Failed Validation")
    assert_error(api.post("/v2/flows", json=flow_body("customer")), 422)  # reserved (3.2)
    assert_error(api.post("/v2/flows", json=flow_body("bad slug")), 422)
    other = create_flow(api, "reviews")
    renamed = api.put(
        f"/v2/flows/{other['id']}", json={"data": {"type": "flow", "slug": "wishlists"}}
    )
    assert_error(renamed, 422)
    assert api.post("/v2/flows", json=flow_body("products(book)")).status_code == 201


def test_blank_names_are_refused(api: httpx.Client) -> None:
    blank = flow_body("reviews")
    blank["data"]["name"] = "  "
    assert_error(api.post("/v2/flows", json=blank), 422, "Failed Validation")
    flow = create_flow(api, "reviews")
    assert_error(
        api.put(f"/v2/flows/{flow['id']}", json={"data": {"type": "flow", "name": ""}}), 422
    )
    assert_error(api.post("/v2/fields", json=field_body(flow["id"], "title", name="")), 422)


def test_core_flow_cannot_be_deleted_but_can_be_renamed(api: httpx.Client) -> None:
    flow = create_flow(api, "customers")
    assert_error(api.delete(f"/v2/flows/{flow['id']}"), 405)
    rename = {"data": {"type": "flow", "id": flow["id"], "slug": "old-customers"}}
    assert api.put(f"/v2/flows/{flow['id']}", json=rename).status_code == 200
    assert api.delete(f"/v2/flows/{flow['id']}").status_code == 204


def test_field_crud_and_defaults(api: httpx.Client) -> None:
    flow = create_flow(api, "wishlists")
    response = api.post("/v2/fields", json=field_body(flow["id"], "note"))
    assert response.status_code == 201, response.text
    field = response.json()["data"]
    defaults: dict[str, Any] = {
        "enabled": True,
        "order": None,
        "default": None,
        "omit_null": False,
        "unique": False,
        "required": False,
        "validation_rules": [],
    }
    for key, value in defaults.items():
        assert field[key] == value, key
    assert field["relationships"]["flow"]["data"] == {"type": "flow", "id": flow["id"]}

    same_type = {"data": {"type": "field", "field_type": "string", "name": "Note"}}
    assert api.put(f"/v2/fields/{field['id']}", json=same_type).json()["data"]["name"] == "Note"
    assert_error(
        api.put(
            f"/v2/fields/{field['id']}", json={"data": {"type": "field", "field_type": "integer"}}
        ),
        422,
    )
    other = create_flow(api, "reviews")
    move = {
        "data": {
            "type": "field",
            "relationships": {"flow": {"data": {"type": "flow", "id": other["id"]}}},
        }
    }
    assert_error(api.put(f"/v2/fields/{field['id']}", json=move), 422)

    assert api.delete(f"/v2/fields/{field['id']}").status_code == 204
    assert_error(api.get(f"/v2/fields/{field['id']}"), 404, "Field not found")


def test_field_slugs_are_unique_per_flow(api: httpx.Client) -> None:
    one, two = create_flow(api, "wishlists"), create_flow(api, "reviews")
    assert api.post("/v2/fields", json=field_body(one["id"], "note")).status_code == 201
    assert_error(api.post("/v2/fields", json=field_body(one["id"], "note")), 422)
    assert api.post("/v2/fields", json=field_body(two["id"], "note")).status_code == 201
    assert_error(api.post("/v2/fields", json=field_body(one["id"], "id")), 422)  # reserved


def test_field_types_and_rule_shapes_are_checked(api: httpx.Client) -> None:
    flow = create_flow(api, "wishlists")
    bad = [
        field_body(flow["id"], "a", "text"),
        field_body(flow["id"], "b", "integer", validation_rules=[{"type": "email"}]),
        field_body(
            flow["id"], "c", "integer", validation_rules=[{"type": "between", "options": [1]}]
        ),
        field_body(flow["id"], "d", "string", validation_rules=[{"type": "enum", "options": [1]}]),
        field_body(flow["id"], "e", "relationship"),
        field_body(flow["id"], "f", "string", order="1"),
        field_body("00000000-0000-0000-0000-000000000000", "g"),
    ]
    for body in bad:
        assert_error(api.post("/v2/fields", json=body), 422)
    good = field_body(
        flow["id"],
        "rating",
        "integer",
        validation_rules=[{"type": "between", "options": {"from": 1, "to": 5}}],
    )
    assert api.post("/v2/fields", json=good).status_code == 201


def test_a_flow_holds_at_most_100_fields(local_store: LocalStore, api: httpx.Client) -> None:
    flow = create_flow(api, "wishlists")
    add_fields_directly(local_store, flow["id"], 99)
    assert api.post("/v2/fields", json=field_body(flow["id"], "last")).status_code == 201
    assert_error(api.post("/v2/fields", json=field_body(flow["id"], "f100")), 422)


def test_lists_are_paginated(api: httpx.Client) -> None:
    slugs = [f"flow-{index:02d}" for index in range(30)]
    for slug in slugs:
        create_flow(api, slug)
    first = api.get("/v2/flows").json()
    assert [f["slug"] for f in first["data"]] == slugs[:25]
    assert first["meta"]["page"] == {"limit": 25, "offset": 0, "current": 1, "total": 2}
    assert first["meta"]["results"]["total"] == 30
    assert first["links"]["prev"] is None
    second = httpx.get(first["links"]["next"], headers=api.headers).json()
    assert [f["slug"] for f in second["data"]] == slugs[25:]
    assert second["links"]["next"] is None
    assert second["meta"]["page"]["current"] == 2
    page = api.get("/v2/flows", params={"page[limit]": 1000, "page[offset]": 10}).json()
    assert page["meta"]["page"]["limit"] == 100
    assert len(page["data"]) == 20
    assert_error(api.get("/v2/flows", params={"page[limit]": "x"}), 400)
    assert_error(api.get("/v2/flows", params={"page[offset]": -1}), 400)


def test_flow_fields_list_takes_the_slug(api: httpx.Client) -> None:
    flow = create_flow(api, "wishlists")
    api.post("/v2/fields", json=field_body(flow["id"], "note"))
    listed = api.get("/v2/flows/wishlists/fields").json()
    assert [f["slug"] for f in listed["data"]] == ["note"]
    assert_error(api.get("/v2/flows/nothing/fields"), 404, "Flow not found")


def test_deleting_a_flow_deletes_its_fields(api: httpx.Client) -> None:
    flow = create_flow(api, "wishlists")
    api.post("/v2/fields", json=field_body(flow["id"], "note"))
    assert api.delete(f"/v2/flows/{flow['id']}").status_code == 204
    assert api.get("/v2/fields").json()["data"] == []


def test_stats_count_requests_by_route_and_status(local_store: LocalStore) -> None:
    headers = {"Authorization": f"Bearer {token_for(local_store)}"}  # one counted token request
    with httpx.Client(base_url=local_store.base_url, headers=headers, timeout=10) as api:
        create_flow(api, "wishlists")
        api.get("/v2/flows")
    stats = local_store.stats()
    assert {"method": "POST", "route": "/oauth/access_token", "status": 200, "count": 1} in stats[
        "requests"
    ]
    assert {"method": "POST", "route": "/v2/flows", "status": 201, "count": 1} in stats["requests"]
    assert stats["total"] == 3
    assert local_store.write_count() == 1
    local_store.reset_stats()
    assert local_store.stats() == {"total": 0, "requests": []}
    assert_error(httpx.get(local_store.base_url + "/v2/local-store/stats"), 401)
