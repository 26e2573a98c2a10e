"""The API's facts and rules (issue 12): one place each, cited, and used by both sides.

The predicates are checked on their own; the drift the issue lists (`validate` and the local
store disagreeing) is checked through `validate` on real files and through the store over HTTP.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from support import shared_file
from support.store import LocalStore

from provisioner import model, rules
from provisioner.config import validate_paths
from provisioner.epcc import flows as api
from provisioner.localstore.validation import FIELD_DEFAULTS

API_REFERENCE = shared_file("epcc-api.md")


# --- facts ------------------------------------------------------------------------------------


def _public_facts() -> set[str]:
    return {
        name
        for name, value in vars(api).items()
        if not name.startswith("_")
        and name != "annotations"
        and not inspect.ismodule(value)
        and getattr(value, "__module__", api.__name__) == api.__name__
        and name not in ("SECTIONS", "Attribute", "FieldType", "RuleType", "Any", "Mapping")
        and not isinstance(value, type)
    }


def test_every_fact_cites_a_section_of_the_api_reference() -> None:
    assert set(api.SECTIONS) == _public_facts()
    if not API_REFERENCE.is_file():
        pytest.skip(f"the API reference is not beside the repository ({API_REFERENCE})")
    text = API_REFERENCE.read_text(encoding="utf-8")
    headings = set(re.findall(r"^#{2,3} (\d+(?:\.\d+)?)\.? ", text, flags=re.MULTILINE))
    assert set(api.SECTIONS.values()) <= headings


def test_the_model_defaults_are_the_servers() -> None:
    defaults = {
        k: list(v) if isinstance(v, tuple) else v for k, v in api.FIELD_SERVER_DEFAULTS.items()
    }
    assert dict(model.FIELD_DEFAULTS) == defaults == dict(FIELD_DEFAULTS)
    assert dict(model.FLOW_DEFAULTS) == dict(api.FLOW_SERVER_DEFAULTS)
    assert set(model.FIELD_ATTRIBUTES) == {a.name for a in api.FIELD_BODY} - {"slug"}
    assert set(model.FLOW_ATTRIBUTES) == {a.name for a in api.FLOW_BODY} - {"slug"}


def test_relationship_targets_are_the_singular_of_core_flows() -> None:
    assert api.SINGULAR_OF_CORE_FLOW["customers"] == "customer"
    assert set(api.SINGULAR_OF_CORE_FLOW) <= api.CORE_FLOW_SLUGS
    assert "customer" in api.CORE_RELATIONSHIP_TARGETS
    assert not api.CORE_RELATIONSHIP_TARGETS & api.CORE_FLOW_SLUGS


def test_each_field_type_admits_only_known_rules() -> None:
    for facts in api.FIELD_TYPES_TABLE.values():
        assert set(facts.rules) <= set(api.RULE_TYPES)
    assert {rule for f in api.FIELD_TYPES_TABLE.values() for rule in f.rules} == set(api.RULE_TYPES)


# --- predicates: one each, agreed -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "valid"),
    [
        ("123e4567-e89b-12d3-a456-426614174000", True),
        ("123E4567-E89B-12D3-A456-426614174000", True),
        (
            "123e4567e89b12d3a456426614174000",
            False,
        ),  # uuid.UUID parses it; the API form is 8-4-4-4-12
        ("{123e4567-e89b-12d3-a456-426614174000}", False),
        ("urn:uuid:123e4567-e89b-12d3-a456-426614174000", False),
        ("123e4567-e89b-12d3-a456-426614174000\n", False),
        ("123e4567-e89b-12d3-a456-42661417400g", False),
    ],
)
def test_one_uuid_form(text: str, valid: bool) -> None:
    assert rules.is_uuid(text) is valid


@pytest.mark.parametrize(
    ("text", "valid"),
    [
        ("2024-02-29", True),
        ("2023-02-29", False),
        ("2024-13-45", False),
        ("2024-01-31 23:59:59", True),
        ("2024-01-31 24:00:00", False),
        ("2024-01-31T10:00:00", False),  # 4.4: a space, not `T`
        ("2024-01-31 10:00:00.5", False),
        ("2024-01-31 10:00:00Z", False),
        ("2024-01-31\n", False),
        ("24-01-31", False),
    ],
)
def test_one_date_form(text: str, valid: bool) -> None:
    assert rules.is_real_date(text) is valid


def test_every_json_type_the_facts_name_has_its_one_check() -> None:
    """One table of JSON types (`rules.JSON_TYPES`) serves `validate`, the local store and a
    saved plan's bodies: every type an attribute or a field type names is in it."""
    named = {t for a in (*api.FLOW_BODY, *api.FIELD_BODY) for t in a.json_types}
    named |= {t for f in api.FIELD_TYPES_TABLE.values() for t in f.json_types}
    assert named <= set(rules.JSON_TYPES)


