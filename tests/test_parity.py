"""Parity (issue 12 item 4): `validate` and the local store accept and refuse the same things.

One table of cases: every attribute of a flow and a field, every rule type, values at and
beyond each boundary. Each case is written as a YAML file and run through `validate`, and sent
to a local store over HTTP as the client sends it (the create bodies, with the keys spec
25.1201 requires). Both must reach the verdict the table states. The only differences allowed
are the cases marked `lenient`, where the real API is documented or known to accept what
`validate` refuses (`epcc.flows.LENIENT`): the store accepts them, and `export` of what the
store then holds warns that `validate` will refuse it. Every other definition the store accepts
is exported without that warning.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from support import Cli
from support.store import LocalStore

from provisioner.config import validate_paths
from provisioner.epcc import flows as api
from provisioner.localstore import StoreSettings, local_credentials, running_server

UUID = "123e4567-e89b-12d3-a456-426614174000"
WARNING = "validate will refuse"


@dataclass(frozen=True)
class Case:
    """One definition: `field` holds the field's attributes (None: a flow without fields);
    `flow` the flow's attributes besides its slug. `accept`: `validate`'s verdict; `lenient`:
    the LENIENT code under which the store accepts what `validate` refuses."""

    id: str
    field: dict[str, Any] | None = None
    accept: bool = True
    flow_slug: str = "reviews"
    flow: dict[str, Any] = dataclasses.field(default_factory=lambda: {"name": "Reviews"})
    field_slug: str = "note"
    copies: int = 1  # the same field under `copies` slugs (the 100-field limit)
    lenient: str | None = None


def string(**attrs: Any) -> dict[str, Any]:
    return {"name": "Note", "field_type": "string", **attrs}


def typed(field_type: str, **attrs: Any) -> dict[str, Any]:
    return {"name": "Note", "field_type": field_type, **attrs}


def rules(field_type: str, *rule_list: Any, **attrs: Any) -> dict[str, Any]:
    return typed(field_type, validation_rules=list(rule_list), **attrs)


def related(*rule_list: Any, **attrs: Any) -> dict[str, Any]:
    return rules("relationship", *rule_list, **attrs)


ENUM = {"type": "enum", "options": ["a", "b"]}
BETWEEN = {"type": "between", "options": {"from": 1, "to": 5}}
FLOAT_BETWEEN = {"type": "between", "options": {"from": 0.0, "to": 1.0}}

CASES: list[Case] = [
    # --- flows (3.2, 3.4, 2.8) ---
    Case("flow-minimal"),
    Case("flow-all-attributes", flow={"name": "R", "description": "d", "enabled": False}),
    Case("flow-name-one-character", flow={"name": "R"}),
    Case("flow-name-empty", flow={"name": ""}, accept=False),
    Case("flow-name-blank", flow={"name": "  \t"}, accept=False),
    Case("flow-name-not-a-string", flow={"name": 5}, accept=False),
    Case("flow-description-not-a-string", flow={"name": "R", "description": 5}, accept=False),
    Case("flow-enabled-not-a-boolean", flow={"name": "R", "enabled": "yes"}, accept=False),
    Case("flow-slug-one-character", flow_slug="r"),
    Case("flow-slug-every-character", flow_slug="Az09_-"),
    Case("flow-slug-core", flow_slug="customers"),
    Case("flow-slug-core-hyphenated", flow_slug="account-members"),
    Case("flow-slug-template", flow_slug="products(book)"),
    Case("flow-slug-reserved", flow_slug="customer", accept=False),
    Case("flow-slug-reserved-flow", flow_slug="flow", accept=False),
    Case("flow-slug-space", flow_slug="my flow", accept=False),
    Case("flow-slug-dollar", flow_slug="$flow", accept=False),
    Case("flow-slug-not-ascii", flow_slug="bücher", accept=False),
    Case("flow-slug-trailing-newline", flow_slug="reviews\n", accept=False),
    Case("flow-slug-template-nested", flow_slug="products(a(b))", accept=False),
    # --- field attributes (4.2) ---
    Case("field-minimal", string()),
    Case(
        "field-all-attributes",
        string(
            description="d",
            required=True,
            unique=True,
            default="x",
            enabled=False,
            order=3,
            omit_null=True,
            validation_rules=[],
        ),
    ),
    Case("field-name-empty", string(name=""), accept=False),
    Case("field-name-blank", string(name=" "), accept=False),
    Case("field-name-not-a-string", string(name=5), accept=False),
    Case("field-description-null", string(description=None), accept=False),
    Case("field-required-not-a-boolean", string(required="true"), accept=False),
    Case("field-unique-not-a-boolean", string(unique=1), accept=False),
    Case("field-enabled-null", string(enabled=None), accept=False),
    Case("field-omit-null-not-a-boolean", string(omit_null="no"), accept=False),
    Case("field-order-zero", string(order=0)),
    Case("field-order-negative", string(order=-1)),
    Case("field-order-null", string(order=None)),
    Case("field-order-fraction", string(order=1.5), accept=False),
    Case("field-order-string", string(order="1"), accept=False),
    Case("field-type-unknown", typed("text"), accept=False),
    Case("field-type-missing", {"name": "Note"}, accept=False),
    Case("field-rules-null", string(validation_rules=None), accept=False),
    Case("field-rules-not-a-list", string(validation_rules={"type": "email"}), accept=False),
    # --- field slugs (4.2, 2.8) ---
    Case("field-slug-every-character", string(), field_slug="Az09_-"),
    Case("field-slug-reserved", string(), field_slug="id", accept=False),
    Case("field-slug-reserved-relationships", string(), field_slug="relationships", accept=False),
    Case("field-slug-space", string(), field_slug="a b", accept=False),
    Case("field-slug-dollar", string(), field_slug="$x", accept=False),
    Case(
        "field-slug-builtin-of-customers",
        string(),
        flow_slug="customers",
        field_slug="email",
        accept=False,
    ),
    Case("field-slug-builtin-elsewhere", string(), field_slug="email"),
    Case("field-slug-on-customers", string(), flow_slug="customers", field_slug="nickname"),
    # --- defaults of each type (4.2, 4.4, section 0) ---
    Case("default-string", string(default="x")),
    Case("default-string-empty", string(default="")),
    Case("default-string-number", string(default=0), accept=False, lenient="default_number"),
    Case("default-string-boolean", string(default=True), accept=False),
    Case("default-string-mapping", string(default={"a": 1}), accept=False),
    Case("default-string-list", string(default=["a"]), accept=False),
    Case("default-integer", typed("integer", default=-5)),
    Case(
        "default-integer-fraction",
        typed("integer", default=5.5),
        accept=False,
        lenient="default_number",
    ),
    Case("default-integer-string", typed("integer", default="5"), accept=False),
    Case("default-integer-boolean", typed("integer", default=True), accept=False),
    Case("default-float-integer", typed("float", default=5)),
    Case("default-float", typed("float", default=-0.5)),
    Case("default-float-string", typed("float", default="0.5"), accept=False),
    Case("default-boolean", typed("boolean", default=False)),
    Case(
        "default-boolean-number",
        typed("boolean", default=1),
        accept=False,
        lenient="default_number",
    ),
    Case("default-boolean-string", typed("boolean", default="true"), accept=False),
    Case("default-date", typed("date", default="2024-02-29")),
    Case("default-date-time", typed("date", default="2024-01-31 23:59:59")),
    Case("default-date-not-leap", typed("date", default="2023-02-29"), accept=False),
    Case("default-date-month-13", typed("date", default="2024-13-45"), accept=False),
    Case("default-date-hour-24", typed("date", default="2024-01-31 24:00:00"), accept=False),
    Case("default-date-t-separator", typed("date", default="2024-01-31T10:00:00"), accept=False),
    Case("default-date-zone", typed("date", default="2024-01-31 10:00:00Z"), accept=False),
    Case(
        "default-date-number",
        typed("date", default=20240101),
        accept=False,
        lenient="default_number",
    ),
    Case(
        "default-relationship-null", related({"type": "one-to-one", "to": "customer"}, default=None)
    ),
    Case(
        "default-relationship-string",
        related({"type": "one-to-one", "to": "customer"}, default="x"),
        accept=False,
    ),
    # --- enum (4.5) ---
    Case("enum-string", rules("string", ENUM, default="a")),
    Case("enum-default-missing", rules("string", ENUM, default="c"), accept=False),
    Case("enum-one-option", rules("string", {"type": "enum", "options": ["a"]})),
    Case("enum-no-options", rules("string", {"type": "enum", "options": []}), accept=False),
    Case("enum-options-missing", rules("string", {"type": "enum"}), accept=False),
    Case(
        "enum-options-not-a-list", rules("string", {"type": "enum", "options": "a"}), accept=False
    ),
    Case(
        "enum-repeated-option",
        rules("string", {"type": "enum", "options": ["a", "a"]}),
        accept=False,
    ),
    Case(
        "enum-option-wrong-type",
        rules("string", {"type": "enum", "options": ["a", 1]}),
        accept=False,
    ),
    Case("enum-extra-key", rules("string", {**ENUM, "strict": True}), accept=False),
    Case("enum-twice", rules("string", ENUM, ENUM), accept=False),
    Case("enum-integer", rules("integer", {"type": "enum", "options": [1, 2]}, default=2)),
    Case(
        "enum-integer-fraction",
        rules("integer", {"type": "enum", "options": [1, 1.5]}),
        accept=False,
    ),
    Case("enum-float", rules("float", {"type": "enum", "options": [0.5, 1]}, default=1.0)),
    Case(
        "enum-float-string", rules("float", {"type": "enum", "options": [0.5, "1"]}), accept=False
    ),
    Case(
        "enum-float-repeated", rules("float", {"type": "enum", "options": [1, 1.0]}), accept=False
    ),
    Case(
        "enum-date",
        rules("date", {"type": "enum", "options": ["2024-01-01", "2024-01-02 10:00:00"]}),
    ),
    Case(
        "enum-date-impossible",
        rules("date", {"type": "enum", "options": ["2024-02-30"]}),
        accept=False,
    ),
    Case(
        "enum-date-t-separator",
        rules("date", {"type": "enum", "options": ["2024-01-01T00:00:00"]}),
        accept=False,
    ),
    Case("enum-date-number", rules("date", {"type": "enum", "options": [20240101]}), accept=False),
    Case("enum-boolean", rules("boolean", {"type": "enum", "options": [True]}), accept=False),
    # --- email, slug, uuid (4.5) ---
    Case("email", rules("string", {"type": "email"}, default="ron@example.com")),
    Case(
        "email-default-no-dot",
        rules("string", {"type": "email"}, default="ron@example"),
        accept=False,
    ),
    Case("email-twice", rules("string", {"type": "email"}, {"type": "email"}), accept=False),
    Case("email-with-options", rules("string", {"type": "email", "options": ["a"]}), accept=False),
    Case("email-on-integer", rules("integer", {"type": "email"}), accept=False),
    Case(
        "email-slug-uuid-together",
        rules("string", {"type": "email"}, {"type": "slug"}, {"type": "uuid"}),
    ),
    Case("slug", rules("string", {"type": "slug"}, default="a-b_C9")),
    Case("slug-default-space", rules("string", {"type": "slug"}, default="a b"), accept=False),
    Case("uuid", rules("string", {"type": "uuid"}, default=UUID)),
    Case("uuid-upper-case", rules("string", {"type": "uuid"}, default=UUID.upper())),
    Case(
        "uuid-default-bare-digits",
        rules("string", {"type": "uuid"}, default=UUID.replace("-", "")),
        accept=False,
    ),
    Case(
        "uuid-default-braces",
        rules("string", {"type": "uuid"}, default="{" + UUID + "}"),
        accept=False,
    ),
    Case(
        "uuid-default-urn",
        rules("string", {"type": "uuid"}, default="urn:uuid:" + UUID),
        accept=False,
    ),
    Case("uuid-on-date", rules("date", {"type": "uuid"}), accept=False),
    # --- between (4.5): inclusive bounds ---
    Case("between-default-at-from", rules("integer", BETWEEN, default=1)),
    Case("between-default-at-to", rules("integer", BETWEEN, default=5)),
    Case("between-default-below", rules("integer", BETWEEN, default=0), accept=False),
    Case("between-default-above", rules("integer", BETWEEN, default=6), accept=False),
    Case(
        "between-from-equals-to",
        rules("integer", {"type": "between", "options": {"from": 3, "to": 3}}),
    ),
    Case(
        "between-reversed",
        rules("integer", {"type": "between", "options": {"from": 5, "to": 1}}),
        accept=False,
    ),
    Case(
        "between-integer-fraction",
        rules("integer", {"type": "between", "options": {"from": 1.5, "to": 5}}),
        accept=False,
    ),
    Case(
        "between-missing-to",
        rules("integer", {"type": "between", "options": {"from": 1}}),
        accept=False,
    ),
    Case(
        "between-extra-key",
        rules("integer", {"type": "between", "options": {"from": 1, "to": 5, "step": 1}}),
        accept=False,
    ),
    Case(
        "between-options-list",
        rules("integer", {"type": "between", "options": [1, 5]}),
        accept=False,
    ),
    Case("between-float-at-to", rules("float", FLOAT_BETWEEN, default=1.0)),
    Case("between-float-beyond-to", rules("float", FLOAT_BETWEEN, default=1.000001), accept=False),
    Case(
        "between-float-integer-bounds",
        rules("float", {"type": "between", "options": {"from": 0, "to": 10}}),
    ),
    Case(
        "between-and-enum",
        rules("integer", BETWEEN, {"type": "enum", "options": [1, 5]}, default=5),
    ),
    Case("between-without-options", rules("integer", {"type": "between"}), accept=False),
    Case(
        "between-extra-rule-key",
        rules("integer", {**BETWEEN, "to": "customer"}),
        accept=False,
    ),
    Case(
        "between-integer-fraction-to",
        rules("integer", {"type": "between", "options": {"from": 1, "to": 5.5}}),
        accept=False,
    ),
    Case(
        "between-float-string-bound",
        rules("float", {"type": "between", "options": {"from": "0", "to": 1}}),
        accept=False,
    ),
    Case(
        "between-float-string-to",
        rules("float", {"type": "between", "options": {"from": 0, "to": "1"}}),
        accept=False,
    ),
    Case("email-on-float", rules("float", {"type": "email"}), accept=False),
    Case("between-on-string", rules("string", BETWEEN), accept=False),
    # --- relationships (4.2, 4.5) ---
    Case("one-to-many-core", related({"type": "one-to-many", "to": "product"})),
    Case("one-to-one-core", related({"type": "one-to-one", "to": "customer"})),
    Case("one-to-many-flow", related({"type": "one-to-many", "to": "wishlists"})),
    Case(
        "relationship-core-plural",
        related({"type": "one-to-many", "to": "products"}),
        accept=False,
        lenient="target_plural",
    ),
    # A misspelt target (`custmer`): both refuse it. A target that may be a flow of the live
    # store the files do not declare (`nowhere`) is only a warning offline, and `plan` checks it
    # against the store (issue 10 item 16: tests/test_live_relationship_targets.py).
    Case(
        "relationship-unknown-target",
        related({"type": "one-to-many", "to": "custmer"}),
        accept=False,
    ),
    Case("relationship-empty-target", related({"type": "one-to-one", "to": ""}), accept=False),
    Case(
        "relationship-target-not-a-string", related({"type": "one-to-one", "to": 5}), accept=False
    ),
    Case("relationship-missing-target", related({"type": "one-to-one"}), accept=False),
    Case(
        "relationship-extra-key",
        related({"type": "one-to-one", "to": "customer", "options": []}),
        accept=False,
    ),
    Case(
        "relationship-two-rules",
        related({"type": "one-to-one", "to": "customer"}, {"type": "one-to-many", "to": "product"}),
        accept=False,
    ),
    Case("relationship-no-rule", related(), accept=False),
    Case(
        "relationship-required",
        related({"type": "one-to-one", "to": "customer"}, required=True),
        accept=False,
    ),
    Case(
        "relationship-not-required",
        related({"type": "one-to-one", "to": "customer"}, required=False),
    ),
    Case("relationship-with-enum", related({"type": "enum", "options": ["a"]}), accept=False),
    Case(
        "relationship-in-template",
        related({"type": "one-to-one", "to": "customer"}),
        flow_slug="products(book)",
        accept=False,
    ),
    Case(
        "one-to-one-on-string",
        rules("string", {"type": "one-to-one", "to": "customer"}),
        accept=False,
    ),
    # --- rule objects (4.5) ---
    Case("rule-without-type", rules("string", {"options": ["a"]}), accept=False),
    Case("rule-unknown-type", rules("string", {"type": "regex"}), accept=False),
    Case("rule-not-an-object", rules("string", "email"), accept=False),
    Case("rules-on-boolean", rules("boolean", {"type": "email"}), accept=False),
    Case("no-rules-on-boolean", rules("boolean")),
    # --- the 100-field limit (4.2) ---
    Case("fields-at-the-limit", string(), copies=api.MAX_FIELDS_PER_FLOW),
    Case("fields-beyond-the-limit", string(), copies=api.MAX_FIELDS_PER_FLOW + 1, accept=False),
]


def test_the_table_is_large_and_covers_every_fact() -> None:
    assert len(CASES) >= 80
    assert len({case.id for case in CASES}) == len(CASES)
    fields = [case.field for case in CASES if case.field is not None]
    attributes = {key for f in fields for key in f}
    assert {a.name for a in api.FIELD_BODY} - {"slug"} <= attributes
    assert {a.name for a in api.FLOW_BODY} - {"slug"} <= {k for c in CASES for k in c.flow}
    assert {f["field_type"] for f in fields if "field_type" in f} >= set(api.FIELD_TYPES)
    kinds = {
        r.get("type")
        for f in fields
        for r in f.get("validation_rules") or []
        if isinstance(r, dict)
    }
    assert kinds >= set(api.RULE_TYPES)
    # The documented lenient cases, each exercised; nothing else may differ.
    assert {case.lenient for case in CASES} - {None} == set(api.LENIENT)
    assert all(not case.accept for case in CASES if case.lenient)


# --- running a case ------------------------------------------------------------------------


def _document(case: Case) -> dict[str, Any]:
    flow: dict[str, Any] = dict(case.flow)
    if case.field is not None:
        slugs = [case.field_slug] if case.copies == 1 else [f"f{i}" for i in range(case.copies)]
        flow["fields"] = dict.fromkeys(slugs, case.field)
    return {"flows": {"wishlists": {"name": "Wishlists"}, case.flow_slug: flow}}


def validate_accepts(case: Case, directory: Path) -> tuple[bool, list[str]]:
    path = directory / "flows.yaml"
    path.write_text(yaml.safe_dump(_document(case), allow_unicode=True), encoding="utf-8")
    problems = [str(p) for p in validate_paths([path])]
    return not problems, problems


def _create(client: httpx.Client, path: str, data: dict[str, Any]) -> httpx.Response:
    return client.post(path, json={"data": data})


def store_accepts(case: Case, client: httpx.Client) -> tuple[bool, str]:
    """The case sent as the client sends it: the flow, then its fields (missing required keys
    take the API's defaults, as `Client.create_flow`/`create_field` fill them)."""
    flow_body = {"type": "flow", "slug": case.flow_slug, **api.FLOW_SERVER_DEFAULTS, **case.flow}
    created = _create(client, "/v2/flows", flow_body)
    if created.status_code != 201:
        return False, created.text
    flow_id = created.json()["data"]["id"]
    if case.field is None:
        return True, ""
    slugs = [case.field_slug] if case.copies == 1 else [f"f{i}" for i in range(case.copies)]
    for slug in slugs:
        body = {
            "type": "field",
            "slug": slug,
            **{k: api.FIELD_SERVER_DEFAULTS[k] for k in ("description", "required")},
            **case.field,
            "relationships": {"flow": {"data": {"type": "flow", "id": flow_id}}},
        }
        response = _create(client, "/v2/fields", body)
        if response.status_code != 201:
            assert response.status_code == 422, response.text
            return False, response.text
    return True, ""


def _clean(client: httpx.Client) -> None:
    """Back to a store holding only the `wishlists` flow (core flows: renamed, then deleted)."""
    for flow in client.get("/v2/flows", params={"page[limit]": 100}).json()["data"]:
        if flow["slug"] == "wishlists":
            continue
        if api.is_core_flow(flow["slug"]):
            body = {"type": "flow", "id": flow["id"], "slug": f"deleted-{flow['id']}"}
            assert client.put(f"/v2/flows/{flow['id']}", json={"data": body}).status_code == 200
        assert client.delete(f"/v2/flows/{flow['id']}").status_code == 204


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStore]:
    db_path = tmp_path_factory.mktemp("parity") / "store.sqlite"
    client_id, client_secret = local_credentials(db_path)
    with running_server(db_path, StoreSettings()) as base_url:
        local = LocalStore(base_url, client_id, client_secret, db_path)
        with httpx.Client(base_url=base_url, headers=local.headers(), timeout=30) as client:
            body = {
                "type": "flow",
                "name": "Wishlists",
                "slug": "wishlists",
                "description": "",
                "enabled": True,
            }
            assert _create(client, "/v2/flows", body).status_code == 201
        yield local


