"""The compiled schema check answers exactly as jsonschema does (issue 16).

`config` skips jsonschema's detailed walk when `schemacheck`'s compiled check calls a document
valid, so that check must never call valid what jsonschema refuses. Tested as equality with
`jsonschema`'s `is_valid` (with config's strict integer) over the repository's files, generated
documents (mostly wrong) and near-valid ones (one attribute of a valid field replaced), and on
small schemas for each keyword. The shipped schema must compile, or the speed-up is silently
gone; a schema with a keyword the compiler does not know must not.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.badinput import _FIELD_VALUES, documents, scalars
from bench.common import field_spec
from provisioner import schemacheck
from provisioner.config import schema_pass
from provisioner.yamlload import load_file

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = settings(
    max_examples=400, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)


def compiled() -> schemacheck.Check:
    check = schema_pass.compiled_check()
    assert check is not None, "the shipped schema no longer compiles: validate is slow again"
    return check


def agree(data: Any) -> bool:
    expected = schema_pass.validator().is_valid(data)
    assert compiled()(data) is expected, data
    return bool(expected)


@pytest.mark.parametrize(
    "path",
    sorted([*ROOT.glob("examples/**/*.yaml"), *ROOT.glob("tests/**/*.yaml")]),
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_repository_files(path: Path) -> None:
    document = load_file(path)
    if document.data is not None:
        agree(document.data)


def test_both_answers_are_seen() -> None:
    assert agree({"flows": {"a": {"name": "A", "fields": {"f": field_spec(3)}}}})
    assert not agree({"flows": {"a": {"name": "A", "fields": {"f": {"field_type": "x"}}}}})
    assert not agree(
        {"flows": {"a": {"name": "A", "fields": {"f": {**field_spec(4), "order": 1.0}}}}}
    )


@pytest.mark.slow
@SETTINGS
@given(documents)
def test_generated_documents(data: Any) -> None:
    agree(data)


@st.composite
def near_valid(draw: st.DrawFn) -> dict[str, Any]:
    spec = field_spec(draw(st.integers(0, 4)))
    key = draw(st.sampled_from(sorted(_FIELD_VALUES)))
    if draw(st.booleans()):
        spec[key] = draw(_FIELD_VALUES[key])
    flow: dict[str, Any] = {"name": "Flow", "fields": {"f": spec}}
    if draw(st.booleans()):
        flow["state"] = draw(st.sampled_from(["present", "absent"]) | scalars)
    return {"flows": {draw(st.sampled_from(["wishlists", "customers", "products(b)"])): flow}}


@SETTINGS
@given(near_valid())
def test_near_valid_documents(data: dict[str, Any]) -> None:
    agree(data)


# Values as YAML gives them: string keys only (the loader makes every key a string).
json_like = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4)
    ),
    max_leaves=12,
)

KEYWORD_SCHEMAS: list[dict[str, Any]] = [
    {"type": ["integer", "null"]},
    {"type": "number", "minimum": 1, "exclusiveMaximum": 3},
    {"enum": [1, "a", None, [1], {"a": True}]},
    {"const": True},
    {"const": {"a": [1, 2.0]}},
    {"type": "string", "minLength": 2, "maxLength": 3, "pattern": "b"},
    {"type": "array", "items": {"type": "integer"}, "minItems": 1, "maxItems": 2},
    {"prefixItems": [{"type": "string"}], "items": False},
    {"prefixItems": [{"type": "string"}]},
    {"uniqueItems": True},
    {"anyOf": [{"type": "string"}, {"const": 1}]},
    {"oneOf": [{"type": "integer"}, {"minimum": 0}]},
    {"not": {"type": "object"}},
    {"if": {"required": ["a"]}, "then": {"required": ["b"]}, "else": {"maxProperties": 1}},
    {
        "properties": {"a": {"type": "string"}},
        "patternProperties": {"^x": {"type": "integer"}},
        "additionalProperties": {"type": "boolean"},
        "propertyNames": {"maxLength": 3},
        "dependentRequired": {"a": ["b"]},
        "minProperties": 1,
    },
    {
        "$defs": {"n": {"anyOf": [{"type": "null"}, {"items": {"$ref": "#/$defs/n"}}]}},
        "$ref": "#/$defs/n",
    },
]


@pytest.mark.slow
@pytest.mark.parametrize("schema", KEYWORD_SCHEMAS, ids=lambda s: ",".join(s))
def test_each_keyword(schema: dict[str, Any]) -> None:
    check = schemacheck.compile_schema(schema)
    assert check is not None
    validator = type(schema_pass.validator())(schema)

    @SETTINGS
    @given(json_like)
    def run(data: Any) -> None:
        assert check(data) is validator.is_valid(data), data

    run()


@pytest.mark.parametrize(
    "schema",
    [
        {"contains": {"type": "string"}},
        {"unevaluatedProperties": False},
        {"$ref": "https://example.com/schema"},
        {"$schema": "http://json-schema.org/draft-07/schema#"},
        {"multipleOf": 2},
    ],
)
def test_what_it_does_not_know_is_left_to_jsonschema(schema: dict[str, Any]) -> None:
    assert schemacheck.compile_schema(schema) is None
