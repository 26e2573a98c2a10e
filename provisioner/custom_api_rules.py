"""Custom APIs: pure checks of definitions and entry values, returning structured violations.

Every check takes a definition in the API's own shape (attributes named as the API names them,
`validation: {<field_type>: {...}}`) and returns a list of `Violation(path, what,
expected, code)`, `path` relative to what was checked (`("validation", "string", "regex")`).
The local store answers 400 with them; a `validate` of the `custom_apis:` YAML key can prefix
the path with its own location and report them as diagnostics. Nothing here does I/O.

The facts come from `provisioner.epcc.custom_apis` and the `Violation` (path, what, expected,
code) is `provisioner.rules`' own, as for flows; RE2 itself (`google-re2`) judges regexes,
as the API does (SPEC StringCustomField.regex), and `jsonschema` judges JSON Schemas.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from provisioner.custom_api_checks import (
    PathKey,
    _boolean,
    _required,
    _text,
    _under,
    _unknown,
    _v,
    a_field,
    dotted,
    external_refs,
    is_int,
    is_number,
    json_schema_violations,
    parent_graph_violations,
    parent_ids,
    regex_matches,
    regex_problem,
    schema_validator,
    split_path,
    text,
)
from provisioner.custom_api_values import (
    create_only_violations,
    default_of,
    entry_value_violations,
    full_validation,
    is_url_slug_value,
    url_slug_field_violations,
    url_slug_violations,
    value_size,
)
from provisioner.epcc import custom_apis as facts
from provisioner.rules import Violation, describe

# The checks of definitions live here; the building blocks and the value checks in the two
# modules above, re-exported so that `custom_api_rules` stays the one name the store and
# `validate` use.
__all__ = [
    "PathKey",
    "api_presentation_violations",
    "create_only_violations",
    "custom_api_violations",
    "custom_field_violations",
    "default_of",
    "dotted",
    "entry_value_violations",
    "external_refs",
    "field_presentation_violations",
    "field_slug_violations",
    "full_validation",
    "is_int",
    "is_number",
    "is_url_slug_value",
    "json_schema_violations",
    "parent_graph_violations",
    "parent_ids",
    "parent_ref_violations",
    "regex_matches",
    "regex_problem",
    "relationships_violations",
    "schema_validator",
    "split_path",
    "text",
    "url_slug_field_violations",
    "url_slug_violations",
    "validation_key_violations",
    "validation_violations",
    "value_size",
]

_API_SLUG = re.compile(facts.API_SLUG_PATTERN)
_API_TYPE = re.compile(facts.API_TYPE_PATTERN)

# ------------------------------------------------------------------------------ Custom APIs


def custom_api_violations(api: Mapping[str, Any], *, create: bool) -> list[Violation]:
    """A Custom API's own attributes (10; SPEC CreateCustomAPI / UpdateCustomAPI).

    On update (`create=False`) nothing is required and `api_type` is refused (create-only);
    relationships are checked for shape here, for reality by `parent_graph_violations`.
    """
    found: list[Violation] = []
    for key in sorted(set(api) - facts.API_CREATE_KEYS):
        found.append(_v(key, "unknown attribute of a Custom API", "", "unknown_attribute"))
    if create:
        _required(found, api, facts.API_REQUIRED_KEYS)
    elif "api_type" in api:
        found.append(
            _v(
                "api_type",
                "cannot be changed: it is set when the Custom API is created",
                "",
                "create_only",
            )
        )
    _text(found, api, "name", facts.NAME_LENGTH)
    _text(found, api, "description", facts.DESCRIPTION_LENGTH)
    if "slug" in api:
        slug = api["slug"]
        if not isinstance(slug, str) or not _API_SLUG.match(slug):
            found.append(_v("slug", f"got {describe(slug)}", facts.API_SLUG_PATTERN))
    if create and "api_type" in api:
        api_type = api["api_type"]
        if not isinstance(api_type, str) or not _API_TYPE.match(api_type):
            found.append(_v("api_type", f"got {describe(api_type)}", facts.API_TYPE_PATTERN))
    _boolean(found, api, "allow_upserts")
    if "presentation" in api:
        found += [
            _under(v, "presentation") for v in api_presentation_violations(api["presentation"])
        ]
    if "relationships" in api:
        found += relationships_violations(api["relationships"])
    return found


def api_presentation_violations(presentation: Any) -> list[Violation]:
    """SPEC CustomAPI.presentation: `page` and `section` (text or null; section needs page)."""
    if not isinstance(presentation, Mapping):
        return [_v("", f"got {describe(presentation)}", "an object with page, section")]
    found: list[Violation] = []
    _unknown(found, presentation, ("page", "section"))
    for key in ("page", "section"):
        value = presentation.get(key)
        if value is not None and not isinstance(value, str):
            found.append(_v(key, f"got {describe(value)}", "a string or null"))
    section = presentation.get("section")
    if isinstance(section, str) and len(section) > facts.PRESENTATION_SECTION_MAX:
        found.append(
            _v(
                "section",
                f"{len(section)} characters long",
                f"at most {facts.PRESENTATION_SECTION_MAX}",
            )
        )
    if section is not None and presentation.get("page") is None:
        found.append(_v("section", "is set without a page", "page set too"))
    return found


def relationships_violations(relationships: Any) -> list[Violation]:
    """SPEC CustomAPIRelationships: `{parent_apis: {data: [{type, id}, ...]}}`."""
    if not isinstance(relationships, Mapping):
        return [_v("relationships", f"got {describe(relationships)}", "an object")]
    found: list[Violation] = []
    _unknown(found, relationships, ("parent_apis",), "relationships")
    if "parent_apis" not in relationships:
        return found
    parents = relationships["parent_apis"]
    where = "relationships.parent_apis"
    if not isinstance(parents, Mapping) or not isinstance(parents.get("data"), list):
        return [*found, _v(where, f"got {describe(parents)}", "{data: [...]}")]
    _unknown(found, parents, ("data",), where)
    for index, ref in enumerate(parents["data"]):
        found += [_under(v, f"{where}.data.{index}") for v in parent_ref_violations(ref)]
    return found


def parent_ref_violations(ref: Any) -> list[Violation]:
    """One parent: `{type: custom_api, id}` or `{type: api_location, id: "/v2/extensions"}`."""
    if not isinstance(ref, Mapping):
        return [_v("", f"got {describe(ref)}", "an object with type and id")]
    found: list[Violation] = []
    _unknown(found, ref, ("type", "id"))
    kind, ref_id = ref.get("type"), ref.get("id")
    if kind not in facts.PARENT_TYPES:
        found.append(_v("type", f"got {describe(kind)}", " or ".join(facts.PARENT_TYPES)))
    if not isinstance(ref_id, str) or not ref_id:
        found.append(_v("id", f"got {describe(ref_id)}", "the parent's id"))
    elif kind == "api_location" and ref_id != facts.API_LOCATION_ID:
        found.append(_v("id", f"got {describe(ref_id)}", f'"{facts.API_LOCATION_ID}"'))
    return found


# ----------------------------------------------------------------------------------- fields


def custom_field_violations(field: Mapping[str, Any], *, create: bool) -> list[Violation]:
    """A Custom Field's attributes (10; SPEC *CreateCustomField / *UpdateCustomField).

    On create, `field` is the whole definition. On update it is the body (anything may be
    absent); `field_type` then names the field's current type, so that `validation` can be
    checked against it (create-only attributes are judged by `create_only_violations`).
    """
    found: list[Violation] = []
    for key in sorted(set(field) - facts.FIELD_CREATE_KEYS):
        found.append(_v(key, "unknown attribute of a Custom Field", "", "unknown_attribute"))
    if create:
        _required(found, field, facts.FIELD_REQUIRED_KEYS)
    _text(found, field, "name", facts.NAME_LENGTH)
    _text(found, field, "description", facts.DESCRIPTION_LENGTH)
    if "slug" in field:
        found += field_slug_violations(field["slug"])
    field_type = field.get("field_type")
    if "field_type" in field and field_type not in facts.FIELD_TYPES:
        found.append(_v("field_type", f"got {describe(field_type)}", ", ".join(facts.FIELD_TYPES)))
        field_type = None
    _boolean(found, field, "use_as_url_slug")
    if "presentation" in field:
        found += [
            _under(v, "presentation") for v in field_presentation_violations(field["presentation"])
        ]
    if "validation" in field and field_type is not None:
        found += [
            _under(v, "validation")
            for v in validation_violations(field_type, field["validation"], create=create)
        ]
    if create and field.get("use_as_url_slug") is True and field_type in facts.FIELD_TYPES:
        found += url_slug_violations(field_type, field.get("validation"))
    return found


def field_slug_violations(slug: Any) -> list[Violation]:
    """1-63 characters, not reserved (SPEC "Reserved Slugs")."""
    low, high = facts.FIELD_SLUG_LENGTH
    if not isinstance(slug, str):
        return [_v("slug", f"got {describe(slug)}", f"a string of {low}-{high} chars")]
    if not low <= len(slug) <= high:
        return [_v("slug", f"{len(slug)} characters long", f"{low} to {high} characters")]
    if slug in facts.RESERVED_FIELD_SLUGS:
        return [
            _v(
                "slug",
                f'"{slug}" is reserved',
                f"none of {', '.join(sorted(facts.RESERVED_FIELD_SLUGS))}",
            )
        ]
    return []


def field_presentation_violations(presentation: Any) -> list[Violation]:
    """SPEC BaseCustomField.presentation: `{sort_order: 0..1000}`."""
    if not isinstance(presentation, Mapping):
        return [_v("", f"got {describe(presentation)}", "an object with sort_order")]
    found: list[Violation] = []
    _unknown(found, presentation, ("sort_order",))
    if "sort_order" in presentation:
        value = presentation["sort_order"]
        low, high = facts.SORT_ORDER_RANGE
        if not is_int(value) or not low <= value <= high:
            found.append(_v("sort_order", f"got {describe(value)}", f"an integer {low}-{high}"))
    return found


def validation_violations(field_type: str, validation: Any, *, create: bool) -> list[Violation]:
    """`validation` holds only the field's own type, with that type's keys and ranges."""
    if validation is None:
        return []
    if not isinstance(validation, Mapping):
        return [_v("", f"got {describe(validation)}", f"an object with {field_type}")]
    found: list[Violation] = []
    for key in sorted(validation):
        if key != field_type:
            found.append(
                _v(
                    key,
                    f"is validation for {key} fields, and this is {a_field(field_type)}",
                    f"only {field_type}",
                    "validation_not_for_field_type",
                )
            )
    rules = validation.get(field_type)
    if rules is None:
        return found
    if not isinstance(rules, Mapping):
        return [*found, _v(field_type, f"got {describe(rules)}", "an object")]
    found += _validation_keys(field_type, rules, create=create)
    return found + _validation_pairs(field_type, rules)


def _validation_keys(field_type: str, rules: Mapping[str, Any], *, create: bool) -> list[Violation]:
    """Each key of `validation.<field_type>`: known, writable now, and of its kind."""
    found: list[Violation] = []
    table = facts.VALIDATION[field_type]
    for key in sorted(rules):
        where = f"{field_type}.{key}"
        rule = table.get(key)
        if rule is None:
            found.append(_v(where, "unknown validation key", ", ".join(table), "unknown_attribute"))
        elif not create and not rule.on_update:
            what = "cannot be changed: it is set when the field is created"
            found.append(_v(where, what, "", "create_only"))
        else:
            found += [_under(v, where) for v in validation_key_violations(rule, rules[key])]
    return found


def _validation_pairs(field_type: str, rules: Mapping[str, Any]) -> list[Violation]:
    """`min <= max`, and case-insensitive uniqueness only with uniqueness."""
    found: list[Violation] = []
    pair = facts.MIN_MAX.get(field_type)
    if pair is not None:
        low: Any = rules.get(pair[0])
        high: Any = rules.get(pair[1])
        if is_number(low) and is_number(high) and low > high:
            found.append(
                _v(
                    f"{field_type}.{pair[0]}",
                    f"{low} is greater than {pair[1]} {high}",
                    f"{pair[0]} <= {pair[1]}",
                    "min_greater_than_max",
                )
            )
    if (
        field_type == "string"
        and rules.get("unique_case_insensitivity") is True
        and rules.get("unique", "no") != "yes"
    ):
        found.append(
            _v(
                "string.unique_case_insensitivity",
                'is true while unique is not "yes"',
                'unique: "yes"',
            )
        )
    return found


def validation_key_violations(rule: facts.ValidationKey, value: Any) -> list[Violation]:
    """One validation key's value against its `Rule`."""
    if rule.kind == "bool":
        if value is not None and not isinstance(value, bool):
            return [_v("", f"got {describe(value)}", "true, false or null")]
        return []
    if value is None:
        if rule.kind in ("unique", "allowed_type"):
            return [_v("", "got null", f"one of {_choices(rule)}")]
        return []
    if rule.kind in ("int", "number"):
        return _number_violations(rule, value)
    if rule.kind in ("unique", "allowed_type"):
        if value not in _choices_of(rule):
            return [_v("", f"got {describe(value)}", f"one of {_choices(rule)}")]
        return []
    if rule.kind == "regex":
        if not isinstance(value, str):
            return [_v("", f"got {describe(value)}", "an RE2 regular expression or null")]
        problem = regex_problem(value)
        return (
            [] if problem is None else [_v("", problem, "an RE2 regular expression", "regex_re2")]
        )
    if rule.kind == "json_schema":
        return json_schema_violations(value)
    raise AssertionError(f"unknown rule kind {rule.kind}")  # pragma: no cover


def _number_violations(rule: facts.ValidationKey, value: Any) -> list[Violation]:
    ok = is_int(value) if rule.kind == "int" else is_number(value)
    inside = (
        ok
        and (rule.minimum is None or value >= rule.minimum)
        and (rule.maximum is None or value <= rule.maximum)
    )
    if inside:
        return []
    what = "an integer" if rule.kind == "int" else "a number"
    if rule.minimum is not None and rule.maximum is not None:
        what += f" from {_number(rule.minimum)} to {_number(rule.maximum)}"
    return [_v("", f"got {describe(value)}", f"{what} or null")]


def _choices_of(rule: facts.ValidationKey) -> tuple[str, ...]:
    return facts.UNIQUE_VALUES if rule.kind == "unique" else facts.LIST_ALLOWED_TYPES


def _choices(rule: facts.ValidationKey) -> str:
    return ", ".join(f'"{choice}"' for choice in _choices_of(rule))


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