@pytest.fixture
def client(store: LocalStore) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=store.base_url, headers=store.headers(), timeout=30) as api_client:
        _clean(api_client)
        yield api_client


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_validate_and_the_store_agree(
    case: Case, store: LocalStore, client: httpx.Client, cli: Cli, tmp_path: Path
) -> None:
    validated, problems = validate_accepts(case, tmp_path)
    stored, answer = store_accepts(case, client)
    assert validated is case.accept, problems
    assert stored is (case.accept or case.lenient is not None), answer
    if not stored:
        return
    # What the store holds, exported, is what validate accepts; a lenient case says so.
    out = tmp_path / "export.yaml"
    slugs = ["wishlists", case.flow_slug]
    exported = cli("export", *(f"--flow={slug}" for slug in slugs), "-o", out, env=store.env())
    assert exported.code == 0, exported.err
    assert (WARNING in exported.err) is (case.lenient is not None), exported.err


# --- every part of the schema is worded by validate ------------------------------------------

INVALID = Path(__file__).parent / "invalid"

# The YAML format's own keys (never sent to the API) and shapes, broken in each way the schema
# refuses: with the parity table and the invalid corpus, every constraint of the schema.
FORMAT_CASES: list[Any] = [
    {},
    {"flows": [], "extra": 1},
    {"flows": {"r": []}},
    {"flows": {"r": {"name": "R", "prune": "yes", "state": "gone", "fields": []}}},
    {"flows": {"r": {"name": "R", "colour": "red"}}},
    {"flows": {"r": {"name": "R", "fields": {"a": [], "b": {"state": "gone"}}}}},
    {"flows": {1: {"name": "R"}}},
    {"flows": {"r": {"name": "R", "fields": {2: {"name": "A", "field_type": "string"}}}}},
    {
        "flows": {
            "r": {
                "name": "R",
                "fields": {
                    "a": {"name": "A", "field_type": "string", "renamed_from": []},
                    "b": {"name": "B", "field_type": "string", "renamed_from": ["x", "x"]},
                    "c": {"name": "C", "field_type": "string", "renamed_from": [1, "a b"]},
                    "d": {"name": "D", "field_type": "string", "renamed_from": "x"},
                },
            }
        }
    },
    {
        "custom_apis": {
            "a": {"name": "A", "api_type": "a_ext", "renamed_from": []},
            "b": {"name": "B", "api_type": "b_ext", "renamed_from": ["x", "x"]},
            "c": {"name": "C", "api_type": "c_ext", "renamed_from": "x"},
        }
    },
]


