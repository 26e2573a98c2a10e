"""Our wording of JSON Schema errors: each error becomes (path, position, what is wrong,
expected), located in the YAML. One function per schema keyword (`WORDED_KEYWORDS`); any other
keyword keeps jsonschema's message."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from provisioner import rules
from provisioner.epcc import custom_apis as extension_facts
from provisioner.epcc import flows as api
from provisioner.yamlload import LoadedDocument, PathKey

if TYPE_CHECKING:
    # jsonschema ships no type information; it is imported when a document needs its errors
    # (issue 16: a valid document never does, and `validate` starts faster without it).
    from jsonschema import ValidationError  # type: ignore[import-untyped]

Worded = tuple[PathKey, tuple[int, int], str, str]

# What a missing required key should have held, for "required key is missing" diagnostics.
_EXPECTED_FOR_KEY: Mapping[str, str] = {
    "flows": "a mapping of flow slugs to flows",
    "name": "a non-empty display name",
    "field_type": "one of " + ", ".join(api.FIELD_TYPES),
    "api_type": "a Custom API type such as `wishlist_ext`",
    "type": "a rule type",
    "options": "the rule's options",
    "from": "a number",
    "to": "a singular core resource or a flow declared in these files",  # `between`: below
}

_DOLLAR = "names starting with `$` are not supported by the API"


@dataclass(frozen=True)
class _Error:
    """One schema error about a scalar or a container, with what wording it needs."""

    path: PathKey
    instance: Any
    value: Any  # the keyword's value in the schema (`validator_value`)
    message: str  # jsonschema's own
    where: tuple[int, int]
    field_type: str | None  # the type of the field the path lies in, when it has a valid one

    @property
    def last(self) -> str | int | None:
        return self.path[-1] if self.path else None

    def said(self, message: str, expected: str) -> Iterator[Worded]:
        yield self.path, self.where, message, expected


def translate(error: ValidationError, document: LoadedDocument) -> Iterator[Worded]:
    """Our wording for one JSON Schema error: (path, position, what is wrong, expected)."""
    path: PathKey = tuple(error.absolute_path)
    instance = error.instance
    if "propertyNames" in error.absolute_schema_path:
        yield _property_name(path, instance, document)
        return
    if error.validator == "additionalProperties":
        schema = error.schema if isinstance(error.schema, dict) else {}
        yield from _additional(path, instance, sorted(schema.get("properties", {})), document)
        return
    if error.validator == "required":
        yield from _required(path, instance, error.validator_value, document)
        return
    container = isinstance(instance, dict | list)
    found = _Error(
        path,
        instance,
        error.validator_value,
        error.message,
        document.locate(path) if container else document.locate_value(path),
        _field_type_at(document.data, path),
    )
    yield from _BY_KEYWORD.get(error.validator, _unworded)(found)


def _field_type_at(data: Any, path: PathKey) -> str | None:
    """The field_type of the field that `path` lies in, if it has a valid one."""
    if len(path) < 4 or path[0] != "flows" or path[2] != "fields":
        return None
    try:
        field_type = data["flows"][path[1]]["fields"][path[3]]["field_type"]
    except (KeyError, TypeError, IndexError):
        return None
    return field_type if field_type in api.FIELD_TYPES else None


def _property_name(path: PathKey, instance: Any, document: LoadedDocument) -> Worded:
    """A flow or field slug the schema's key pattern refuses (the key itself is located)."""
    key_path = (*path, str(instance))
    if path == ("custom_apis",):
        low, high = extension_facts.API_SLUG_LENGTH
        what, expected = (
            "Custom API slug",
            f"lower-case letters, digits, `_` and `-`, {low} to {high} of them",
        )
    elif path[:1] == ("custom_apis",):
        low, high = extension_facts.FIELD_SLUG_LENGTH
        what, expected = "Custom API field slug", f"{low} to {high} characters"
    elif path == ("flows",):
        what, expected = "flow slug", rules.FLOW_SLUG_ALPHABET
    else:
        what, expected = "field slug", rules.SLUG_ALPHABET
    if str(instance).startswith("$"):
        message = _DOLLAR
    else:
        message = f"{rules.quote(instance)} is not a valid {what}"
    return key_path, document.locate(key_path), message, expected


def _additional(
    path: PathKey, instance: Any, allowed: list[str], document: LoadedDocument
) -> Iterator[Worded]:
    for key in instance:
        if key in allowed:
            continue
        key_path = (*path, key)
        if "validation_rules" in path and "type" in instance:
            expected = f"only {', '.join(allowed)} in the `{instance['type']}` rule"
        else:
            expected = rules.one_of(allowed)
        message = f"unknown key `{key}`{rules.suggest(key, allowed)}"
        yield key_path, document.locate(key_path), message, expected


def _required(
    path: PathKey, instance: Any, required: list[str], document: LoadedDocument
) -> Iterator[Worded]:
    for key in required:
        if isinstance(instance, dict) and key not in instance:
            expected = _EXPECTED_FOR_KEY.get(key, "a value")
            if path and path[-1] == "options" and key == "to":
                expected = "a number"
            yield (*path, key), document.locate(path), "required key is missing", expected


