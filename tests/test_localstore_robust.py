"""The local store under bad input and parallel writes: clear 4xx answers, never a 500, never
a partial write, and uniqueness that holds under concurrency (issue 3 proofs)."""

from __future__ import annotations

import asyncio
import json
import string
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.store import (
    LocalStore,
    add_fields_directly,
    assert_error,
    create_flow,
    field_body,
    flow_body,
)

from provisioner.localstore import StoreSettings, running_server
from provisioner.localstore.auth import Tokens
from provisioner.localstore.storage import Storage

MIB = 1024 * 1024


def test_malformed_json_is_400(api: httpx.Client) -> None:
    json_type = {"Content-Type": "application/json"}
    malformed = (b"{bad", b'{"data": NaN}', b'{"data": {"order": 1e400}}', b"\xff\xfe", b"")
    for body in (*malformed, b'{"data": {"type": "flow", "name": "\\ud800"}}'):
        assert_error(api.post("/v2/flows", content=body, headers=json_type), 400, "Bad Request")


def test_wrong_content_type_is_415(api: httpx.Client) -> None:
    body = json.dumps(flow_body("wishlists")).encode()
    assert_error(api.post("/v2/flows", content=body, headers={"Content-Type": "text/plain"}), 415)
    assert_error(api.post("/v2/flows", content=body), 415)  # no content type at all
    assert api.get("/v2/flows").json()["data"] == []


def test_bodies_over_20_mib_are_413(api: httpx.Client) -> None:
    big = b'{"data": "' + b"x" * (20 * MIB) + b'"}'
    json_type = {"Content-Type": "application/json"}
    assert_error(api.post("/v2/flows", content=big, headers=json_type), 413)

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted while reading
        for _ in range(21):
            yield b" " * MIB

    assert_error(api.post("/v2/flows", content=chunks(), headers=json_type), 413)


def test_unknown_routes_and_wrong_methods(api: httpx.Client) -> None:
    assert_error(api.get("/v2/unknown"), 404)
    assert_error(api.get("/v2/flows/"), 404)
    assert_error(api.get("/nothing"), 404)
    response = api.patch("/v2/flows", json={})
    assert_error(response, 405)
    assert "POST" in response.headers["allow"]
    assert_error(api.post("/v2/fields/some-id", json={}), 405)


def test_malformed_page_numbers_are_400(api: httpx.Client) -> None:
    # Python's int() also reads "1_0", " 1" and full-width digits: none is an integer here.
    for value in ("1_0", " 1", "\uff11", "+1", "1.0", "0x10"):
        assert_error(api.get("/v2/flows", params={"page[limit]": value}), 400)
        assert_error(api.get("/v2/flows", params={"page[offset]": value}), 400)


def test_malformed_customer_sorts_are_400(api: httpx.Client) -> None:
    for sort in ("--name", "-", "name,email", "password"):
        assert_error(api.get("/v2/customers", params={"sort": sort}), 400)
    assert api.get("/v2/customers", params={"sort": "-name"}).status_code == 200


def test_bodies_of_the_wrong_shape_are_422(api: httpx.Client) -> None:
    bodies: list[Any] = [[], {"data": []}, {"data": {"name": "x"}}, {"data": {"type": "field"}}, {}]
    for body in bodies:
        assert_error(api.post("/v2/flows", json=body), 422, "Failed Validation")


def test_no_partial_writes(api: httpx.Client) -> None:
    flow = create_flow(api, "customers")
    api.post(
        "/v2/fields",
        json=field_body(
            flow["id"], "tier", validation_rules=[{"type": "enum", "options": ["gold"]}]
        ),
    )
    bad_customer = {
        "data": {"type": "customer", "name": "A", "email": "a@example.com", "tier": "tin"}
    }
    assert_error(api.post("/v2/customers", json=bad_customer), 422)
    assert api.get("/v2/customers").json()["meta"]["results"]["total"] == 0

    field = api.post("/v2/fields", json=field_body(flow["id"], "note")).json()["data"]
    clash = {"data": {"type": "field", "name": "Renamed", "slug": "tier"}}
    assert_error(api.put(f"/v2/fields/{field['id']}", json=clash), 422)
    assert api.get(f"/v2/fields/{field['id']}").json()["data"]["name"] == "note"


async def parallel(
    base_url: str, token: str, requests: list[tuple[str, dict[str, Any]]]
) -> list[int]:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30) as client:
        responses = await asyncio.gather(*(client.post(path, json=body) for path, body in requests))
    return [response.status_code for response in responses]


