"""The JSON Schema of the YAML format (draft 2020-12), generated from the API's facts.

`schemas/provisioner.schema.json` is exactly `schema_text()` (a test says so; `provisioner
schema` prints it). The per-field-type branches (the type of `default`, the rules a type admits,
the type of enum options and `between` bounds) and the per-rule branches (the keys of each rule)
come from `provisioner.epcc.flows`; the rest is the YAML format's own shape (our keys `prune`,
`state`, `renamed_from`). Pure: no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from provisioner import custom_api_schema
from provisioner.epcc import FieldType, RuleType
from provisioner.epcc import flows as api


def _unanchored(pattern: str) -> str:
    """A `^...$` pattern of the facts without its anchors, to build a longer one from it."""
    return pattern.removeprefix("^").removesuffix("$")


# Ours, not the API's: `renamed_from` items are `old_slug` or `other_flow.old_slug`, each part
# a slug of the API's alphabets (`epcc.flows`, 2.8 and 3.4).
RENAMED_FROM_PATTERN = (
    rf"^({_unanchored(api.FLOW_SLUG_PATTERN)}\.)?{_unanchored(api.FIELD_SLUG_PATTERN)}$"
)

_STATE = {"enum": ["present", "absent"], "default": "present"}


def _when(key: str, values: Iterable[str]) -> dict[str, Any]:
    """`if` the object's `key` is one of `values` (and present)."""
    listed = list(values)
    test: dict[str, Any] = {"const": listed[0]} if len(listed) == 1 else {"enum": listed}
    return {"properties": {key: test}, "required": [key]}


def _value_schema(field_type: FieldType) -> dict[str, Any]:
    """The JSON Schema of one value of this field type (an enum option, a bound)."""
    types = list(field_type.json_types)
    schema: dict[str, Any] = {"type": types[0] if len(types) == 1 else types}
    if field_type.value_pattern:
        schema["pattern"] = field_type.value_pattern
    return schema


def _rule_options_for(field_type: FieldType, rule: RuleType) -> dict[str, Any] | None:
    """What a rule's options hold in a field of this type (None: nothing type-specific)."""
    value = _value_schema(field_type)
    if rule.options == "values":
        return {"items": value}
    if rule.options == "range":
        return {"properties": {"from": value, "to": value}}
    return None


def _field_type_branch(field_type: FieldType) -> dict[str, Any]:
    """`if field_type is T then ...`: its default's type, its rules, their options' types."""
    if field_type.json_types:
        default: dict[str, Any] = {"type": [*field_type.json_types, "null"]}
        if field_type.value_pattern:
            default["pattern"] = field_type.value_pattern
    else:
        default = {"type": "null"}
    then: dict[str, Any] = {"default": default}
    if not field_type.rules:
        then["validation_rules"] = {"maxItems": 0}
    else:
        items: dict[str, Any] = {"properties": {"type": {"enum": list(field_type.rules)}}}
        branches = []
        for name in field_type.rules:
            options = _rule_options_for(field_type, api.RULE_TYPES[name])
            if options is not None:
                branches.append(
                    {"if": _when("type", [name]), "then": {"properties": {"options": options}}}
                )
        if branches:
            items["allOf"] = branches
        then["validation_rules"] = {"items": items}
    if field_type.name == "relationship":
        then["required"] = {
            "const": False,
            "description": "The API requires false for relationship fields.",
        }
    return {"if": _when("field_type", [field_type.name]), "then": {"properties": then}}


_OPTIONS_SCHEMAS: dict[str, dict[str, Any]] = {
    "values": {
        "description": "The allowed values, of the field's type.",
        "type": "array",
        "minItems": 1,
        "uniqueItems": True,
    },
    "range": {
        "description": "The inclusive range `from` .. `to`.",
        "type": "object",
        "required": ["from", "to"],
        "additionalProperties": False,
        "properties": {"from": {"type": "number"}, "to": {"type": "number"}},
    },
}
_TARGET_SCHEMA: dict[str, Any] = {
    "description": "A core resource in singular form (customer, product, ...) or the slug of a "
    "flow declared in these files.",
    "type": "string",
    "minLength": 1,
}


def _rule_branches() -> list[dict[str, Any]]:
    """One `if type is ... then <its keys>` per rule shape, rule types of one shape together."""
    shapes: dict[tuple[str | None, bool], list[RuleType]] = {}
    for rule in api.RULE_TYPES.values():
        shapes.setdefault((rule.options, rule.target), []).append(rule)
    branches = []
    for (options, target), rules in shapes.items():
        then: dict[str, Any] = {}
        required = [*(["options"] if options else []), *(["to"] if target else [])]
        if required:
            then["required"] = required
        then["additionalProperties"] = False
        properties: dict[str, Any] = {"type": True}
        if options:
            properties["options"] = _OPTIONS_SCHEMAS[options]
        if target:
            properties["to"] = _TARGET_SCHEMA
        then["properties"] = properties
        branches.append({"if": _when("type", [r.name for r in rules]), "then": then})
    return branches