@pytest.mark.parametrize(
    ("value", "json_types", "fits"),
    [
        (1, ("integer",), True),
        (1.0, ("integer",), False),  # 4.4: an integer field wants a JSON integer
        (1.0, ("number",), True),
        (True, ("integer", "number"), False),  # true is not 1
        (True, ("boolean",), True),
        ("1", ("integer", "null"), False),
        (None, ("integer", "null"), True),
        ([], ("array",), True),
        ({}, ("array", "string"), False),
        ("x", (), False),
    ],
)
def test_one_json_type_check(value: Any, json_types: tuple[str, ...], fits: bool) -> None:
    assert rules.has_json_type(value, json_types) is fits


@pytest.mark.parametrize(("field_type", "kind"), [("string", "enum"), ("integer", "between")])
def test_a_rule_without_its_options_is_one_violation(field_type: str, kind: str) -> None:
    found, _ = rules.rule_list_violations(field_type, [{"type": kind}], None)
    assert [(v.path, v.code, v.expected) for v in found] == [
        (("validation_rules", 0, "options"), "options_missing", "the rule's options")
    ]


def test_email_and_slug_values() -> None:
    assert rules.is_email("ron@example.com")
    assert not rules.is_email("ron@example")
    assert not rules.is_email("ron @example.com")
    assert rules.is_slug_value("a-b_C9")
    assert not rules.is_slug_value("a b")
    assert not rules.is_slug_value("a-b\n")


def test_violations_carry_a_path_what_and_expected() -> None:
    found = rules.field_violations(
        {
            "name": "Speed",
            "slug": "speed",
            "field_type": "integer",
            "default": 9,
            "validation_rules": [{"type": "between", "options": {"from": 1, "to": 5, "step": 1}}],
        },
        "products",
        {},
    )
    assert [(v.path, v.code) for v in found] == [
        (("validation_rules", 0, "options", "step"), "rule_key_unknown"),
        (("default",), "between"),
    ]
    assert (
        found[1].detail()
        == "data.default: 9 is outside the between range (expected a value from 1 to 5)"
    )


# --- drift the issue lists --------------------------------------------------------------------


def _validate(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "flows.yaml"
    path.write_text(text, encoding="utf-8")
    return [f"{d.path}: {d.message}" for d in validate_paths([path])]


def test_validate_refuses_a_blank_name(tmp_path: Path) -> None:
    found = _validate(
        tmp_path,
        'flows:\n  wishlists:\n    name: "   "\n    fields:\n'
        '      note: {name: "\\t", field_type: string}\n',
    )
    assert found == ["flows.wishlists.name: is blank", "flows.wishlists.fields.note.name: is blank"]


@pytest.fixture
def api_client(local_store: LocalStore) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=local_store.base_url, headers=local_store.headers(), timeout=10
    ) as client:
        yield client


def _flow(client: httpx.Client, slug: str) -> str:
    body = {"type": "flow", "name": slug, "slug": slug, "description": "", "enabled": True}
    response = client.post("/v2/flows", json={"data": body})
    assert response.status_code == 201, response.text
    return str(response.json()["data"]["id"])


def _field(client: httpx.Client, flow_id: str, **attrs: Any) -> httpx.Response:
    data = {
        "type": "field",
        "name": "F",
        "slug": "f",
        "field_type": "string",
        "description": "",
        "required": False,
        "relationships": {"flow": {"data": {"type": "flow", "id": flow_id}}},
        **attrs,
    }
    return client.post("/v2/fields", json={"data": data})


@pytest.mark.parametrize(
    "attrs",
    [
        {"field_type": "date", "default": "2024-13-45"},
        {"field_type": "date", "default": "2024-01-31T10:00:00Z"},
        {"validation_rules": [{"type": "enum", "options": ["a", "a"]}]},
        {"validation_rules": [{"type": "email"}, {"type": "email"}]},
        {
            "field_type": "integer",
            "validation_rules": [{"type": "between", "options": {"from": 1, "to": 2, "by": 1}}],
        },
        {
            "field_type": "relationship",
            "validation_rules": [{"type": "one-to-many", "to": "nowhere"}],
        },
        {"default": {"a": 1}},
        {
            "validation_rules": [{"type": "uuid"}],
            "default": "{123e4567-e89b-12d3-a456-426614174000}",
        },
        {"validation_rules": [{"type": "email", "extra": True}]},
    ],
)
def test_the_store_refuses_what_validate_refuses(
    api_client: httpx.Client, attrs: dict[str, Any]
) -> None:
    flow_id = _flow(api_client, "wishlists")
    response = _field(api_client, flow_id, **attrs)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["detail"].startswith("data.")
    assert api_client.get("/v2/fields").json()["data"] == []


