"""The `custom_apis:` part of the JSON Schema of the YAML format, from the Custom API facts.

`provisioner.schema` adds these definitions beside the flows' ones. The shape (keys, types,
the field types, the validation keys of each type and their kinds, the slug and `api_type`
patterns) comes from `provisioner.epcc.custom_apis`; ranges, lengths, RE2 regexes, JSON
Schemas, parents and `validation` for the field's own type only are checked by `validate`
with the rules the local store uses (`provisioner.custom_api_rules`), and are described here
for editors. Pure: no I/O.
"""

from __future__ import annotations

from typing import Any

from provisioner.epcc import custom_apis as facts

_STATE = {"enum": ["present", "absent"], "default": "present"}

# What a validation key of each kind may hold (`facts.ValidationKey.kind`).
_KIND_SCHEMAS: dict[str, dict[str, Any]] = {
    "int": {"type": ["integer", "null"]},
    "number": {"type": ["number", "null"]},
    "bool": {"type": ["boolean", "null"]},
    "unique": {"enum": list(facts.UNIQUE_VALUES)},
    "regex": {"type": ["string", "null"], "description": "An RE2 regular expression."},
    "allowed_type": {"enum": list(facts.LIST_ALLOWED_TYPES)},
    "json_schema": {
        "type": ["object", "null"],
        "description": f"{{version: {facts.JSON_SCHEMA_VERSION}, schema: <a JSON Schema as "
        f"JSON text, at most {facts.JSON_SCHEMA_MAX_BYTES} bytes, no external $ref>}}",
    },
}


def _key_schema(key: str, rule: facts.ValidationKey) -> dict[str, Any]:
    schema = dict(_KIND_SCHEMAS[rule.kind])
    notes = []
    if rule.minimum is not None and rule.maximum is not None:
        notes.append(f"from {rule.minimum:g} to {rule.maximum:g}")
    if rule.default is not None:
        notes.append(f"default {rule.default}")
    if not rule.on_update:
        notes.append("set at creation only: a change replaces the field (its values are lost)")
    if notes:
        schema["description"] = "; ".join([schema.get("description", key), *notes])
    return schema


def _validation() -> dict[str, Any]:
    properties = {
        field_type: {
            "type": "object",
            "additionalProperties": False,
            "properties": {key: _key_schema(key, rule) for key, rule in keys.items()},
        }
        for field_type, keys in facts.VALIDATION.items()
    }
    return {
        "description": "The API's own shape: `{<field_type>: {...}}`, only for the field's "
        "own type.",
        "type": "object",
        "additionalProperties": False,
        "properties": properties,
    }


def _absent_or(required: list[str]) -> dict[str, Any]:
    return {
        "if": {"properties": {"state": {"const": "absent"}}, "required": ["state"]},
        "else": {"required": required},
    }


def definitions() -> dict[str, Any]:
    """`$defs` entries: custom_api_slug, custom_field_slug, custom_api, custom_field."""
    low, high = facts.NAME_LENGTH
    name = {"type": "string", "description": f"{low} to {high} characters."}
    description = {"type": "string", "description": f"At most {facts.DESCRIPTION_LENGTH[1]}."}
    api = {
        "description": "A Custom API (Commerce Extensions, epcc-api.md section 10).",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "name": name,
            "description": description,
            "api_type": {
                "type": "string",
                "pattern": facts.API_TYPE_PATTERN,
                "description": "Unique in the store; set at creation only: a change replaces "
                "the Custom API (its entries are lost).",
            },
            "allow_upserts": {"type": "boolean", "default": facts.API_DEFAULTS["allow_upserts"]},
            "presentation": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "page": {"type": ["string", "null"]},
                    "section": {
                        "type": ["string", "null"],
                        "description": f"At most {facts.PRESENTATION_SECTION_MAX} characters; "
                        "only with a page.",
                    },
                },
            },
            "parent_apis": {
                "description": "Slugs of Custom APIs (declared here or live), or "
                f"{facts.API_LOCATION_ID}; at most {facts.MAX_PARENT_DEPTH} deep, no cycle.",
                "type": "array",
                "items": {"type": "string"},
            },
            "state": {
                **_STATE,
                "description": "absent: delete this Custom API, its fields and its entries.",
            },
            "renamed_from": {
                "description": "Former slugs of this Custom API: one PUT keeps its ID, its "
                "fields and its entries (they move to /v2/extensions/<new slug>).",
                "type": "array",
                "minItems": 1,
                "uniqueItems": True,
                "items": {"$ref": "#/$defs/custom_api_slug"},
            },
            "fields": {
                "type": "object",
                "propertyNames": {"$ref": "#/$defs/custom_field_slug"},
                "additionalProperties": {"$ref": "#/$defs/custom_field"},
            },
        },
        **_absent_or(["name", "api_type"]),
    }
    sort_low, sort_high = facts.SORT_ORDER_RANGE
    field = {
        "description": "A field of a Custom API, attributes named as the API names them.",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "name": name,
            "description": description,
            "field_type": {
                "enum": list(facts.FIELD_TYPES),
                "description": "Set at creation only: a change replaces the field.",
            },
            "use_as_url_slug": {
                "type": "boolean",
                "description": "At most one per Custom API, on a string field that is unique "
                "and allows no null values; set at creation only.",
            },
            "presentation": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "sort_order": {
                        "type": "integer",
                        "description": f"{sort_low} to {sort_high}, "
                        f"default {facts.SORT_ORDER_DEFAULT}.",
                    }
                },
            },
            "validation": _validation(),
            "state": {**_STATE, "description": "absent: delete this field and its values."},
            "renamed_from": {
                "description": "Former slugs of this field in the same Custom API: one PUT "
                "keeps its ID and its values.",
                "type": "array",
                "minItems": 1,
                "uniqueItems": True,
                "items": {"$ref": "#/$defs/custom_field_slug"},
            },
        },
        **_absent_or(["name", "field_type"]),
    }
    return {
        # Keys of a mapping are strings already (YAML keys that are not are refused first).
        "custom_api_slug": {"pattern": facts.API_SLUG_PATTERN},
        "custom_field_slug": {"minLength": facts.FIELD_SLUG_LENGTH[0]},
        "custom_api": api,
        "custom_field": field,
    }


def property_schema() -> dict[str, Any]:
    """The top-level `custom_apis:` key."""
    return {
        "description": "Custom APIs keyed by slug (issue 14).",
        "type": "object",
        "propertyNames": {"$ref": "#/$defs/custom_api_slug"},
        "additionalProperties": {"$ref": "#/$defs/custom_api"},
    }
