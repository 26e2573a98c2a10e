"""Checks of request bodies: flows, fields and their validation rules, entry and customer values.

Pure functions over parsed JSON: each returns the clean attributes or raises `Invalid` with a
detail naming the offending key (the app answers 422, epcc-api.md section 0: "body validation
errors 422"). Nothing here imports starlette.
The rules follow epcc-api.md 3.2 (flows), 4.2/4.4/4.5 (fields and rule shapes), 5.1 and 4.9
(values: type, rules, required, default) and 6 (customers).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

from provisioner import rules
from provisioner.epcc import Attribute
from provisioner.epcc import flows as api
from provisioner.localstore.errors import Invalid

# 4.3 and section 0: what the store keeps for a key a field create leaves out.
FIELD_DEFAULTS: Mapping[str, Any] = {
    key: list(value) if isinstance(value, tuple) else value
    for key, value in api.FIELD_SERVER_DEFAULTS.items()
}
_SLUG_CODES = frozenset({"slug_pattern", "reserved_field_slug", "builtin_attribute"})


def failed(detail: str) -> Invalid:
    return Invalid(detail)


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


def refuse(found: Iterable[rules.Violation]) -> None:
    """422 for the first violation the real API is not known to accept (`api.LENIENT`)."""
    for violation in found:
        if violation.code == "name_blank":  # 2.4 (REC): the API's own words for a blank name
            raise failed("The data.name field is required.")
        if violation.code not in api.LENIENT:
            raise failed(violation.detail())


def _attributes(
    data: Mapping[str, Any], table: Iterable[Attribute], *, create: bool
) -> dict[str, Any]:
    """The table's attributes present in `data`, each of its JSON type; on create, the ones the
    spec requires (25.1201) must be there."""
    attrs: dict[str, Any] = {}
    for attribute in table:
        key = attribute.name
        if key not in data:
            if create and attribute.required_on_create:
                raise failed(f"The data.{key} field is required.")
            continue
        value = data[key]
        if not rules.has_json_type(value, attribute.json_types):
            raise failed(f"data.{key} must be {rules.type_words(attribute.json_types)}.")
        attrs[key] = value
    return attrs


# ---------------------------------------------------------------------------------------- flows


def flow_attributes(data: Mapping[str, Any], *, create: bool) -> dict[str, Any]:
    """Flow attributes from a POST (every attribute required, spec 25.1201) or a partial PUT;
    the name and slug checked (3.2)."""
    attrs = _attributes(data, api.FLOW_BODY, create=create)
    refuse(rules.flow_violations(attrs))
    return attrs


# --------------------------------------------------------------------------------------- fields


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
    """Field attributes from a POST (the keys spec 25.1201 requires: name, slug, field_type,
    description, required) or a partial PUT, each of its JSON type. The whole field is checked
    by `check_field` once merged with what is stored."""
    attrs = _attributes(data, api.FIELD_BODY, create=create)
    if create:
        # 4.3 and section 0: the server's defaults for keys a create does not send.
        for key, value in FIELD_DEFAULTS.items():
            attrs.setdefault(key, copy.deepcopy(value))
    return attrs


def check_field(
    attrs: Mapping[str, Any],
    flow_slug: str,
    flow_slugs: Iterable[str],
    *,
    slug_changed: bool = True,
) -> None:
    """The whole field (4.2, 4.4, 4.5): what `validate` refuses is refused here too, except
    what the real API is known to accept (`api.LENIENT`). `flow_slugs`: the store's flows, which
    a relationship may name."""
    found = rules.field_violations(attrs, flow_slug, dict.fromkeys(flow_slugs, True))
    refuse(v for v in found if slug_changed or v.code not in _SLUG_CODES)


# ------------------------------------------------------------------------------------- values


def value_problem(field: Mapping[str, Any], value: Any) -> str | None:
    """Why a non-null value is invalid for the field (type, then rules), or None."""
    found = rules.value_violations(value, field["field_type"], field.get("validation_rules") or [])
    if not found:
        return None
    return f"{found[0].what}; expected {found[0].expected}"


def is_uuid(text: str) -> bool:
    return rules.is_uuid(text)


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


def _string(data: Mapping[str, Any], key: str, *, required: bool) -> str | None:
    if key not in data:
        if required:
            raise failed(f"The data.{key} field is required.")
        return None
    value = data[key]
    if not isinstance(value, str):
        raise failed(f"data.{key} must be a string.")
    return value


def customer_attributes(data: Mapping[str, Any], *, create: bool) -> dict[str, Any]:
    """6: name and email required on create; password write-only; external_ref <= 2048."""
    attrs: dict[str, Any] = {}
    for key in ("name", "email"):
        if key in data and data[key] is None:
            raise failed(f"The data.{key} field is required.")
        value = _string(data, key, required=create)
        if value is not None:
            attrs[key] = value
    if "email" in attrs and not rules.is_email(attrs["email"]):
        raise failed("data.email must be an email address.")
    refuse(rules.name_violations(attrs.get("name")))
    if "password" in data:
        password = data["password"]
        if password is not None and not isinstance(password, str):
            raise failed("data.password must be a string.")
        attrs["password"] = password
    if "external_ref" in data:
        ref = data["external_ref"]
        if ref is not None and not isinstance(ref, str):
            raise failed("data.external_ref must be a string or null.")
        if isinstance(ref, str) and len(ref) > api.EXTERNAL_REF_MAX:
            raise failed(f"data.external_ref must be at most {api.EXTERNAL_REF_MAX} characters.")
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