def _absent_or(required: list[str]) -> dict[str, Any]:
    """`state: absent` needs only the slug; otherwise `required` keys."""
    return {
        "if": {"properties": {"state": {"const": "absent"}}, "required": ["state"]},
        "else": {"required": required},
    }


def generate() -> dict[str, Any]:
    """The schema as a JSON value."""
    name = {"type": "string", "minLength": 1, "pattern": api.NAME_PATTERN}
    flow = {
        "description": "A flow: a core slug (customers, products, ...) extends that resource; "
        "any other slug is a custom flow.",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "name": name,
            "description": {"type": "string"},
            "enabled": {"type": "boolean", "default": api.FLOW_SERVER_DEFAULTS["enabled"]},
            "prune": {
                "type": "boolean",
                "default": False,
                "description": "Delete live fields of this flow that are not declared here.",
            },
            "state": {
                **_STATE,
                "description": "absent: delete this flow (core flows cannot be deleted).",
            },
            "fields": {
                "type": "object",
                "description": f"Field slug -> field. At most {api.MAX_FIELDS_PER_FLOW} fields "
                "per flow (the API's limit), not counting fields with state: absent; "
                "`provisioner validate` checks it.",
                "propertyNames": {"$ref": "#/$defs/field_slug"},
                "additionalProperties": {"$ref": "#/$defs/field"},
            },
        },
        **_absent_or(["name"]),
    }
    defaults = api.FIELD_SERVER_DEFAULTS
    field = {
        "description": "A field of a flow, attributes named as the API names them "
        "(epcc-api.md 4.2).",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "name": {**name, "description": "Display name."},
            "description": {"type": "string"},
            "field_type": {
                "enum": list(api.FIELD_TYPES),
                "description": "Immutable once created: a change replaces the field (its values "
                "are lost).",
            },
            "required": {"type": "boolean", "default": defaults["required"]},
            "unique": {"type": "boolean", "default": defaults["unique"]},
            "default": {
                "type": ["string", "integer", "number", "boolean", "null"],
                "description": "Of the field's type, and satisfying its rules.",
            },
            "enabled": {"type": "boolean", "default": defaults["enabled"]},
            "order": {"type": ["integer", "null"]},
            "omit_null": {"type": "boolean", "default": defaults["omit_null"]},
            "validation_rules": {"type": "array", "items": {"$ref": "#/$defs/rule"}},
            "state": {
                **_STATE,
                "description": "absent: delete this field (only the slug is needed).",
            },
            "renamed_from": {
                "description": "Former slugs of this field (`old_slug`, or `other_flow.old_slug` "
                "to move it from another flow).",
                "type": "array",
                "minItems": 1,
                "uniqueItems": True,
                "items": {"type": "string", "pattern": RENAMED_FROM_PATTERN},
            },
        },
        **_absent_or(["name", "field_type"]),
        "allOf": [_field_type_branch(t) for t in api.FIELD_TYPES_TABLE.values()],
    }
    rule = {
        "description": "A validation rule, exactly as the API shapes it (epcc-api.md 4.5).",
        "type": "object",
        "required": ["type"],
        "properties": {"type": {"enum": list(api.RULE_TYPES), "description": "The kind of rule."}},
        "allOf": _rule_branches(),
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "provisioner desired state",
        "description": "Flows and fields of Elastic Path Commerce Cloud custom data, and Custom "
        "APIs (Commerce Extensions), keyed by slug.",
        "type": "object",
        "additionalProperties": False,
        # `flows:`, `custom_apis:` or both: `validate` requires one of them (issue 14).
        "properties": {
            "flows": {
                "type": "object",
                "propertyNames": {"$ref": "#/$defs/flow_slug"},
                "additionalProperties": {"$ref": "#/$defs/flow"},
            },
            "custom_apis": custom_api_schema.property_schema(),
        },
        "$defs": {
            "flow_slug": {"type": "string", "pattern": api.FLOW_SLUG_PATTERN},
            "field_slug": {"type": "string", "pattern": api.FIELD_SLUG_PATTERN},
            "flow": flow,
            "field": field,
            "rule": rule,
            **custom_api_schema.definitions(),
        },
    }


def schema_text() -> str:
    """The schema as the file holds it: two-space JSON and a final newline."""
    return json.dumps(generate(), indent=2, ensure_ascii=False) + "\n"
