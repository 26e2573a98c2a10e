"""Proof: the local store's answers conform to the official flows spec, and never a 500.

`../shared/epcc-openapi/flows.yaml` is read at test time (CI runs in a fresh clone with
`shared/` beside it); without it the module is skipped. It is version 25.1201 (December 2025),
which lists the keys a create body must hold. Three parts:

- schemathesis fuzzes every operation of the spec (bounded examples), checking that no answer
  is a 5xx and that every documented answer matches its schema;
- a walk through every operation with real ids checks the success answers the fuzzer rarely
  reaches (random ids mostly meet 404s);
- the `required` lists of the spec's create bodies: our facts list the same keys, the store
  refuses a create missing any of them, and the client always sends them.

Left out on purpose: `status_code_conformance` (the store answers 401/403/405/413/415/422 on
operations whose spec lists only a few statuses; section 0 of epcc-api.md fixes those) and
schemathesis's positive/negative data checks (the store refuses more than the spec says:
reserved slugs, rule shapes, section 0); the required keys are checked by the third part.
Entry values are strings in the walk: the spec types every extra entry attribute as a string,
which other field types cannot match.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import yaml
from support import shared_file

SPEC = shared_file("epcc-openapi", "flows.yaml")
if not SPEC.is_file():
    pytest.skip(f"the official spec is not beside the repository ({SPEC})", allow_module_level=True)

import schemathesis  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_schema_conformance,
)
from support.store import LocalStore  # noqa: E402

from provisioner.client import Client, ClientConfig  # noqa: E402
from provisioner.epcc import flows as api  # noqa: E402
from provisioner.localstore import StoreSettings, running_server  # noqa: E402
from provisioner.localstore.auth import Tokens  # noqa: E402
from provisioner.localstore.storage import Storage  # noqa: E402

pytestmark = pytest.mark.slow  # see the `slow` marker in pyproject.toml

CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]

schema = schemathesis.openapi.from_path(str(SPEC))


class Target:
    def __init__(self, base_url: str, token: str) -> None:
        self.base_url = base_url
        self.headers = {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    db_path = tmp_path_factory.mktemp("conformance") / "store.sqlite"
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


def call(target: Target, method: str, path: str, **kwargs: Any) -> Any:
    """Build the spec's case for one operation with real values, send it, validate it."""
    operation = schema[path][method]
    case = operation.Case(**kwargs)
    response = case.call(base_url=target.base_url, headers=target.headers)
    case.validate_response(response, checks=CHECKS)
    assert response.status_code < 300, response.text
    return response.json() if response.content else None


def test_every_operation_succeeds_and_conforms(target: Target) -> None:
    slug = f"wishlists-{uuid.uuid4().hex[:8]}"
    flow_body = {
        "data": {"type": "flow", "name": "W", "slug": slug, "description": "d", "enabled": True}
    }
    flow = call(target, "POST", "/v2/flows", body=flow_body)["data"]
    flow_ids = {"flowID": flow["id"]}
    call(target, "GET", "/v2/flows")
    call(target, "GET", "/v2/flows/{flowID}", path_parameters=flow_ids)
    update = {"data": {"type": "flow", "id": flow["id"], "description": "wishes"}}
    call(target, "PUT", "/v2/flows/{flowID}", path_parameters=flow_ids, body=update)

    relation = {"type": "flow", "id": flow["id"]}
    field_body = {
        "data": {
            "type": "field",
            "name": "Note",
            "slug": "note",
            "field_type": "string",
            "description": "a note",
            "required": False,
            "enabled": True,
            "validation_rules": [{"type": "enum", "options": ["a", "b"]}],
            "relationships": {"flow": {"data": relation}},
        }
    }
    field = call(target, "POST", "/v2/fields", body=field_body)["data"]
    field_ids = {"flowFieldID": field["id"]}
    call(target, "GET", "/v2/fields")
    call(target, "GET", "/v2/fields/{flowFieldID}", path_parameters=field_ids)
    field_update = {"data": {"type": "field", "id": field["id"], "name": "Notes"}}
    call(target, "PUT", "/v2/fields/{flowFieldID}", path_parameters=field_ids, body=field_update)
    call(target, "GET", "/v2/flows/{flowSlug}/fields", path_parameters={"flowSlug": slug})

    entries = {"flowSlug": slug}
    entry = call(
        target,
        "POST",
        "/v2/flows/{flowSlug}/entries",
        path_parameters=entries,
        body={"data": {"type": "entry", "note": "a"}},
    )["data"]
    one = {**entries, "flowEntryID": entry["id"]}
    call(target, "GET", "/v2/flows/{flowSlug}/entries", path_parameters=entries)
    call(target, "GET", "/v2/flows/{flowSlug}/entries/{flowEntryID}", path_parameters=one)
    call(
        target,
        "PUT",
        "/v2/flows/{flowSlug}/entries/{flowEntryID}",
        path_parameters=one,
        body={"data": {"type": "entry", "id": entry["id"], "note": "b"}},
    )
    # Added last: the spec types extra entry attributes as strings, so an entry with
    # `relationships` (5.1) no longer matches it; the relationship answers are checked below.
    links = {
        "data": {
            "type": "field",
            "name": "Links",
            "slug": "links_to",
            "field_type": "relationship",
            "description": "related products",
            "required": False,
            "validation_rules": [{"type": "one-to-many", "to": "product"}],
            "relationships": {"flow": {"data": relation}},
        }
    }
    call(target, "POST", "/v2/fields", body=links)
    rel_path = "/v2/flows/{flowSlug}/entries/{flowEntryID}/relationships/{flowFieldSlug}"
    rel = {**one, "flowFieldSlug": "links_to"}
    items = {"data": [{"type": "product", "id": str(uuid.uuid4())}]}
    assert call(target, "POST", rel_path, path_parameters=rel, body=items)["data"] == items["data"]
    call(target, "PUT", rel_path, path_parameters=rel, body=items)
    call(target, "DELETE", rel_path, path_parameters=rel)
    call(target, "DELETE", "/v2/flows/{flowSlug}/entries/{flowEntryID}", path_parameters=one)
    call(target, "DELETE", "/v2/fields/{flowFieldID}", path_parameters=field_ids)
    call(target, "DELETE", "/v2/flows/{flowID}", path_parameters=flow_ids)


