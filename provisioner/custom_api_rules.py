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

import functools
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from provisioner.epcc import custom_apis as facts
from provisioner.rules import Violation, describe

PathKey = tuple[str | int, ...]

_API_SLUG = re.compile(facts.API_SLUG_PATTERN)
_API_TYPE = re.compile(facts.API_TYPE_PATTERN)
_URL_SLUG_VALUE = re.compile(facts.URL_SLUG_VALUE_PATTERN)


def split_path(path: str) -> PathKey:
    """`"validation.string.regex"` -> `("validation", "string", "regex")`; digits are indexes."""
    return tuple(int(p) if p.isdigit() else p for p in path.split(".") if p != "")


def _v(path: str | PathKey, what: str, expected: str = "", code: str = "") -> Violation:
    """A violation at a dotted path (or a path tuple); the code defaults to `<key>_invalid`."""
    key = split_path(path) if isinstance(path, str) else path
    names = [p for p in key if isinstance(p, str)]
    return Violation(key, what, expected, code or f"{names[-1] if names else 'value'}_invalid")


def _under(violation: Violation, prefix: str | PathKey) -> Violation:
    return violation.at(*(split_path(prefix) if isinstance(prefix, str) else prefix))


def dotted(violation: Violation) -> str:
    """The violation's path as dotted text (`validation.string.regex`, `tags.1`)."""
    return ".".join(str(part) for part in violation.path)


def text(violation: Violation) -> str:
    """`path: what (expected ...)`, the path dotted."""
    where = f"{dotted(violation)}: " if violation.path else ""
    expected = f" (expected {violation.expected})" if violation.expected else ""
    return f"{where}{violation.what}{expected}"


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _join(*parts: object) -> str:
    return ".".join(str(part) for part in parts if part != "")


# ------------------------------------------------------------------------------- primitives


def _text(
    found: list[Violation], data: Mapping[str, Any], key: str, bounds: tuple[int, int]
) -> None:
    if key not in data:
        return
    value = data[key]
    low, high = bounds
    if not isinstance(value, str):
        found.append(_v(key, f"got {describe(value)}", f"a string of {low}-{high} chars"))
    elif not low <= len(value) <= high:
        found.append(_v(key, f"{len(value)} characters long", f"{low} to {high} characters"))


def _boolean(found: list[Violation], data: Mapping[str, Any], key: str) -> None:
    if key in data and not isinstance(data[key], bool):
        found.append(_v(key, f"got {describe(data[key])}", "true or false"))


def _unknown(
    found: list[Violation], data: Mapping[str, Any], allowed: Iterable[str], prefix: str = ""
) -> None:
    allowed = set(allowed)
    for key in sorted(k for k in data if k not in allowed):
        found.append(
            _v(_join(prefix, key), "unknown attribute", f"one of {', '.join(sorted(allowed))}")
        )


def _required(found: list[Violation], data: Mapping[str, Any], keys: Iterable[str]) -> None:
    for key in keys:
        if key not in data:
            found.append(_v(key, "is required", "", "required"))


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


def parent_ids(api: Mapping[str, Any]) -> list[str]:
    """The ids of the Custom APIs an API body names as parents (api_location left out)."""
    relationships = api.get("relationships")
    if not isinstance(relationships, Mapping):
        return []
    parents = relationships.get("parent_apis")
    data = parents.get("data") if isinstance(parents, Mapping) else None
    if not isinstance(data, list):
        return []
    return [
        str(ref["id"])
        for ref in data
        if isinstance(ref, Mapping) and ref.get("type") == "custom_api" and "id" in ref
    ]


