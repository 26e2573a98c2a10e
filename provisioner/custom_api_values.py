"""Custom APIs: entry values against their fields, `use_as_url_slug`, create-only attributes.

`entry_value_violations` judges one entry value by its field's type and full validation (the
local store checks uniqueness and immutability, which need the other entries);
`full_validation` fills the defaults of a field's validation; `create_only_violations` finds
create-only attributes an update would change. Pure: no I/O.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from provisioner.custom_api_checks import (
    _v,
    a_field,
    is_int,
    is_number,
    regex_matches,
    schema_validator,
)
from provisioner.epcc import custom_apis as facts
from provisioner.rules import Violation, describe

_URL_SLUG_VALUE = re.compile(facts.URL_SLUG_VALUE_PATTERN)


def url_slug_violations(field_type: str, validation: Any) -> list[Violation]:
    """SPEC use_as_url_slug: a string field, unique, not allowing null values."""
    if field_type != "string":
        return [
            _v(
                "use_as_url_slug",
                f"is set on {a_field(field_type)}",
                "a string field",
                "url_slug",
            )
        ]
    rules = validation.get("string") if isinstance(validation, Mapping) else None
    rules = rules if isinstance(rules, Mapping) else {}
    found: list[Violation] = []
    if rules.get("unique") != "yes":
        found.append(
            _v(
                "use_as_url_slug",
                "needs unique values",
                'validation.string.unique: "yes"',
                "url_slug",
            )
        )
    if rules.get("allow_null_values", True) is not False:
        found.append(
            _v(
                "use_as_url_slug",
                "needs a value in every entry",
                "validation.string.allow_null_values: false",
                "url_slug",
            )
        )
    return found


def url_slug_field_violations(
    fields: Mapping[str, Mapping[str, Any]], adding: str | None = None
) -> list[Violation]:
    """Across one API's fields (by slug): at most one `use_as_url_slug` (SPEC). The first
    marked field keeps it; `adding` (a field being created beside existing ones) comes last,
    so it is the one refused, naming the field that holds it."""
    marked = sorted(
        slug
        for slug, field in fields.items()
        if field.get("use_as_url_slug") is True and slug != adding
    )
    if adding is not None and fields.get(adding, {}).get("use_as_url_slug") is True:
        marked.append(adding)
    return [
        _v(
            (slug, "use_as_url_slug"),
            f"is also set on {marked[0]!r}",
            "at most one use_as_url_slug field per Custom API",
            "url_slug_twice",
        )
        for slug in marked[1:]
    ]


def create_only_violations(
    current: Mapping[str, Any], proposed: Mapping[str, Any], paths: Sequence[tuple[str, ...]]
) -> list[Violation]:
    """Create-only attributes (`paths`) that `proposed` names with another value than `current`.

    An attribute absent from `proposed` is no change; one absent from `current` is its default.
    """
    found: list[Violation] = []
    for path in paths:
        missing = object()
        new: Any = proposed
        old: Any = current
        for part in path:
            new = new.get(part, missing) if isinstance(new, Mapping) else missing
            old = old.get(part, missing) if isinstance(old, Mapping) else missing
        if new is missing:
            continue
        if old is missing:
            old = default_of(path)
        if new != old:
            found.append(
                _v(
                    path,
                    f"cannot change from {describe(old)} to {describe(new)}: "
                    "it is set at creation only",
                    f"{describe(old)}",
                    "create_only",
                )
            )
    return found


def default_of(path: tuple[str, ...]) -> Any:
    """The API's default for a field attribute path (a validation key or a top-level one)."""
    if len(path) == 3 and path[0] == "validation":
        rule = facts.VALIDATION.get(path[1], {}).get(path[2])
        return None if rule is None else rule.default
    return facts.FIELD_DEFAULTS.get(path[0]) if len(path) == 1 else None


def full_validation(field_type: str, validation: Any) -> dict[str, dict[str, Any]]:
    """`validation` with every key of the field's type, defaults filled (null -> default)."""
    given = validation.get(field_type) if isinstance(validation, Mapping) else None
    given = given if isinstance(given, Mapping) else {}
    rules: dict[str, Any] = {}
    for key, rule in facts.VALIDATION[field_type].items():
        value = given.get(key)
        rules[key] = rule.default if value is None else value
    return {field_type: rules}


# ----------------------------------------------------------------------------- entry values


