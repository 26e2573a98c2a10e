"""Proof: the local store's Commerce Extensions conform to the official spec, and never a 500.

`../shared/epcc-openapi/commerce-extensions.yaml` (26.0608) is read at test time (CI runs in
a fresh clone with `shared/` beside it); without it the module is skipped. As for flows
(`test_localstore_conformance.py`), two parts:

- schemathesis fuzzes every operation of the spec (bounded examples), checking that no answer
  is a 5xx and that every documented answer matches its schema (this spec's error bodies carry
  `status` as a string: the routes answer in that shape);
- a walk through every operation with real ids checks the success answers the fuzzer rarely
  reaches, every field type and validation shape included.

Left out on purpose, as for flows: `status_code_conformance` (the store also answers 401, 403,
405, 415 where the spec lists fewer) and the positive/negative data checks (the store refuses
more than the schemas do: reserved slugs, RE2, `min <= max`, parents that exist...).
The spec lists no `/v2/extensions/{slug}` operation (it points to the generated spec), so the
entries are walked through the settings endpoint here and through both in
`test_localstore_extensions.py`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from support import shared_file

SPEC = shared_file("epcc-openapi", "commerce-extensions.yaml")
if not SPEC.is_file():
    pytest.skip(f"the official spec is not beside the repository ({SPEC})", allow_module_level=True)

import schemathesis  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_schema_conformance,
)

from provisioner.localstore import StoreSettings, running_server  # noqa: E402
from provisioner.localstore.auth import Tokens  # noqa: E402
from provisioner.localstore.storage import Storage  # noqa: E402

pytestmark = pytest.mark.slow  # see the `slow` marker in pyproject.toml

CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]
APIS = "/v2/settings/extensions/custom-apis"

schema = schemathesis.openapi.from_path(str(SPEC))


class Target:
    def __init__(self, base_url: str, token: str) -> None:
        self.base_url = base_url
        self.headers = {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    db_path = tmp_path_factory.mktemp("extensions-conformance") / "store.sqlite"
    token = str(Tokens(Storage(db_path), 3600).issue("client_credentials")["access_token"])
    with running_server(db_path, StoreSettings()) as base_url:
        yield Target(base_url, token)


@schema.parametrize()
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_every_operation_conforms_and_never_fails(case: Any, target: Target) -> None:
    response = case.call(base_url=target.base_url, headers=target.headers)
    case.validate_response(response, checks=CHECKS)


def call(target: Target, method: str, path: str, status: int | None = None, **kwargs: Any) -> Any:
    """Build the spec's case for one operation with real values, send it, validate it."""
    operation = schema[path][method]
    case = operation.Case(**kwargs)
    response = case.call(base_url=target.base_url, headers=target.headers)
    case.validate_response(response, checks=CHECKS)
    if status is None:
        assert response.status_code < 300, response.text
    else:
        assert response.status_code == status, response.text
    return response.json() if response.content else None


SCHEMA = json.dumps({"type": "object", "properties": {"a": {"type": "integer"}}})
FIELDS: list[dict[str, Any]] = [
    {
        "slug": "name",
        "field_type": "string",
        "validation": {
            "string": {
                "min_length": 1,
                "max_length": 64,
                "regex": "^[A-Za-z-]+$",
                "unique": "yes",
                "unique_case_insensitivity": True,
                "allow_null_values": False,
                "immutable": False,
            }
        },
        "use_as_url_slug": True,
    },
    {"slug": "count", "field_type": "integer", "validation": {"integer": {"min_value": 0}}},
    {"slug": "weight_kg", "field_type": "float", "validation": {"float": {"max_value": 9.5}}},
    {"slug": "keep", "field_type": "boolean", "validation": {"boolean": {"immutable": True}}},
    {
        "slug": "extra",
        "field_type": "any",
        "validation": {"any": {"json_schema": {"version": "2020-12", "schema": SCHEMA}}},
    },
    {
        "slug": "tags",
        "field_type": "list",
        "validation": {"list": {"allowed_type": "string", "max_length": 10}},
    },
]