def _schema_keywords(node: Any, *, selecting: bool = False) -> Iterator[tuple[Any, str, bool]]:
    """(schema object, keyword, whether it only selects a branch) of every keyword of a
    JSON Schema: the keys of every schema object, not the names under `properties`/`$defs` nor
    the values of `enum`, `const`, `required` and `default`."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield node, key, selecting
            if key in ("properties", "$defs"):  # names -> schemas, not a schema
                for schema in value.values():
                    yield from _schema_keywords(schema, selecting=selecting)
            elif key not in ("enum", "const", "required", "default"):
                yield from _schema_keywords(value, selecting=selecting or key == "if")
    elif isinstance(node, list):
        for value in node:
            yield from _schema_keywords(value, selecting=selecting)


def _constraints(node: Any, found: set[tuple[int, str]]) -> None:
    """(id of the schema object, keyword) of every constraint that can fail: every keyword that
    is not structural (`schema_wording.STRUCTURAL_KEYWORDS`); an `if` only selects a branch."""
    from provisioner.config.schema_wording import STRUCTURAL_KEYWORDS

    for schema, keyword, selecting in _schema_keywords(node):
        if selecting or keyword in STRUCTURAL_KEYWORDS:
            continue
        if keyword == "additionalProperties" and schema[keyword] is not False:
            continue  # a schema for the other keys, whose own keywords are counted
        found.add((id(schema), keyword))


def _unworded_keywords(schema: Any) -> set[str]:
    from provisioner.config.schema_wording import STRUCTURAL_KEYWORDS, WORDED_KEYWORDS

    used = {keyword for _, keyword, _ in _schema_keywords(schema)}
    return used - WORDED_KEYWORDS - STRUCTURAL_KEYWORDS


def test_every_keyword_of_the_generated_schema_is_worded_or_structural() -> None:
    """A keyword added to the schema (`"maxLength": 200` on a name) would give jsonschema's
    own text and no expectation: it must be worded (`schema_wording`) or say why it never
    fails (`STRUCTURAL_KEYWORDS`)."""
    from provisioner import schema

    assert _unworded_keywords(schema.generate()) == set()
    # The walk sees a keyword wherever it is written, and not a property named like one.
    grown = schema.generate()
    grown["$defs"]["maxLength"] = {"properties": {"anyOf": {"maxLength": 200}}}
    assert _unworded_keywords(grown) == {"maxLength"}


def test_every_schema_constraint_is_broken_by_a_case_and_worded_by_validate(
    tmp_path: Path,
) -> None:
    from provisioner.config import schema_pass, schema_wording
    from provisioner.yamlload import load_file

    validator = schema_pass.validator()
    documents = [_document(case) for case in CASES] + FORMAT_CASES
    for path in sorted(INVALID.rglob("*.y*ml")):
        loaded = load_file(path).data
        if loaded is not None:
            documents.append(loaded)
    every: set[tuple[int, str]] = set()
    _constraints(validator.schema, every)
    broken: set[tuple[int, str]] = set()
    for document in documents:
        for error in validator.iter_errors(document):
            broken.add((id(error.schema), str(error.validator)))
            assert error.validator in schema_wording.WORDED_KEYWORDS, error
    missing = every - broken
    assert not missing, f"{len(missing)} constraints no case breaks: add cases"
    # And each document's diagnostics are worded by us: an expectation every time.
    path = tmp_path / "doc.yaml"
    for document in documents:
        path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
        assert all(d.expected for d in validate_paths([path])), document