def test_the_store_accepts_what_the_real_api_is_known_to_accept(api_client: httpx.Client) -> None:
    flow_id = _flow(api_client, "customers")
    # Section 0: the seed's `"default": 0` on a string field.
    assert _field(api_client, flow_id, slug="a", default=0).status_code == 201
    # 4.5 (KATA): a core flow's plural slug as a relationship's target.
    rule = [{"type": "one-to-many", "to": "products"}]
    created = _field(
        api_client, flow_id, slug="b", field_type="relationship", validation_rules=rule
    )
    assert created.status_code == 201, created.text
    # A flow of the store is a target too.
    _flow(api_client, "wishlists")
    rule = [{"type": "one-to-one", "to": "wishlists"}]
    created = _field(
        api_client, flow_id, slug="c", field_type="relationship", validation_rules=rule
    )
    assert created.status_code == 201, created.text


def test_entry_values_agree_on_uuid_and_date_forms(api_client: httpx.Client) -> None:
    flow_id = _flow(api_client, "wishlists")
    assert (
        _field(api_client, flow_id, slug="ref", validation_rules=[{"type": "uuid"}]).status_code
        == 201
    )
    assert _field(api_client, flow_id, slug="day", field_type="date").status_code == 201
    for bad in (
        {"ref": "123e4567e89b12d3a456426614174000"},
        {"ref": "urn:uuid:123e4567-e89b-12d3-a456-426614174000"},
        {"day": "2024-01-31T10:00:00"},
        {"day": "2024-01-31 25:00:00"},
    ):
        response = api_client.post(
            "/v2/flows/wishlists/entries", json={"data": {"type": "entry", **bad}}
        )
        assert response.status_code == 422, (bad, response.text)
    good = {"ref": "123e4567-e89b-12d3-a456-426614174000", "day": "2024-01-31 10:00:00"}
    response = api_client.post(
        "/v2/flows/wishlists/entries", json={"data": {"type": "entry", **good}}
    )
    assert response.status_code == 201, response.text


# --- each fact written once -------------------------------------------------------------------

# Text that reads like a fact but is another format's own rule: (file, text, why).
_NOT_A_COPY = {
    ("provisioner/tomlkeys.py", "[A-Za-z0-9_-]+"): "TOML's bare-key alphabet, not a slug",
}


def _pattern_texts() -> dict[str, str]:
    """Each pattern of the facts, and the body of each anchored one, by the name it comes from;
    each alphabet (`*_CHARACTERS`, a character class's body) as a class and as its complement."""
    from provisioner.epcc import custom_apis

    texts: dict[str, str] = {}
    for module in (api, custom_apis):
        for name, value in vars(module).items():
            if name.endswith("_PATTERN") and isinstance(value, str):
                texts[value] = f"{module.__name__}.{name}"
                if value.startswith("^") and value.endswith("$"):
                    texts[value[1:-1]] = f"{module.__name__}.{name} (unanchored)"
            if name.endswith("_CHARACTERS") and isinstance(value, str):
                texts[f"[{value}]"] = f"{module.__name__}.{name}"
                texts[f"[^{value}]"] = f"{module.__name__}.{name} (complement)"
    return texts


def test_no_module_outside_the_facts_copies_a_pattern_of_theirs() -> None:
    """A slug alphabet or a value pattern is written in `epcc/` only; other modules use the
    constant or build on it (schema.RENAMED_FROM_PATTERN does), so changing a fact changes it
    everywhere."""
    root = Path(__file__).resolve().parent.parent
    package = root / "provisioner"
    texts = _pattern_texts()
    copies = []
    for path in sorted(package.rglob("*.py")):
        relative = path.relative_to(root).as_posix()
        if relative.startswith("provisioner/epcc/"):
            continue
        source = path.read_text(encoding="utf-8")
        for text, origin in texts.items():
            if text in source and (relative, text) not in _NOT_A_COPY:
                copies.append(f"{relative} copies {origin}: {text}")
    assert not copies, "\n".join(copies)
