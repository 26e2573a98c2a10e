"""Checks of request bodies: flows, fields and their validation rules, entry and customer values.

Pure functions over parsed JSON: each returns the clean attributes or raises `Problem(422)`
with a detail naming the offending key (epcc-api.md section 0: "body validation errors 422").
The rules follow epcc-api.md 3.2 (flows), 4.2/4.4/4.5 (fields and rule shapes), 5.1 and 4.9
(values: type, rules, required, default) and 6 (customers).
"""

from __future__ import annotations

import copy
import datetime as dt
import re
import uuid
from collections.abc import Mapping
from typing import Any

from provisioner.localstore.problems import Problem
from provisioner.model import (
    CORE_RESOURCE_ATTRIBUTES,
    FIELD_DEFAULTS,
    FIELD_TYPES,
    RESERVED_FIELD_SLUGS,
    RESERVED_FLOW_SLUGS,
)

# 3.4 and the YAML format: PXM templates are flows named `products(<slug>)`.
FLOW_SLUG_RE = re.compile(r"^[A-Za-z0-9_-]+(\([A-Za-z0-9_-]+\))?$")
FIELD_SLUG_RE = re.compile(r"^[A-Za-z0-9_-]+$")  # 4.5 `slug` rule text; 2.8 forbids `$`
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")  # 5.1 [INF]: a basic RFC-ish check
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?)?$")

# 4.5: the rule types each field type accepts (`uuid` is undocumented but accepted by TF).
RULES_BY_FIELD_TYPE: Mapping[str, frozenset[str]] = {
    "string": frozenset({"enum", "email", "slug", "uuid"}),
    "integer": frozenset({"enum", "between"}),
    "float": frozenset({"enum", "between"}),
    "date": frozenset({"enum"}),
    "boolean": frozenset(),
    "relationship": frozenset({"one-to-many", "one-to-one"}),
}
EXTERNAL_REF_MAX = 2048  # 6: "The maximum length is 2048 characters"


def failed(detail: str) -> Problem:
    return Problem(422, detail, "Failed Validation")


def data_object(body: Any, type_name: str) -> dict[str, Any]:
    """`body["data"]` as an object whose `type` is `type_name` (2.1: `type` is required)."""
    if not isinstance(body, dict) or "data" not in body:
        raise failed("The data field is required.")
    data = body["data"]
    if not isinstance(data, dict):
        raise failed("data must be an object.")
    if "type" not in data:
        raise failed("The data.type field is required.")
    if data["type"] != type_name:
        raise failed(f'data.type must be "{type_name}".')
    return data


def check_path_id(data: Mapping[str, Any], path_id: str) -> None:
    """A PUT may repeat the id (3.5, 5.1); it must then be the id in the path."""
    if "id" in data and data["id"] != path_id:
        raise failed("data.id does not match the id in the path.")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _string(data: Mapping[str, Any], key: str, *, required: bool) -> str | None:
    if key not in data:
        if required:
            raise failed(f"The data.{key} field is required.")
        return None
    value = data[key]
    if not isinstance(value, str):
        raise failed(f"data.{key} must be a string.")
    return value


def _boolean(data: Mapping[str, Any], key: str) -> bool | None:
    if key not in data:
        return None
    value = data[key]
    if not isinstance(value, bool):
        raise failed(f"data.{key} must be a boolean.")
    return value


# ---------------------------------------------------------------------------------------- flows


def check_flow_slug(slug: str) -> None:
    if not FLOW_SLUG_RE.match(slug):
        raise failed(
            f'data.slug "{slug}" may contain only letters, numbers, hyphens and underscores.'
        )
    if slug in RESERVED_FLOW_SLUGS:  # 3.2
        raise failed(f'data.slug "{slug}" is a reserved value.')


def _check_name(attrs: Mapping[str, Any]) -> None:
    """A blank name is no name (REC: 422 "The data.name field is required.")."""
    if "name" in attrs and not attrs["name"].strip():
        raise failed("The data.name field is required.")


def flow_attributes(data: Mapping[str, Any], *, create: bool) -> dict[str, Any]:
    """Flow attributes from a POST (name, slug, description required) or a partial PUT."""
    attrs: dict[str, Any] = {}
    for key in ("name", "slug", "description"):
        value = _string(data, key, required=create)
        if value is not None:
            attrs[key] = value
    _check_name(attrs)
    if "slug" in attrs:
        check_flow_slug(attrs["slug"])
    enabled = _boolean(data, "enabled")
    if enabled is not None:
        attrs["enabled"] = enabled
    elif create:
        attrs["enabled"] = True
    return attrs


# --------------------------------------------------------------------------------------- fields


