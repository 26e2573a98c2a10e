"""Custom API facts and pure checks (provisioner.epcc.custom_apis, provisioner.custom_api_rules).

Each case names the definition, the path the violation must be at, and a word of its message;
a valid definition must give no violation at all.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from typing import Any

import pytest
from support import shared_file

from provisioner import custom_api_rules as rules
from provisioner.epcc import custom_apis as facts
from provisioner.rules import Violation

API = {"name": "Wishlists", "slug": "wishlists", "api_type": "wishlist_ext"}


def paths(found: list[Violation]) -> list[str]:
    return [rules.dotted(violation) for violation in found]


def test_a_complete_custom_api_is_valid() -> None:
    api = {
        **API,
        "description": "d",
        "allow_upserts": True,
        "presentation": {"page": "home", "section": "top"},
        "relationships": {
            "parent_apis": {
                "data": [
                    {"type": "api_location", "id": "/v2/extensions"},
                    {"type": "custom_api", "id": "b0c6e5e8-0000-4000-8000-000000000000"},
                ]
            }
        },
    }
    assert rules.custom_api_violations(api, create=True) == []
    assert rules.parent_ids(api) == ["b0c6e5e8-0000-4000-8000-000000000000"]


@pytest.mark.parametrize(
    ("change", "path", "word"),
    [
        ({"slug": "Wish Lists"}, "slug", "Wish Lists"),
        ({"slug": "x" * 64}, "slug", "string"),
        ({"api_type": "wishlist"}, "api_type", "wishlist"),
        ({"api_type": "Wish_ext"}, "api_type", "Wish_ext"),
        ({"api_type": "a" * 60 + "_ext"}, "api_type", "string"),
        ({"name": ""}, "name", "0 characters"),
        ({"name": "n" * 256}, "name", "256 characters"),
        ({"description": "d" * 256}, "description", "256"),
        ({"allow_upserts": "yes"}, "allow_upserts", "string"),
        ({"presentation": {"section": "s"}}, "presentation.section", "without a page"),
        ({"presentation": {"page": "p", "section": "s" * 65}}, "presentation.section", "65"),
        ({"presentation": {"page": 3}}, "presentation.page", "integer"),
        ({"colour": "red"}, "colour", "unknown"),
        (
            {"relationships": {"parent_apis": {"data": [{"type": "api_location", "id": "/v2"}]}}},
            "relationships.parent_apis.data.0.id",
            "/v2",
        ),
        (
            {"relationships": {"parent_apis": {"data": [{"type": "flow", "id": "x"}]}}},
            "relationships.parent_apis.data.0.type",
            "flow",
        ),
    ],
)
def test_custom_api_violations(change: dict[str, Any], path: str, word: str) -> None:
    found = rules.custom_api_violations({**API, **change}, create=True)
    assert paths(found) == [path], found
    assert word in rules.text(found[0])


def test_custom_api_create_requires_and_update_refuses_api_type() -> None:
    assert paths(rules.custom_api_violations({}, create=True)) == ["name", "slug", "api_type"]
    assert rules.custom_api_violations({"name": "Renamed", "slug": "new-slug"}, create=False) == []
    refused = rules.custom_api_violations({"api_type": "other_ext"}, create=False)
    assert paths(refused) == ["api_type"]
    assert "set when the Custom API is created" in refused[0].what
    assert refused[0].code == "create_only"


def test_parent_graph_missing_cycle_and_depth() -> None:
    # a <- b <- c is fine (depth 2); d under c is three parents deep.
    graph = {"a": [], "b": ["a"], "c": ["b"], "d": ["c"], "e": ["ghost"], "x": ["y"], "y": ["x"]}
    found = {(key, rules.dotted(v), v.what) for key, v in rules.parent_graph_violations(graph)}
    assert found == {
        ("d", "", "is nested 3 parents deep"),
        ("e", "0", "no Custom API 'ghost'"),
        ("x", "", "its parents form a cycle"),
        ("y", "", "its parents form a cycle"),
    }
    assert rules.parent_graph_violations(graph, ["a", "b", "c"]) == []
    assert [k for k, _ in rules.parent_graph_violations({"s": ["s"]})] == ["s"]


FIELD = {"name": "Name", "slug": "name", "field_type": "string"}


@pytest.mark.parametrize(
    "field",
    [
        FIELD,
        {
            **FIELD,
            "description": "",
            "use_as_url_slug": True,
            "presentation": {"sort_order": 1000},
            "validation": {
                "string": {
                    "min_length": 0,
                    "max_length": 64,
                    "regex": r"^[a-z][a-z0-9-]*\z",
                    "unique": "yes",
                    "unique_case_insensitivity": True,
                    "allow_null_values": False,
                    "immutable": True,
                }
            },
        },
        {**FIELD, "field_type": "integer", "validation": {"integer": {"min_value": -(2**53 - 1)}}},
        {
            **FIELD,
            "field_type": "float",
            "validation": {"float": {"min_value": 0.5, "max_value": 1}},
        },
        {**FIELD, "field_type": "boolean", "validation": {"boolean": {"allow_null_values": None}}},
        {
            **FIELD,
            "field_type": "any",
            "validation": {
                "any": {
                    "json_schema": {
                        "version": "2020-12",
                        "schema": json.dumps(
                            {
                                "type": "object",
                                "$defs": {"n": {"type": "integer"}},
                                "properties": {"n": {"$ref": "#/$defs/n"}},
                            }
                        ),
                    }
                }
            },
        },
        {
            **FIELD,
            "field_type": "list",
            "validation": {"list": {"min_length": 1, "max_length": 1000, "allowed_type": "float"}},
        },
    ],
)
def test_valid_fields(field: dict[str, Any]) -> None:
    assert rules.custom_field_violations(field, create=True) == []


def _schema(schema: Any) -> dict[str, Any]:
    return {"version": "2020-12", "schema": json.dumps(schema)}


@pytest.mark.parametrize(
    ("field", "path", "word"),
    [
        ({"slug": "type"}, "slug", "reserved"),
        ({"slug": "weights"}, "slug", "reserved"),
        ({"slug": "s" * 64}, "slug", "64 characters"),
        ({"field_type": "date"}, "field_type", "date"),
        ({"presentation": {"sort_order": 1001}}, "presentation.sort_order", "1001"),
        ({"validation": {"integer": {"min_value": 1}}}, "validation.integer", "integer fields"),
        ({"validation": {"string": {"max_length": 65536}}}, "validation.string.max_length", "655"),
        ({"validation": {"string": {"min_length": -1}}}, "validation.string.min_length", "-1"),
        (
            {"validation": {"string": {"min_length": 5, "max_length": 4}}},
            "validation.string.min_length",
            "greater than",
        ),
        ({"validation": {"string": {"regex": r"(a)\1"}}}, "validation.string.regex", "RE2"),
        ({"validation": {"string": {"regex": r"a(?=b)"}}}, "validation.string.regex", "RE2"),
        ({"validation": {"string": {"regex": r"(?<!a)b"}}}, "validation.string.regex", "RE2"),
        ({"validation": {"string": {"regex": "a" * 1025}}}, "validation.string.regex", "1025"),
        ({"validation": {"string": {"unique": True}}}, "validation.string.unique", "boolean"),
        (
            {"validation": {"string": {"unique_case_insensitivity": True}}},
            "validation.string.unique_case_insensitivity",
            "unique",
        ),
        ({"validation": {"string": {"colour": 1}}}, "validation.string.colour", "unknown"),
        (
            {"use_as_url_slug": True, "validation": {"string": {"unique": "yes"}}},
            "use_as_url_slug",
            "null",
        ),
        (
            {"field_type": "integer", "validation": {"integer": {"max_value": 2**53}}},
            "validation.integer.max_value",
            "9007199254740992",
        ),
        (
            {"field_type": "integer", "validation": {"integer": {"min_value": 1.5}}},
            "validation.integer.min_value",
            "1.5",
        ),
        (
            {"field_type": "float", "validation": {"float": {"min_value": 2, "max_value": 1}}},
            "validation.float.min_value",
            "greater",
        ),
        ({"field_type": "integer", "use_as_url_slug": True}, "use_as_url_slug", "integer field"),
        (
            {"field_type": "list", "validation": {"list": {"allowed_type": "object"}}},
            "validation.list.allowed_type",
            "object",
        ),
        (
            {"field_type": "list", "validation": {"list": {"max_length": 1001}}},
            "validation.list.max_length",
            "1001",
        ),
        (
            {
                "field_type": "any",
                "validation": {"any": {"json_schema": {"version": "draft-07", "schema": "{}"}}},
            },
            "validation.any.json_schema.version",
            "draft-07",
        ),
        (
            {"field_type": "any", "validation": {"any": {"json_schema": _schema({"type": 5})}}},
            "validation.any.json_schema.schema",
            "2020-12",
        ),
        (
            {
                "field_type": "any",
                "validation": {"any": {"json_schema": {"version": "2020-12", "schema": "{nope"}}},
            },
            "validation.any.json_schema.schema",
            "not JSON",
        ),
        (
            {
                "field_type": "list",
                "validation": {
                    "list": {"json_schema": _schema({"$ref": "https://example.com/s.json"})}
                },
            },
            "validation.list.json_schema.schema",
            "external",
        ),
        (
            {
                "field_type": "any",
                "validation": {
                    "any": {
                        "json_schema": _schema({"description": "x" * facts.JSON_SCHEMA_MAX_BYTES})
                    }
                },
            },
            "validation.any.json_schema.schema",
            "bytes",
        ),
    ],
)
def test_field_violations(field: dict[str, Any], path: str, word: str) -> None:
    found = rules.custom_field_violations({**FIELD, **field}, create=True)
    assert paths(found) == [path], found
    assert word in rules.text(found[0])


def test_field_update_refuses_create_only_validation_keys() -> None:
    body = {"validation": {"string": {"unique": "yes", "max_length": 3}}}
    found = rules.custom_field_violations({**body, "field_type": "string"}, create=False)
    assert paths(found) == ["validation.string.unique"]
    body = {"validation": {"list": {"allowed_type": "string"}}}
    assert paths(rules.custom_field_violations({**body, "field_type": "list"}, create=False)) == [
        "validation.list.allowed_type"
    ]


def test_create_only_changes() -> None:
    current = {
        "field_type": "string",
        "use_as_url_slug": False,
        "validation": rules.full_validation("string", {"string": {"unique": "yes"}}),
    }
    same = {"field_type": "string", "validation": {"string": {"unique": "yes"}}}
    assert rules.create_only_violations(current, same, facts.FIELD_CREATE_ONLY) == []
    changed = {"field_type": "integer", "use_as_url_slug": True}
    found = rules.create_only_violations(current, changed, facts.FIELD_CREATE_ONLY)
    assert paths(found) == ["field_type", "use_as_url_slug"]
    assert "creation only" in found[0].what


def test_at_most_one_url_slug_field_per_api() -> None:
    fields = {"a": {"use_as_url_slug": True}, "b": {"use_as_url_slug": True}, "c": {}}
    assert paths(rules.url_slug_field_violations(fields)) == ["b.use_as_url_slug"]


@pytest.mark.parametrize(
    ("field_type", "validation", "value", "ok"),
    [
        ("string", {}, "x", True),
        ("string", {}, 1, False),
        ("string", {"min_length": 2}, "x", False),
        ("string", {"max_length": 2}, "xyz", False),
        ("string", {"regex": "^(alpha|bravo)$"}, "bravo", True),
        ("string", {"regex": "^(alpha|bravo)$"}, "charlie", False),
        ("string", {}, None, True),
        ("string", {"allow_null_values": False}, None, False),
        ("integer", {}, 2**53 - 1, True),
        ("integer", {}, 2**53, False),
        ("integer", {}, True, False),
        ("integer", {}, 1.0, False),
        ("integer", {"min_value": 0, "max_value": 32}, 33, False),
        ("float", {"min_value": 0.01}, 0.0, False),
        ("float", {}, 3, True),
        ("boolean", {}, 0, False),
        ("boolean", {}, False, True),
        ("list", {"allowed_type": "string"}, ["a", "b"], True),
        ("list", {"allowed_type": "string"}, ["a", 1], False),
        ("list", {}, ["a", 1, True, 2.5, None], True),
        ("list", {}, [{"a": 1}], False),
        ("list", {"allow_null_values": False}, ["a", None], False),
        ("list", {"max_length": 1}, [1, 2], False),
        ("list", {}, list(range(1001)), False),
        ("list", {}, "a", False),
        ("any", {}, {"deep": [1, {"x": None}]}, True),
        ("any", {"json_schema": _schema({"type": "object", "required": ["a"]})}, {"a": 1}, True),
        ("any", {"json_schema": _schema({"type": "object", "required": ["a"]})}, {"b": 1}, False),
        ("list", {"json_schema": _schema({"uniqueItems": True})}, [1, 1], False),
    ],
)
def test_entry_values(field_type: str, validation: dict[str, Any], value: Any, ok: bool) -> None:
    full = rules.full_validation(field_type, {field_type: validation})[field_type]
    found = rules.entry_value_violations(field_type, full, value)
    assert (found == []) is ok, found


@pytest.mark.parametrize("module", ["provisioner.epcc.custom_apis", "provisioner.custom_api_rules"])
def test_pure_modules_import_no_io_library(module: str) -> None:
    forbidden = ["httpx", "click", "rich", "starlette", "uvicorn", "provisioner.localstore"]
    code = f"import sys, {module}\nprint(','.join(m for m in {forbidden!r} if m in sys.modules))\n"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


def test_every_fact_cites_a_section_of_the_api_reference() -> None:
    public = {
        name
        for name, value in vars(facts).items()
        if not name.startswith("_")
        and name not in ("SECTIONS", "annotations", "Mapping", "MappingProxyType", "dataclass")
        and not isinstance(value, type)
    }
    assert set(facts.SECTIONS) == public
    reference = shared_file("epcc-api.md")
    if not reference.is_file():
        pytest.skip(f"the API reference is not beside the repository ({reference})")
    text = reference.read_text(encoding="utf-8")
    headings = set(re.findall(r"^#{2,3} (\d+(?:\.\d+)?)\.? ", text, flags=re.MULTILINE))
    assert set(facts.SECTIONS.values()) <= headings


def test_violations_carry_codes_and_render_as_api_details() -> None:
    found = rules.custom_field_violations(
        {**FIELD, "field_type": "list", "validation": {"list": {"min_length": 5, "max_length": 1}}},
        create=True,
    )
    assert [(v.path, v.code) for v in found] == [
        (("validation", "list", "min_length"), "min_greater_than_max")
    ]
    assert found[0].detail().startswith("data.validation.list.min_length: 5 is greater than")
    listed = rules.entry_value_violations("list", {"allowed_type": "string"}, ["a", 1])
    assert [(v.path, v.code) for v in listed] == [((1,), "value_type")]


def test_a_bound_of_the_wrong_type_is_a_violation_not_a_crash() -> None:
    # A string where an integer bound belongs was compared with the range (TypeError, a 500
    # from the store and a traceback from validate) before it was found to be no integer.
    for field_type, key in (
        ("string", "min_length"),
        ("integer", "max_value"),
        ("list", "max_length"),
    ):
        field = {"name": "F", "slug": "f", "field_type": field_type}
        found = rules.custom_field_violations(
            {**field, "validation": {field_type: {key: "1"}}}, create=True
        )
        assert [rules.dotted(v) for v in found] == [f"validation.{field_type}.{key}"]