def entry_value_violations(
    field_type: str, rules: Mapping[str, Any], value: Any
) -> list[Violation]:
    """One entry value against its field's type and full validation (`full_validation`).

    Uniqueness and immutability depend on other entries and on the stored value: the store
    checks them. The path is empty (the caller knows the field's slug).
    """
    if value is None:
        if rules.get("allow_null_values", True) is False and field_type != "list":
            return [_v("", "null is not allowed", f"a {field_type} value", "value_null")]
        return []
    if field_type == "string":
        return _check_string(rules, value)
    if field_type == "integer":
        if not is_int(value) or abs(value) > facts.INTEGER_LIMIT:
            return [_v("", f"got {describe(value)}", "an integer within +-(2^53-1)")]
        return _check_range(rules, value)
    if field_type == "float":
        if not is_number(value):
            return [_v("", f"got {describe(value)}", "a number")]
        return _check_range(rules, value)
    if field_type == "boolean":
        if not isinstance(value, bool):
            return [_v("", f"got {describe(value)}", "true or false")]
        return []
    if field_type == "list":
        return _check_list(rules, value)
    return _check_schema(rules, value)  # any


def _check_string(rules: Mapping[str, Any], value: Any) -> list[Violation]:
    if not isinstance(value, str):
        return [_v("", f"got {describe(value)}", "a string")]
    found = _check_length(rules, len(value), "characters long", facts.STRING_MAX_CHARS)
    regex = rules.get("regex")
    if regex and not regex_matches(regex, value):
        found.append(_v("", f"{describe(value)} does not match", f"the regex {regex}"))
    return found


def _check_length(rules: Mapping[str, Any], length: int, unit: str, most: int) -> list[Violation]:
    """A string's characters or a list's elements: at most `most` (the API's limit), and within
    the field's `min_length`/`max_length`."""
    what = f"{length} {unit}"
    found: list[Violation] = []
    low, high = rules.get("min_length"), rules.get("max_length")
    if length > most:
        found.append(_v("", what, f"at most {most}"))
    if low is not None and length < low:
        found.append(_v("", what, f"at least {low}"))
    if high is not None and length > high:
        found.append(_v("", what, f"at most {high}"))
    return found


def _check_range(rules: Mapping[str, Any], value: float) -> list[Violation]:
    low, high = rules.get("min_value"), rules.get("max_value")
    if (low is not None and value < low) or (high is not None and value > high):
        bounds = f"{'-inf' if low is None else low} to {'inf' if high is None else high}"
        return [_v("", f"got {describe(value)}", f"a value from {bounds}")]
    return []


_ELEMENT_TYPES: dict[str, Callable[[Any], bool]] = {
    "string": (lambda v: isinstance(v, str)),
    "integer": is_int,
    "float": is_number,
    "boolean": (lambda v: isinstance(v, bool)),
    "any": (lambda v: isinstance(v, str | bool) or is_number(v)),
}


def _check_list(rules: Mapping[str, Any], value: Any) -> list[Violation]:
    """SPEC ListCustomField: up to 1000 primitives of `allowed_type`; nulls per the rule."""
    if not isinstance(value, list):
        return [_v("", f"got {describe(value)}", "a list")]
    found = _check_length(rules, len(value), "elements", facts.LIST_MAX_ELEMENTS)
    allowed = str(rules.get("allowed_type") or "any")
    accepts = _ELEMENT_TYPES[allowed]
    for index, item in enumerate(value):
        if item is None:
            if rules.get("allow_null_values", True) is False:
                found.append(_v((index,), "null is not allowed", "a value", "value_null"))
        elif not accepts(item):
            expected = "a string, number or boolean" if allowed == "any" else f"a {allowed}"
            found.append(_v((index,), f"got {describe(item)}", expected, "value_type"))
    return found + _check_schema(rules, value)


def _check_schema(rules: Mapping[str, Any], value: Any) -> list[Violation]:
    json_schema = rules.get("json_schema")
    if not json_schema:
        return []
    try:
        errors = sorted(
            schema_validator(json_schema).iter_errors(value),
            key=lambda e: str(list(e.absolute_path)),
        )
    except Exception as error:  # a `$ref` loop, say: the schema resolves but cannot apply
        # Never a 500: the entry cannot be judged against this schema, which is the field's
        # fault, said as such (the store answers 400 with it).
        return [
            _v(
                (),
                f"cannot be checked: the field's JSON Schema cannot be applied "
                f"({type(error).__name__}: {str(error).splitlines()[0][:200]})",
                "a field whose JSON Schema resolves",
                "json_schema",
            )
        ]
    return [
        _v(
            tuple(error.absolute_path),
            f"breaks the field's JSON Schema: {error.message}",
            "",
            "json_schema",
        )
        for error in errors[:5]
    ]


def is_url_slug_value(value: str) -> bool:
    """SPEC use_as_url_slug: values are RFC 3986 unreserved characters."""
    return _URL_SLUG_VALUE.match(value) is not None


def value_size(value: Any) -> int:
    """SPEC meta.data_size: the size of a value's JSON text (null counts nothing) [INF]."""
    if value is None:
        return 0
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