def parent_graph_violations(
    parents: Mapping[str, Sequence[str]], subjects: Iterable[str] | None = None
) -> list[tuple[str, Violation]]:
    """Parents that exist, no cycle, depth at most 2 (SPEC CustomAPIRelationships).

    `parents` maps every Custom API (by any key: id or slug) to the keys of its parent Custom
    APIs. Returns `(api key, violation)` pairs for the APIs in `subjects` (all by default); the
    violation's path is the parent's index for a missing parent, empty otherwise.
    """
    wanted = sorted(parents if subjects is None else subjects)
    found: list[tuple[str, Violation]] = []
    for key in wanted:
        for index, parent in enumerate(parents.get(key, ())):
            if parent not in parents:
                found.append(
                    (
                        key,
                        _v(
                            (index,),
                            f"no Custom API {parent!r}",
                            "an existing one",
                            "parent_missing",
                        ),
                    )
                )

    depth_of: dict[str, int] = {}
    cyclic: set[str] = set()

    def depth(key: str, trail: tuple[str, ...]) -> int:
        if key in depth_of:
            return depth_of[key]
        if key in trail:
            cyclic.update(trail[trail.index(key) :])
            return 0
        result = 0
        for parent in parents.get(key, ()):
            if parent in parents:
                result = max(result, 1 + depth(parent, (*trail, key)))
        if key not in cyclic:
            depth_of[key] = result
        return result

    for key in wanted:
        value = depth(key, ())
        if key in cyclic:
            found.append((key, _v("", "its parents form a cycle", "no cycle", "parent_cycle")))
        elif value > facts.MAX_PARENT_DEPTH:
            found.append(
                (
                    key,
                    _v(
                        "",
                        f"is nested {value} parents deep",
                        f"at most {facts.MAX_PARENT_DEPTH}",
                        "parent_depth",
                    ),
                )
            )
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
                    f"is validation for {key} fields, and this is a {field_type} field",
                    f"only {field_type}",
                    "validation_not_for_field_type",
                )
            )
    rules = validation.get(field_type)
    if rules is None:
        return found
    if not isinstance(rules, Mapping):
        return [*found, _v(field_type, f"got {describe(rules)}", "an object")]
    table = facts.VALIDATION[field_type]
    for key in sorted(rules):
        where = f"{field_type}.{key}"
        rule = table.get(key)
        if rule is None:
            found.append(_v(where, "unknown validation key", ", ".join(table), "unknown_attribute"))
        elif not create and not rule.on_update:
            found.append(
                _v(
                    where,
                    "cannot be changed: it is set when the field is created",
                    "",
                    "create_only",
                )
            )
        else:
            found += [_under(v, where) for v in validation_key_violations(rule, rules[key])]
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
        ok = is_int(value) if rule.kind == "int" else is_number(value)
        inside = (rule.minimum is None or value >= rule.minimum) and (
            rule.maximum is None or value <= rule.maximum
        )
        if not ok or not inside:
            what = "an integer" if rule.kind == "int" else "a number"
            if rule.minimum is not None and rule.maximum is not None:
                what += f" from {_number(rule.minimum)} to {_number(rule.maximum)}"
            return [_v("", f"got {describe(value)}", f"{what} or null")]
        return []
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


def _choices_of(rule: facts.ValidationKey) -> tuple[str, ...]:
    return facts.UNIQUE_VALUES if rule.kind == "unique" else facts.LIST_ALLOWED_TYPES