def check_field_slug(slug: str, flow_slug: str | None = None) -> None:
    if not FIELD_SLUG_RE.match(slug):
        raise failed(
            f'data.slug "{slug}" may contain only letters, numbers, hyphens and underscores.'
        )
    if slug in RESERVED_FIELD_SLUGS:  # 4.2
        raise failed(f'data.slug "{slug}" is a reserved value.')
    # 4.2 [INF]: a customers field must not shadow a built-in customer attribute.
    if flow_slug is not None and slug in CORE_RESOURCE_ATTRIBUTES.get(flow_slug, frozenset()):
        raise failed(f'data.slug "{slug}" is a built-in attribute of {flow_slug}.')


def flow_relationship(data: Mapping[str, Any]) -> str | None:
    """The flow id in `relationships.flow.data.id`, or None when `relationships` is absent."""
    if "relationships" not in data:
        return None
    rel = data["relationships"]
    flow = rel.get("flow") if isinstance(rel, dict) else None
    link = flow.get("data") if isinstance(flow, dict) else None
    if not isinstance(link, dict) or not isinstance(link.get("id"), str):
        raise failed("data.relationships.flow.data.id must name the flow.")
    if link.get("type", "flow") != "flow":
        raise failed('data.relationships.flow.data.type must be "flow".')
    return str(link["id"])


def field_attributes(data: Mapping[str, Any], *, create: bool) -> dict[str, Any]:
    """Field attributes from a POST (name, slug, field_type, description required) or a PUT.

    `default` is stored as sent whatever its type (section 0: the seed sends `"default": 0` on
    a string field and the real API accepted it); it is only applied when valid.
    """
    attrs: dict[str, Any] = {}
    for key in ("name", "slug", "field_type", "description"):
        value = _string(data, key, required=create)
        if value is not None:
            attrs[key] = value
    _check_name(attrs)
    if "slug" in attrs:
        check_field_slug(attrs["slug"])
    if "field_type" in attrs and attrs["field_type"] not in FIELD_TYPES:
        raise failed(f"data.field_type must be one of {', '.join(FIELD_TYPES)}.")
    for key in ("required", "unique", "enabled", "omit_null"):
        flag = _boolean(data, key)
        if flag is not None:
            attrs[key] = flag
    if "order" in data:
        order = data["order"]
        if order is not None and not _is_int(order):
            raise failed("data.order must be an integer or null.")
        attrs["order"] = order
    if "default" in data:
        attrs["default"] = data["default"]
    if "validation_rules" in data:
        rules = data["validation_rules"]
        if rules is None:
            rules = []
        if not isinstance(rules, list) or not all(isinstance(rule, dict) for rule in rules):
            raise failed("data.validation_rules must be an array of rule objects.")
        attrs["validation_rules"] = rules
    if create:
        # 4.3 and section 0: the server's defaults for keys a create does not send.
        for key, value in FIELD_DEFAULTS.items():
            attrs.setdefault(key, copy.deepcopy(value))
    return attrs


def check_field(attrs: Mapping[str, Any]) -> None:
    """Whole-field checks once a create or an update is merged: rules fit the field type."""
    field_type = attrs["field_type"]
    if field_type == "relationship" and attrs.get("required"):
        raise failed("data.required must be false for a relationship field (4.2).")
    for index, rule in enumerate(attrs.get("validation_rules") or []):
        check_rule(field_type, rule, f"data.validation_rules[{index}]")
    if field_type == "relationship":
        kinds = [r.get("type") for r in attrs.get("validation_rules") or []]
        if len(kinds) != 1:
            raise failed("a relationship field needs exactly one one-to-many or one-to-one rule.")


def check_rule(field_type: str, rule: Mapping[str, Any], where: str) -> None:
    """4.5: the rule's type fits the field type and its options have the documented shape."""
    kind = rule.get("type")
    allowed = RULES_BY_FIELD_TYPE[field_type]
    if not isinstance(kind, str) or kind not in allowed:
        accepted = ", ".join(sorted(allowed)) or "none"
        raise failed(
            f"{where}.type {kind!r} is not a rule for {field_type} (accepted: {accepted})."
        )
    if kind == "enum":
        options = rule.get("options")
        if not isinstance(options, list) or not options:
            raise failed(f"{where}.options must be a non-empty array.")
        for option in options:
            if not _fits_type(field_type, option):
                raise failed(f"{where}.options: {option!r} is not a valid {field_type}.")
    elif kind == "between":
        options = rule.get("options")
        if not isinstance(options, dict) or "from" not in options or "to" not in options:
            raise failed(f"{where}.options must be an object with from and to.")
        low, high = options["from"], options["to"]
        check = _is_int if field_type == "integer" else _is_number
        if not check(low) or not check(high):
            raise failed(f"{where}.options.from and .to must be {field_type} values.")
        if low > high:
            raise failed(f"{where}.options.from must not exceed .to.")
    elif kind in ("one-to-many", "one-to-one"):
        target = rule.get("to")
        if not isinstance(target, str) or not target:
            raise failed(f"{where}.to must name the related resource (singular) or flow.")


# ------------------------------------------------------------------------------------- values