def test_twenty_parallel_creates_of_one_slug_give_one_201(local_store: LocalStore) -> None:
    statuses = asyncio.run(
        parallel(
            local_store.base_url, local_store.token(), [("/v2/flows", flow_body("wishlists"))] * 20
        )
    )
    assert sorted(statuses) == [201] + [422] * 19
    listed = httpx.get(f"{local_store.base_url}/v2/flows", headers=local_store.headers()).json()
    assert [f["slug"] for f in listed["data"]] == ["wishlists"]


def test_parallel_field_creates_respect_slug_and_limit(
    local_store: LocalStore, api: httpx.Client
) -> None:
    flow = create_flow(api, "wishlists")
    same = [("/v2/fields", field_body(flow["id"], "note"))] * 20
    assert (
        sorted(asyncio.run(parallel(local_store.base_url, local_store.token(), same)))
        == [201] + [422] * 19
    )
    add_fields_directly(local_store, flow["id"], 94)
    more = [("/v2/fields", field_body(flow["id"], f"extra{index}")) for index in range(20)]
    statuses = asyncio.run(parallel(local_store.base_url, local_store.token(), more))
    assert statuses.count(201) == 5
    assert api.get("/v2/flows/wishlists/fields").json()["meta"]["results"]["total"] == 100


# ------------------------------------------------------------------------- never a 500 (fuzz)

PATHS: dict[str, list[str]] = {
    "/oauth/access_token": ["POST"],
    "/v2/flows": ["GET", "POST"],
    "/v2/flows/{id}": ["GET", "PUT", "DELETE"],
    "/v2/flows/{slug}/fields": ["GET"],
    "/v2/flows/{slug}/entries": ["GET", "POST"],
    "/v2/flows/{slug}/entries/{id}": ["GET", "PUT", "DELETE"],
    "/v2/flows/{slug}/entries/{id}/relationships/{field}": ["POST", "PUT", "DELETE"],
    "/v2/fields": ["GET", "POST"],
    "/v2/fields/{id}": ["GET", "PUT", "DELETE"],
    "/v2/customers": ["GET", "POST"],
    "/v2/customers/{id}": ["GET", "PUT", "DELETE"],
    "/v2/local-store/stats": ["GET"],
}
KEYS = [
    "type", "id", "name", "slug", "description", "enabled", "field_type", "required", "unique",
    "default", "order", "omit_null", "validation_rules", "relationships", "email", "password",
    "external_ref", "note", "items",
]  # fmt: skip
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from([*KEYS, "options", "from", "to", "data", "flow"]),
            inner,
            max_size=4,
        )
    ),
    max_leaves=8,
)
rules = st.lists(
    st.fixed_dictionaries(
        {
            "type": st.sampled_from(
                ["enum", "email", "slug", "uuid", "between", "one-to-many", "one-to-one", "x"]
            )
        },
        optional={"options": json_values, "to": json_values},
    ),
    max_size=2,
)
data_objects = st.fixed_dictionaries(
    {"type": st.sampled_from(["flow", "field", "entry", "customer", "x"])},
    optional={
        "name": json_values,
        "slug": st.sampled_from(["notes", "customers", "note", "items", "customer", "x y"])
        | json_values,
        "description": json_values,
        "enabled": json_values,
        "field_type": st.sampled_from(
            ["string", "integer", "float", "boolean", "date", "relationship"]
        ),
        "validation_rules": rules,
        "default": json_values,
        "order": json_values,
        "required": json_values,
        "email": st.sampled_from(["a@example.com", "bad"]) | json_values,
        "note": json_values,
        "relationships": st.fixed_dictionaries(
            {
                "flow": st.fixed_dictionaries(
                    {
                        "data": st.fixed_dictionaries(
                            {"type": st.just("flow"), "id": st.sampled_from(["FLOW"])}
                        )
                    }
                )
            }
        ),
        "data": json_values,
    },
)
slugs = st.from_regex(r"\A[a-z_-]{1,8}\Z") | st.sampled_from(["notes", "note", "customers"])
words = st.text(max_size=8)
flow_link = st.just({"flow": {"data": {"type": "flow", "id": "FLOW"}}})
plausible = st.one_of(
    st.fixed_dictionaries(
        {"type": st.just("flow"), "name": words, "slug": slugs, "description": words},
        optional={"enabled": st.booleans() | json_values},
    ),
    st.fixed_dictionaries(
        {
            "type": st.just("field"),
            "name": words,
            "slug": slugs,
            "description": words,
            "field_type": st.sampled_from(["string", "integer", "float", "boolean", "date"]),
            "relationships": flow_link,
        },
        optional={
            "validation_rules": rules,
            "default": json_values,
            "order": st.none() | st.integers(),
            "required": st.booleans(),
            "omit_null": st.booleans(),
            "enabled": st.booleans(),
        },
    ),
    st.fixed_dictionaries(
        {"type": st.just("entry")},
        optional={"note": json_values, "items": json_values, "id": st.uuids().map(str) | words},
    ),
    st.fixed_dictionaries(
        {"type": st.just("customer"), "name": words, "email": st.sampled_from(["a@b.co", "x"])},
        optional={"password": st.none() | words, "external_ref": json_values, "note": json_values},
    ),
)
relationship_bodies = st.lists(
    st.fixed_dictionaries({"type": words, "id": st.uuids().map(str) | words}), max_size=3
) | st.fixed_dictionaries({"type": words, "id": st.uuids().map(str)})
bodies = (
    plausible.map(lambda d: json.dumps({"data": d}).encode())
    | relationship_bodies.map(lambda d: json.dumps({"data": d}).encode())
    | data_objects.map(lambda d: json.dumps({"data": d}).encode())
    | json_values.map(lambda v: json.dumps(v).encode())
    | st.binary(max_size=30)
)