def _type(error: _Error) -> Iterator[Worded]:
    types = error.value
    expected = rules.type_words([types] if isinstance(types, str) else types)
    if error.field_type and (error.last == "default" or "options" in error.path):
        expected += f" for {rules.article(error.field_type)} field"
    return error.said(f"got {rules.describe(error.instance)}", expected)


def _enum(error: _Error) -> Iterator[Worded]:
    values = list(error.value)
    instance = error.instance
    rule_type = error.last == "type" and "validation_rules" in error.path
    if rule_type and instance not in api.RULE_TYPES:
        message = f"unknown rule type {rules.quote(instance)}"
    elif rule_type and error.field_type:
        message = f"the `{instance}` rule does not apply to {error.field_type} fields"
    else:
        message = f"unknown value {rules.quote(instance)}"
        if isinstance(instance, str):
            message += rules.suggest(instance, [str(v) for v in values])
        elif isinstance(instance, bool) and {"yes", "no"} <= set(values):
            # YAML 1.1 reads an unquoted yes/no (on/off) as a boolean.
            word = "yes" if instance else "no"
            message += (
                f': YAML reads an unquoted {word} as {str(instance).lower()}, quote it ("{word}")'
            )
    return error.said(message, rules.one_of(values))


def _const(error: _Error) -> Iterator[Worded]:
    if error.last == "required" and error.field_type == "relationship":
        return error.said(
            "a relationship field cannot be required",
            "false, which the API requires for relationships",
        )
    return error.said(f"got {rules.describe(error.instance)}", rules.quote(error.value))


def _pattern(error: _Error) -> Iterator[Worded]:
    instance = error.instance
    if error.last == "name":
        message, expected = "is blank", "a non-empty display name"
    elif error.last == "default" or error.field_type == "date":
        message = f"{rules.quote(instance)} is not a date"
        expected = "YYYY-MM-DD or YYYY-MM-DD HH:MM:SS"
    elif "renamed_from" in error.path and error.path[0] == "custom_apis":
        kind = "field slug" if "fields" in error.path else "Custom API slug"
        message = f"{rules.quote(instance)} is not a former {kind}"
        expected = f"a slug matching {error.value}"
    elif "renamed_from" in error.path:
        message = f"{rules.quote(instance)} is not a former field slug"
        expected = "`old_slug` or `other_flow.old_slug`"
    else:
        message = f"{rules.quote(instance)} does not match the pattern"
        expected = f"a string matching {error.value}"
    if isinstance(instance, str) and instance.startswith("$"):
        message = _DOLLAR
    return error.said(message, expected)


def _min_length(error: _Error) -> Iterator[Worded]:
    return error.said("is empty", "a non-empty string")


def _min_items(error: _Error) -> Iterator[Worded]:
    if error.last == "options":
        return error.said("no options", "at least one option")
    return error.said("is an empty list", "at least one item, or leave the key out")


def _max_items(error: _Error) -> Iterator[Worded]:
    what = f"a {error.field_type} field" if error.field_type else "this field"
    return error.said(f"{what} takes no validation rules", "no validation_rules")


def _unique_items(error: _Error) -> Iterator[Worded]:
    items = error.instance
    repeated = next(
        (v for i, v in enumerate(items) if any(rules.same(v, w) for w in items[:i])), None
    )
    return error.said(f"{rules.quote(repeated)} is listed more than once", "each value once")


def _unworded(error: _Error) -> Iterator[Worded]:
    """A keyword we did not word ourselves: jsonschema's own message."""
    return error.said(error.message, "")


_BY_KEYWORD: Mapping[str, Callable[[_Error], Iterator[Worded]]] = {
    "type": _type,
    "enum": _enum,
    "const": _const,
    "pattern": _pattern,
    "minLength": _min_length,
    "minItems": _min_items,
    "maxItems": _max_items,
    "uniqueItems": _unique_items,
}

# The JSON Schema keywords `translate` words itself (any other gets jsonschema's message and no
# expectation). tests/test_parity.py breaks every constraint of the generated schema and checks
# each error's keyword is here and each diagnostic has an expectation: a schema whose shape
# changes fails that test instead of silently losing our wording.
WORDED_KEYWORDS = frozenset({"additionalProperties", "required", *_BY_KEYWORD})

# The keywords that never fail themselves: they annotate, or hold or select subschemas whose
# own keywords fail (`propertyNames`' errors are worded as slugs above). Every keyword of the
# generated schema is worded or here (tests/test_parity.py): a new one (`maxLength`, `anyOf`)
# needs its wording first.
STRUCTURAL_KEYWORDS = frozenset(
    {
        "$defs",
        "$ref",
        "$schema",
        "allOf",
        "default",
        "description",
        "else",
        "if",
        "items",
        "properties",
        "propertyNames",
        "then",
        "title",
    }
)
