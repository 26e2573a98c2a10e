"""Values: the predicates of the API's value forms (4.4, 4.5) and why a value or a default
does not fit its field."""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

from provisioner.epcc import flows as api
from provisioner.rules.violation import Violation
from provisioner.rules.wording import SLUG_ALPHABET, article, describe, one_of, quote, type_words

_DATE = re.compile(api.DATE_PATTERN)
_EMAIL = re.compile(api.EMAIL_PATTERN)
_UUID = re.compile(api.UUID_PATTERN)
_SLUG_VALUE = re.compile(api.SLUG_VALUE_PATTERN)
_TEMPLATE = re.compile(api.TEMPLATE_SLUG_PATTERN)
_NAME = re.compile(api.NAME_PATTERN)


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_uuid(text: Any) -> bool:
    """4.5: the hyphenated 8-4-4-4-12 form, either case."""
    return isinstance(text, str) and _UUID.fullmatch(text) is not None


def is_email(text: Any) -> bool:
    return isinstance(text, str) and _EMAIL.fullmatch(text) is not None


def is_slug_value(text: Any) -> bool:
    return isinstance(text, str) and _SLUG_VALUE.fullmatch(text) is not None


def is_date_text(text: Any) -> bool:
    """4.4: `YYYY-MM-DD` or `YYYY-MM-DD HH:MM:SS` (the form only)."""
    return isinstance(text, str) and _DATE.fullmatch(text) is not None


def is_real_date(text: Any) -> bool:
    """A date in the 4.4 form that exists (2023-02-29 and 24:00:00 do not)."""
    if not is_date_text(text):
        return False
    parts = [int(p) for p in re.split(r"[- :]", text)]
    try:
        datetime.datetime(*parts)  # type: ignore[arg-type]
    except ValueError:
        return False
    return True


def is_template_slug(slug: str) -> bool:
    """3.4: a PXM template's flow, `products(book)`."""
    return _TEMPLATE.fullmatch(slug) is not None


def is_blank(name: str) -> bool:
    return _NAME.search(name) is None


# JSON Schema's type names, as the facts write them (`Attribute.json_types`,
# `FieldType.json_types`), each with its test: 1.0 is a number, not an integer; true is neither.
JSON_TYPES: Mapping[str, Callable[[Any], bool]] = MappingProxyType(
    {
        "string": lambda v: isinstance(v, str),
        "boolean": lambda v: isinstance(v, bool),
        "integer": is_integer,
        "number": is_number,
        "array": lambda v: isinstance(v, list),
        "null": lambda v: v is None,
    }
)


def has_json_type(value: Any, json_types: Iterable[str]) -> bool:
    """The value has one of `json_types` (an attribute's, or a field type's values')."""
    return any(JSON_TYPES[t](value) for t in json_types)


def of_type(value: Any, field_type: str) -> bool:
    """The value has the JSON type of the field type's values (4.4); a date is a string here,
    its form is `value_violations`' business."""
    facts = api.FIELD_TYPES_TABLE.get(field_type)
    return facts is not None and has_json_type(value, facts.json_types)


def same(a: Any, b: Any) -> bool:
    """Equal as API values: 1 and 1.0 are the same number, 1 and true are not."""
    return (type(a) is type(b) and a == b) or (is_number(a) and is_number(b) and a == b)


# ----------------------------------------------------------------------------------- values


def value_violations(
    value: Any, field_type: str, rules: Sequence[Mapping[str, Any]]
) -> list[Violation]:
    """Why a non-null value does not fit a field: its type (4.4), then each rule (4.5)."""
    facts = api.FIELD_TYPES_TABLE.get(field_type)
    if facts is None or not of_type(value, field_type):
        expected = type_words(facts.json_types) if facts and facts.json_types else "no value"
        return [
            Violation(
                (),
                f"got {describe(value)}",
                f"{expected} for {article(field_type)} field",
                "value_type",
            )
        ]
    if field_type == "date":
        if not is_date_text(value):
            return [
                Violation(
                    (),
                    f"{quote(value)} is not a date",
                    "YYYY-MM-DD or YYYY-MM-DD HH:MM:SS",
                    "date_format",
                )
            ]
        if not is_real_date(value):
            return [
                Violation(
                    (), f"{quote(value)} is not a real date", "a valid calendar date", "date_real"
                )
            ]
    return rule_violations(value, rules)


def rule_violations(value: Any, rules: Sequence[Mapping[str, Any]]) -> list[Violation]:
    """Why a non-null value breaks the rules (4.5), its type aside: `enum` (1 and true are
    not the same option), `between` (judged for numbers), `email`, `slug`, `uuid`."""
    found: list[Violation] = []
    for rule in rules:
        problem = _breaks_rule(value, rule)
        if problem is not None:
            found.append(problem)
    return found


# The rules that ask for a string form (4.5): its check, what a value is not, what was expected.
_STRING_FORMS: Mapping[str, tuple[Callable[[Any], bool], str, str]] = {
    "email": (is_email, "an email address", "an email address, as the field has an `email` rule"),
    "slug": (is_slug_value, "a slug", f"{SLUG_ALPHABET} only, as the field has a `slug` rule"),
    "uuid": (is_uuid, "a UUID", "a UUID, as the field has a `uuid` rule"),
}


def _breaks_rule(value: Any, rule: Mapping[str, Any]) -> Violation | None:
    kind = rule.get("type")
    if kind == "enum":
        options = rule.get("options")
        if isinstance(options, list) and options and not any(same(value, o) for o in options):
            return Violation(
                (), f"{quote(value)} is not one of the enum options", one_of(options), "enum"
            )
    elif kind == "between":
        between = rule.get("options")
        if isinstance(between, dict) and is_number(value):
            low, high = between.get("from"), between.get("to")
            if is_number(low) and is_number(high) and not low <= value <= high:
                return Violation(
                    (),
                    f"{value} is outside the between range",
                    f"a value from {low} to {high}",
                    "between",
                )
    elif isinstance(kind, str) and kind in _STRING_FORMS and isinstance(value, str):
        check, noun, expected = _STRING_FORMS[kind]
        if not check(value):
            return Violation(
                (),
                f"{quote(value)} is not {noun}",
                expected,
                kind,
            )
    return None


def default_violations(
    default: Any, field_type: str, rules: Sequence[Mapping[str, Any]]
) -> list[Violation]:
    """4.2: a default is of the field's type and complies with its rules. A number of another
    type gets its own code (`default_number`): the real API accepts it (section 0)."""
    if default is None:
        return []
    found = []
    for violation in value_violations(default, field_type, rules):
        code = violation.code
        if code == "value_type":
            code = "default_number" if is_number(default) else "default_type"
        found.append(
            Violation(("default", *violation.path), violation.what, violation.expected, code)
        )
    return found