def matching_bodies(template: str) -> st.SearchStrategy[bytes]:
    """Bodies of the kind the route takes, so examples get past the first checks."""
    if template.endswith("{field}"):
        return relationship_bodies.map(lambda d: json.dumps({"data": d}).encode())
    kind = {"flows": "flow", "fields": "field", "entries": "entry", "customers": "customer"}
    last = [part for part in template.split("/") if part and not part.startswith("{")][-1]
    wanted = kind.get(last, "flow")
    return plausible.filter(lambda d: d["type"] == wanted).map(
        lambda d: json.dumps({"data": d}).encode()
    )


@pytest.mark.slow
@settings(
    max_examples=200, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
)
@given(data=st.data())
def test_no_request_gets_a_500(data: st.DataObject) -> None:
    store = FUZZ_STORE
    template = data.draw(st.sampled_from(sorted(PATHS)))
    allowed = PATHS[template]
    method = data.draw(st.sampled_from(allowed * 4 + ["PATCH", "DELETE", "POST"]))
    path = template.format(
        id=data.draw(
            st.sampled_from([store.flow_id, store.field_id, store.entry_id, "nope", "x%2Fy"])
        ),
        slug=data.draw(st.sampled_from(["notes", "customers", "missing", "products(book)"])),
        field=data.draw(st.sampled_from(["items", "note", "missing"])),
    )
    content_type = data.draw(
        st.sampled_from(
            ["application/json"] * 6 + ["text/plain", None, "application/x-www-form-urlencoded"]
        )
    )
    body = data.draw(matching_bodies(template) if data.draw(st.booleans()) else bodies)
    body = body.replace(b"FLOW", store.flow_id.encode())
    if template == "/oauth/access_token" and data.draw(st.booleans()):
        body = data.draw(st.text(alphabet=string.ascii_letters + "=&_%", max_size=40)).encode()
    headers = {"Authorization": f"Bearer {store.token}"}
    if content_type:
        headers["Content-Type"] = content_type
    response = store.client.request(method, path, content=body, headers=headers)
    assert response.status_code < 500, (method, path, body, response.text)
    assert response.headers["x-moltin-request-id"]
    if response.status_code >= 400:
        error = response.json()["errors"][0]
        assert error["status"] == response.status_code
        assert error["title"]


class FuzzStore:
    """One store for all the fuzz examples (hypothesis calls the test many times)."""

    def __init__(self) -> None:
        self.client: httpx.Client
        self.token = ""
        self.flow_id = self.field_id = self.entry_id = ""


FUZZ_STORE = FuzzStore()


@pytest.fixture(autouse=True, scope="module")
def fuzz_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    db_path = tmp_path_factory.mktemp("fuzz") / "store.sqlite"
    token = str(Tokens(Storage(db_path), 3600).issue("client_credentials")["access_token"])
    with (
        running_server(db_path, StoreSettings()) as base_url,
        httpx.Client(base_url=base_url, timeout=30) as client,
    ):
        client.headers["Authorization"] = f"Bearer {token}"
        flow = client.post("/v2/flows", json=flow_body("notes")).json()["data"]
        field = client.post("/v2/fields", json=field_body(flow["id"], "note")).json()["data"]
        rel = field_body(
            flow["id"],
            "items",
            "relationship",
            validation_rules=[{"type": "one-to-many", "to": "product"}],
        )
        client.post("/v2/fields", json=rel)
        client.post("/v2/flows", json=flow_body("customers"))
        entry = client.post("/v2/flows/notes/entries", json={"data": {"type": "entry"}}).json()[
            "data"
        ]
        FUZZ_STORE.client, FUZZ_STORE.token = client, token
        FUZZ_STORE.flow_id, FUZZ_STORE.field_id, FUZZ_STORE.entry_id = (
            flow["id"],
            field["id"],
            entry["id"],
        )
        yield