# --- spec 25.1201: the keys a create body must hold (issue 12 item 8) -------------------------

SPEC_DOCUMENT: Any = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
SCHEMAS: Any = SPEC_DOCUMENT["components"]["schemas"]


def test_the_spec_is_version_25_1201() -> None:
    assert str(SPEC_DOCUMENT["info"]["version"]).startswith("25.1201")


def _required(schema_name: str) -> set[str]:
    return set(SCHEMAS[schema_name]["properties"]["data"]["required"])


def test_our_facts_list_the_keys_the_spec_requires() -> None:
    assert _required("FlowsRequest") == set(api.FLOW_CREATE_REQUIRED)
    # The field's flow is `relationships.flow` (FieldRelationships requires `flow`).
    assert SCHEMAS["FieldRelationships"]["required"] == ["flow"]
    assert _required("FieldRequest") | {"relationships"} == set(api.FIELD_CREATE_REQUIRED)


def _post(target: Target, path: str, data: dict[str, Any]) -> httpx.Response:
    return httpx.post(
        target.base_url + path, json={"data": data}, headers=target.headers, timeout=10
    )


def test_the_store_refuses_a_create_without_a_key_the_spec_requires(target: Target) -> None:
    slug = f"required-{uuid.uuid4().hex[:8]}"
    flow = {"type": "flow", "name": "R", "slug": slug, "description": "", "enabled": True}
    for key in sorted(_required("FlowsRequest")):
        partial = {k: v for k, v in flow.items() if k != key}
        assert _post(target, "/v2/flows", partial).status_code == 422, key
    created = _post(target, "/v2/flows", flow)
    assert created.status_code == 201, created.text
    relation = {"flow": {"data": {"type": "flow", "id": created.json()["data"]["id"]}}}
    field = {
        "type": "field",
        "name": "Note",
        "slug": "note",
        "field_type": "string",
        "description": "",
        "required": False,
        "relationships": relation,
    }
    for key in sorted(_required("FieldRequest") | {"relationships"}):
        partial = {k: v for k, v in field.items() if k != key}
        assert _post(target, "/v2/fields", partial).status_code == 422, key
    assert _post(target, "/v2/fields", field).status_code == 201


def test_the_client_always_sends_the_required_keys(local_store: LocalStore) -> None:
    # Only a slug and a name given: the client adds `description`, `enabled` and `required`
    # (the store above refuses a create without them).
    async def create() -> None:
        config = ClientConfig(
            base_url=local_store.base_url,
            client_id=local_store.client_id,
            client_secret=local_store.client_secret,
            rate_limit=1000,
        )
        async with Client(config) as client:
            flow = await client.create_flow({"slug": f"sparse-{uuid.uuid4().hex[:8]}", "name": "S"})
            assert flow["description"] == ""
            assert flow["enabled"] is True
            field = await client.create_field(
                str(flow["id"]), {"slug": "note", "name": "Note", "field_type": "string"}
            )
            assert field["required"] is False
            assert field["description"] == ""

    asyncio.run(create())
