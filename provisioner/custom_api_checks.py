"""Custom APIs: the building blocks of the checks, and the regex and JSON Schema judges.

Violations are `provisioner.rules`' own `Violation(path, what, expected, code)`, `path` a tuple
relative to what was checked; `_v` makes one from a dotted path. RE2 itself (`google-re2`)
judges regexes, as the API does (SPEC StringCustomField.regex), and `jsonschema` judges JSON
Schemas; both are imported on first use. The checks are `provisioner.custom_api_rules`
(definitions) and `provisioner.custom_api_values` (values, create-only attributes). Pure.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from provisioner.epcc import custom_apis as facts
from provisioner.rules import Violation, describe

PathKey = tuple[str | int, ...]


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


def a_field(field_type: str) -> str:
    """ "an integer field", "a string field"."""
    article = "an" if field_type[:1] in ("a", "e", "i", "o", "u") else "a"
    return f"{article} {field_type} field"


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
    for where, ref, reason in unresolved_refs(schema):
        found.append(
            _v("schema", f"{where} is {ref!r}, which {reason}", "a reference to a part of it")
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


def unresolved_refs(schema: Any) -> list[tuple[str, str, str]]:
    """Local `$ref`/`$dynamicRef` values (`#...`) that point at nothing in the schema, with the
    reason: the validator would only fail on them when an entry reaches them (a 500 in a store
    that does not check). A reference under a nested `$id` is resolved against that `$id`."""
    if not isinstance(schema, Mapping):
        return []
    from referencing import Registry
    from referencing.exceptions import Unresolvable
    from referencing.jsonschema import DRAFT202012

    root = "urn:provisioner:json-schema"
    try:
        registry = Registry().with_resource(root, DRAFT202012.create_resource(schema)).crawl()
    except Exception:  # an odd `$id`: the validator says what it can
        return []
    found: list[tuple[str, str, str]] = []
    for where, ref, base in _local_refs(schema, "(root)", root):
        try:
            registry.resolver(base).lookup(ref)
        except Unresolvable as error:
            found.append((where, ref, _unresolvable(error)))
    return found


def _local_refs(node: Any, where: str, base: str) -> Iterable[tuple[str, str, str]]:
    """(where, `#...` reference, the base URI it resolves against) for every local reference."""
    from urllib.parse import urljoin

    if isinstance(node, Mapping):
        if where != "(root)" and isinstance(node.get("$id"), str):
            base = urljoin(base, node["$id"])
        for key, value in node.items():
            if key in ("$ref", "$dynamicRef") and isinstance(value, str):
                if value.startswith("#"):
                    yield f"{where}/{key}", value, base
            elif key not in ("const", "enum", "examples", "default"):
                yield from _local_refs(value, f"{where}/{key}", base)
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _local_refs(item, f"{where}/{index}", base)


def _unresolvable(error: Exception) -> str:
    kind = type(error).__name__
    if kind == "PointerToNowhere":
        return "points at nothing in the schema"
    if kind == "NoSuchAnchor":
        return "names an anchor the schema does not define"
    return f"cannot be resolved ({kind})"


def schema_validator(json_schema: Mapping[str, Any]) -> Any:
    """The validator for a field's (already checked) `json_schema`."""
    import jsonschema

    return jsonschema.Draft202012Validator(json.loads(json_schema["schema"]))


# ------------------------------------------------------------------------------- parents


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
    found: list[tuple[str, Violation]] = [
        (key, _v((index,), f"no Custom API {parent!r}", "an existing one", "parent_missing"))
        for key in wanted
        for index, parent in enumerate(parents.get(key, ()))
        if parent not in parents
    ]
    depths = _Depths(parents)
    for key in wanted:
        value = depths.of(key, ())
        if key in depths.cyclic:
            found.append((key, _v("", "its parents form a cycle", "no cycle", "parent_cycle")))
        elif value > facts.MAX_PARENT_DEPTH:
            what = f"is nested {value} parents deep"
            limit = f"at most {facts.MAX_PARENT_DEPTH}"
            found.append((key, _v("", what, limit, "parent_depth")))
    return found


class _Depths:
    """How many parent links lie above each Custom API; the members of cycles."""

    def __init__(self, parents: Mapping[str, Sequence[str]]) -> None:
        self.parents = parents
        self.depth_of: dict[str, int] = {}
        self.cyclic: set[str] = set()

    def of(self, key: str, trail: tuple[str, ...]) -> int:
        if key in self.depth_of:
            return self.depth_of[key]
        if key in trail:
            self.cyclic.update(trail[trail.index(key) :])
            return 0
        result = 0
        for parent in self.parents.get(key, ()):
            if parent in self.parents:
                result = max(result, 1 + self.of(parent, (*trail, key)))
        if key not in self.cyclic:
            self.depth_of[key] = result
        return result