def _choices(rule: facts.ValidationKey) -> str:
    return ", ".join(f'"{choice}"' for choice in _choices_of(rule))


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def url_slug_violations(field_type: str, validation: Any) -> list[Violation]:
    """SPEC use_as_url_slug: a string field, unique, not allowing null values."""
    if field_type != "string":
        return [
            _v("use_as_url_slug", f"is set on a {field_type} field", "a string field", "url_slug")
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


def url_slug_field_violations(fields: Mapping[str, Mapping[str, Any]]) -> list[Violation]:
    """Across one API's fields (by slug): at most one `use_as_url_slug` (SPEC)."""
    marked = sorted(slug for slug, field in fields.items() if field.get("use_as_url_slug") is True)
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


# ------------------------------------------------------------------------ regex and schema


@functools.cache
def _re2() -> tuple[Any, Any]:
    """RE2 and its options, imported on first use (`validate` of files without Custom API
    regexes starts without it, issue 16)."""
    import re2

    options = re2.Options()
    options.log_errors = False  # the library would print every refused pattern to stderr
    return re2, options


def regex_problem(pattern: str) -> str | None:
    """Why RE2 refuses `pattern` (backreferences, lookaround, ...), or None if it compiles."""
    if len(pattern) > facts.REGEX_MAX_LENGTH:
        return f"{len(pattern)} characters long (at most {facts.REGEX_MAX_LENGTH})"
    re2, options = _re2()
    try:
        re2.compile(pattern, options)
    except re2.error as error:
        reason = error.args[0] if error.args else "invalid"
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        return f"RE2 refuses it: {reason}"
    return None


def regex_matches(pattern: str, text: str) -> bool:
    """RE2 search semantics, as the API applies `regex` to a value (anchors are the user's)."""
    re2, options = _re2()
    return re2.compile(pattern, options).search(text) is not None


def json_schema_violations(value: Any) -> list[Violation]:
    """SPEC JSONSchemaValidation: `{version: "2020-12", schema: "<JSON text>"}` or null."""
    if value is None:
        return []
    if not isinstance(value, Mapping):
        return [_v("", f"got {describe(value)}", "an object with version and schema")]
    found: list[Violation] = []
    _unknown(found, value, ("version", "schema"))
    if value.get("version") != facts.JSON_SCHEMA_VERSION:
        found.append(
            _v("version", f"got {describe(value.get('version'))}", f'"{facts.JSON_SCHEMA_VERSION}"')
        )
    text = value.get("schema")
    if not isinstance(text, str):
        return [*found, _v("schema", f"got {describe(text)}", "a JSON Schema as JSON text")]
    size = len(text.encode("utf-8"))
    if size > facts.JSON_SCHEMA_MAX_BYTES:
        return [
            *found,
            _v("schema", f"{size} bytes long", f"at most {facts.JSON_SCHEMA_MAX_BYTES}"),
        ]
    try:
        schema = json.loads(text)
    except ValueError as error:
        return [*found, _v("schema", f"is not JSON: {error}", "a JSON Schema as JSON text")]
    if not isinstance(schema, dict | bool):
        return [*found, _v("schema", f"got {describe(schema)}", "a JSON Schema object")]
    import jsonschema  # type: ignore[import-untyped]  # on first use (issue 16)

    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as error:
        where = "/".join(str(part) for part in error.absolute_path) or "(root)"
        found.append(_v("schema", f"is not a valid 2020-12 schema at {where}: {error.message}"))
        return found
    for where, ref in external_refs(schema):
        found.append(
            _v(
                "schema",
                f"{where} is the external reference {ref!r}",
                'references inside the schema only ("#...")',
            )
        )
    return found


def external_refs(schema: Any, where: str = "(root)") -> list[tuple[str, str]]:
    """`$ref`/`$dynamicRef` values that leave the schema (anything not starting with `#`)."""
    found: list[tuple[str, str]] = []
    if isinstance(schema, Mapping):
        for key, value in schema.items():
            if key in ("$ref", "$dynamicRef") and isinstance(value, str):
                if not value.startswith("#"):
                    found.append((f"{where}/{key}", value))
            elif key not in ("const", "enum", "examples", "default"):
                found += external_refs(value, f"{where}/{key}")
    elif isinstance(schema, list):
        for index, item in enumerate(schema):
            found += external_refs(item, f"{where}/{index}")
    return found


def schema_validator(json_schema: Mapping[str, Any]) -> Any:
    """The validator for a field's (already checked) `json_schema`."""
    import jsonschema

    return jsonschema.Draft202012Validator(json.loads(json_schema["schema"]))


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
    found: list[Violation] = []
    length = len(value)
    low, high = rules.get("min_length"), rules.get("max_length")
    if length > facts.STRING_MAX_CHARS:
        found.append(_v("", f"{length} characters long", f"at most {facts.STRING_MAX_CHARS}"))
    if low is not None and length < low:
        found.append(_v("", f"{length} characters long", f"at least {low}"))
    if high is not None and length > high:
        found.append(_v("", f"{length} characters long", f"at most {high}"))
    regex = rules.get("regex")
    if regex and not regex_matches(regex, value):
        found.append(_v("", f"{describe(value)} does not match", f"the regex {regex}"))
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
    found: list[Violation] = []
    count = len(value)
    low, high = rules.get("min_length"), rules.get("max_length")
    if count > facts.LIST_MAX_ELEMENTS:
        found.append(_v("", f"{count} elements", f"at most {facts.LIST_MAX_ELEMENTS}"))
    if low is not None and count < low:
        found.append(_v("", f"{count} elements", f"at least {low}"))
    if high is not None and count > high:
        found.append(_v("", f"{count} elements", f"at most {high}"))
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
    errors = sorted(
        schema_validator(json_schema).iter_errors(value), key=lambda e: str(list(e.absolute_path))
    )
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