def test_every_operation_succeeds_and_conforms(target: Target) -> None:
    slug = f"wishlists-{uuid.uuid4().hex[:8]}"
    api_type = f"wishlist_{uuid.uuid4().hex[:8]}_ext"
    body = {
        "data": {
            "type": "custom_api",
            "name": "Wishlists",
            "description": "d",
            "slug": slug,
            "api_type": api_type,
            "presentation": {"page": "home", "section": "top"},
            "relationships": {
                "parent_apis": {"data": [{"type": "api_location", "id": "/v2/extensions"}]}
            },
        }
    }
    created = call(target, "POST", APIS, body=body)["data"]
    ids = {"custom-api-id": created["id"]}
    call(target, "POST", APIS, status=409, body=body)
    call(target, "GET", APIS, query={"filter": f"eq(slug,{slug})", "sort": "-name"})
    one = APIS + "/{custom-api-id}"
    call(target, "GET", one, path_parameters=ids)
    update = {"data": {"type": "custom_api", "name": "Lists", "allow_upserts": True}}
    call(target, "PUT", one, path_parameters=ids, body=update)

    field_ids = []
    for field in FIELDS:
        field_body = {"data": {"type": "custom_field", "name": field["slug"], **field}}
        made = call(target, "POST", one + "/fields", path_parameters=ids, body=field_body)
        field_ids.append(made["data"]["id"])
    call(target, "POST", one + "/fields", status=409, path_parameters=ids,
         body={"data": {"type": "custom_field", **FIELDS[1], "name": "again"}})  # fmt: skip
    listed = call(target, "GET", one + "/fields", path_parameters=ids, query={"sort": "slug"})
    assert [f["slug"] for f in listed["data"]] == sorted(f["slug"] for f in FIELDS)
    field_path = one + "/fields/{custom-field-id}"
    for field_id, field in zip(field_ids, FIELDS, strict=True):
        params = {**ids, "custom-field-id": field_id}
        call(target, "GET", field_path, path_parameters=params)
        change = {"type": "custom_field", "description": "described"}
        updated = call(target, "PUT", field_path, path_parameters=params, body={"data": change})
        assert updated["data"]["validation"] == {
            field["field_type"]: {**updated["data"]["validation"][field["field_type"]],
                                  **field["validation"][field["field_type"]]}
        }  # fmt: skip

    entries = one + "/entries"
    values = {
        "name": "my-wishlist",
        "count": 1,
        "weight_kg": 2.5,
        "keep": False,
        "extra": {"a": 1},
        "tags": ["x"],
    }
    entry = call(
        target, "POST", entries, path_parameters=ids, body={"data": {"type": api_type, **values}}
    )["data"]
    query = {"filter": "contains(tags,x):ge(count,1)", "page[total_method]": "observed"}
    call(target, "GET", entries, path_parameters=ids, query=query)
    entry_path = entries + "/{custom-api-entry-id}"
    entry_ids = {**ids, "custom-api-entry-id": entry["id"]}
    read = call(target, "GET", entry_path, path_parameters=entry_ids)["data"]
    etag = f'W/"{read["meta"]["etag_id"]}"'
    put = {"data": {"type": api_type, "count": 2}}
    call(target, "PUT", entry_path, status=412, path_parameters=entry_ids, body=put,
         headers={"If-Match": 'W/"stale"'})  # fmt: skip
    call(target, "PUT", entry_path, path_parameters=entry_ids, body=put, headers={"If-Match": etag})
    upsert_ids = {**ids, "custom-api-entry-id": str(uuid.uuid4())}
    upsert = {"data": {"type": api_type, "name": "Upserted"}}
    call(target, "PUT", entry_path, status=201, path_parameters=upsert_ids, body=upsert)
    big = {"data": {"type": api_type, "name": "Big", "extra": {"a": 1, "b": "x" * 70_000}}}
    call(target, "POST", entries, status=413, path_parameters=ids, body=big)
    current = call(target, "GET", entry_path, path_parameters=entry_ids)["data"]
    call(target, "DELETE", entry_path, path_parameters=entry_ids,
         headers={"If-Match": f'W/"{current["meta"]["etag_id"]}"'})  # fmt: skip
    call(target, "GET", "/v2/settings/extensions/specifications/openapi")
    for field_id in field_ids:
        call(target, "DELETE", field_path, path_parameters={**ids, "custom-field-id": field_id})
    call(target, "DELETE", one, path_parameters=ids)
    call(target, "GET", one, status=404, path_parameters=ids)