def _fits_type(field_type: str, value: Any) -> bool:
    if field_type == "string":
        return isinstance(value, str)
    if field_type == "integer":
        return _is_int(value)
    if field_type == "float":
        return _is_number(value)
    if field_type == "boolean":
        return isinstance(value, bool)
    if field_type == "date":
        return isinstance(value, str) and _is_date(value)
    return False


def _is_date(text: str) -> bool:
    """4.4: `YYYY-MM-DD` with an optional time; the date itself must exist."""
    if not DATE_RE.match(text):
        return False
    try:
        dt.date.fromisoformat(text[:10])
    except ValueError:
        return False
    return True


def value_problem(field: Mapping[str, Any], value: Any) -> str | None:
    """Why a non-null value is invalid for the field (type, then rules), or None."""
    field_type = field["field_type"]
    if not _fits_type(field_type, value):
        article = "an" if field_type[0] in "aeiou" else "a"
        return f"expected {article} {field_type}"
    for rule in field.get("validation_rules") or []:
        kind = rule.get("type")
        if kind == "enum" and value not in rule.get("options", []):
            return "not one of the allowed options"
        if kind == "email" and not EMAIL_RE.match(value):
            return "not an email address"
        if kind == "slug" and not FIELD_SLUG_RE.match(value):
            return "may contain only letters, numbers, hyphens and underscores"
        if kind == "uuid" and not is_uuid(value):
            return "not a UUID"
        if kind == "between":
            options = rule.get("options") or {}
            if not options.get("from") <= value <= options.get("to"):
                return f"not between {options.get('from')} and {options.get('to')}"
    return None


def is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def value_is_valid(field: Mapping[str, Any], value: Any) -> bool:
    return value is not None and value_problem(field, value) is None


def custom_values(
    fields: list[dict[str, Any]], data: Mapping[str, Any], *, create: bool
) -> dict[str, Any]:
    """The values a body sets, keyed by field id, checked against the flow's fields.

    Only enabled, non-relationship fields take values (4.9: `enabled: false` is not applied;
    5.1: relationships have their own endpoints); other keys are dropped (section 0). On create
    an absent key takes the field's `default` when that is valid, and a required field must end
    with a value; on update a required field may not be sent as null (section 0).
    """
    values: dict[str, Any] = {}
    for field in fields:
        if not field["enabled"] or field["field_type"] == "relationship":
            continue
        slug = field["slug"]
        if slug in data:
            value = data[slug]
            if value is None:
                if field["required"]:
                    raise failed(f"{slug}: Invalid Value (the field is required)")
            else:
                problem = value_problem(field, value)
                if problem is not None:
                    raise failed(f"{slug}: Invalid Value ({problem})")
            values[field["id"]] = value
        elif create:
            default = field.get("default")
            if value_is_valid(field, default):
                values[field["id"]] = default
            elif field["required"]:
                raise failed(f"{slug}: Invalid Value (the field is required)")
    return values


# ------------------------------------------------------------------------------------ customers


def customer_attributes(data: Mapping[str, Any], *, create: bool) -> dict[str, Any]:
    """6: name and email required on create; password write-only; external_ref <= 2048."""
    attrs: dict[str, Any] = {}
    for key in ("name", "email"):
        if key in data and data[key] is None:
            raise failed(f"The data.{key} field is required.")
        value = _string(data, key, required=create)
        if value is not None:
            attrs[key] = value
    if "email" in attrs and not EMAIL_RE.match(attrs["email"]):
        raise failed("data.email must be an email address.")
    _check_name(attrs)
    if "password" in data:
        password = data["password"]
        if password is not None and not isinstance(password, str):
            raise failed("data.password must be a string.")
        attrs["password"] = password
    if "external_ref" in data:
        ref = data["external_ref"]
        if ref is not None and not isinstance(ref, str):
            raise failed("data.external_ref must be a string or null.")
        if isinstance(ref, str) and len(ref) > EXTERNAL_REF_MAX:
            raise failed(f"data.external_ref must be at most {EXTERNAL_REF_MAX} characters.")
        attrs["external_ref"] = ref
    return attrs


def relationship_items(body: Any) -> list[dict[str, str]]:
    """5.2: `{"data": [{"type", "id"}, ...]}`, or one object for a one-to-one field."""
    if not isinstance(body, dict) or "data" not in body:
        raise failed("The data field is required.")
    data = body["data"]
    if data is None:
        return []
    items = [data] if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise failed("data must be an array of {type, id} objects.")
    result: list[dict[str, str]] = []
    for index, item in enumerate(items):
        if not (
            isinstance(item, dict)
            and isinstance(item.get("type"), str)
            and isinstance(item.get("id"), str)
            and item["type"]
            and is_uuid(item["id"])
        ):
            raise failed(f"data[{index}] must be an object with a type and a UUID id.")
        pair = {"type": item["type"], "id": item["id"]}
        if pair not in result:
            result.append(pair)
    return result
