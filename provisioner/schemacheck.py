"""A JSON Schema compiled once into Python closures that answer one question: valid or not.

`config` checks every document against the published JSON Schema with `jsonschema`, whose
`iter_errors` gives the located, detailed errors. For a valid document that walk is almost all
cost and no information (issue 16), so `compile_schema` turns the schema into a tree of small
functions once per process, and `config` asks `jsonschema` for errors only when the compiled
check says "invalid". The schema stays the one contract: nothing here knows its contents.

Soundness is the rule: each supported keyword is evaluated exactly as `jsonschema` evaluates it
for draft 2020-12 (types with the strict integer of `config`, `enum`/`const` equality that
tells `true` from `1`, `pattern` with `re.search`, ...). A schema using any assertion keyword
not listed in `_ANNOTATIONS` or handled below compiles to None, and the caller then keeps using
`jsonschema` alone, so a new keyword can make validation slower but never less strict.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Mapping
from typing import Any

Check = Callable[[Any], bool]

DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"

# Keywords that never make a document invalid (annotations, and `format`, which jsonschema only
# asserts with a format checker, which `config` does not pass).
_ANNOTATIONS = frozenset(
    {
        "$schema",
        "$id",
        "$comment",
        "$defs",
        "$anchor",
        "title",
        "description",
        "default",
        "examples",
        "deprecated",
        "readOnly",
        "writeOnly",
        "format",
        "contentMediaType",
        "contentEncoding",
    }
)


class Unsupported(Exception):
    """The schema uses something this compiler does not evaluate exactly."""


def compile_schema(schema: Mapping[str, Any]) -> Check | None:
    """A function telling whether a document is valid against `schema`, or None when the schema
    uses anything this module cannot evaluate exactly as jsonschema does."""
    if schema.get("$schema", DRAFT_2020_12) != DRAFT_2020_12:
        return None
    try:
        return _Compiler(schema).compile(schema)
    except Unsupported:
        return None


# --- jsonschema's own notions of type and equality ---------------------------------------------


def _is_integer(value: Any) -> bool:
    # config's strict integer: a JSON integer, never 1.0 and never a boolean (epcc-api.md 4.4)
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_TYPES: Mapping[str, Check] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": _is_integer,
    "number": _is_number,
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}

_TRUE = object()
_FALSE = object()


def _unbool(value: Any) -> Any:
    if value is True:
        return _TRUE
    if value is False:
        return _FALSE
    return value


def equal(one: Any, two: Any) -> bool:
    """jsonschema's equality: `true` is not `1`, `1` is `1.0`, containers compare deeply."""
    if one is two:
        return True
    if isinstance(one, str) or isinstance(two, str):
        return bool(one == two)
    if isinstance(one, list) and isinstance(two, list):
        return len(one) == len(two) and all(equal(a, b) for a, b in zip(one, two, strict=True))
    if isinstance(one, dict) and isinstance(two, dict):
        return one.keys() == two.keys() and all(equal(one[key], two[key]) for key in one)
    return bool(_unbool(one) == _unbool(two))


def _unique(items: list[Any]) -> bool:
    # Pairwise: finds every equal pair, so never calls a list unique that jsonschema does not.
    seen: list[Any] = []
    for item in items:
        if any(equal(item, other) for other in seen):
            return False
        seen.append(item)
    return True


# --- the compiler ------------------------------------------------------------------------------

_OBJECT_KEYWORDS = frozenset(
    {"properties", "patternProperties", "additionalProperties", "required"}
)


def _all(checks: list[Check]) -> Check:
    """The conjunction of `checks`."""
    if not checks:
        return _always
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        one, two = checks
        return lambda value: one(value) and two(value)

    def all_of(value: Any) -> bool:
        for check in checks:  # noqa: SIM110 (a loop: no generator per call)
            if not check(value):
                return False
        return True

    return all_of


def _discriminated(schema: Any) -> tuple[str, str] | None:
    """(key, const) of `{if: {properties: {key: {const: "C"}}, required: [key]}, then: ...}`
    (exactly that, with a string const), else None."""
    if not isinstance(schema, dict) or set(schema) != {"if", "then"}:
        return None
    condition = schema["if"]
    if not isinstance(condition, dict) or set(condition) != {"properties", "required"}:
        return None
    properties, required = condition["properties"], condition["required"]
    if not isinstance(properties, dict) or len(properties) != 1 or not isinstance(required, list):
        return None
    ((key, const_schema),) = properties.items()
    if required != [key] or not isinstance(const_schema, dict) or set(const_schema) != {"const"}:
        return None
    const = const_schema["const"]
    return (key, const) if isinstance(const, str) else None


def _always(_value: Any) -> bool:
    return True


def _never(_value: Any) -> bool:
    return False


class _Compiler:
    def __init__(self, root: Mapping[str, Any]) -> None:
        self.root = root
        self.refs: dict[str, Check] = {}

    def compile(self, schema: Any) -> Check:
        if schema is True:
            return _always
        if schema is False:
            return _never
        if not isinstance(schema, dict):
            raise Unsupported(repr(schema))
        checks: list[Check] = []
        merged = self.object_check(schema)
        if merged is not None:
            checks.append(merged)
        for keyword, argument in schema.items():
            if keyword in _ANNOTATIONS or keyword in ("then", "else"):
                continue  # evaluated with `if`
            if merged is not None and keyword in _OBJECT_KEYWORDS:
                continue  # evaluated together, in one pass over the object
            method = getattr(self, "k_" + keyword.lstrip("$"), None)
            if method is None:
                raise Unsupported(keyword)
            checks.append(method(argument, schema))
        return _all(checks)

    def object_check(self, schema: Mapping[str, Any]) -> Check | None:
        """`properties`, `patternProperties`, `additionalProperties` and `required` of one
        schema as one check: one look at each key of the object rather than one per keyword
        (issue 16: the compiled check is most of `validate`'s time for a valid document)."""
        if not _OBJECT_KEYWORDS.intersection(schema):
            return None
        properties = {name: self.compile(s) for name, s in schema.get("properties", {}).items()}
        patterns = [
            (re.compile(p), self.compile(s)) for p, s in schema.get("patternProperties", {}).items()
        ]
        extra = self.compile(schema.get("additionalProperties", True))
        required = list(schema.get("required", ()))

        def check(value: Any) -> bool:
            if not isinstance(value, dict):
                return True
            for name in required:
                if name not in value:
                    return False
            for key, item in value.items():
                test = properties.get(key)
                if test is not None and not test(item):
                    return False
                matched = False
                for pattern, pattern_test in patterns:
                    if pattern.search(key):
                        matched = True
                        if not pattern_test(item):
                            return False
                if test is None and not matched and not extra(item):
                    return False
            return True

        return check

    # references

    def k_ref(self, ref: Any, _schema: Mapping[str, Any]) -> Check:
        if not isinstance(ref, str) or not ref.startswith("#"):
            raise Unsupported(f"$ref {ref!r}")
        if ref not in self.refs:
            target: Any = self.root
            for part in ref[1:].split("/")[1:]:
                part = part.replace("~1", "/").replace("~0", "~")
                if not isinstance(target, dict) or part not in target:
                    raise Unsupported(f"$ref {ref!r}")
                target = target[part]
            if isinstance(target, dict) and ("$id" in target or "$anchor" in target):
                raise Unsupported(f"$ref {ref!r} to a resource")
            holder: list[Check] = []
            self.refs[ref] = lambda value: holder[0](value)  # recursion through itself
            holder.append(self.compile(target))
            self.refs[ref] = holder[0]
        return self.refs[ref]

    # any instance

    def k_type(self, types: Any, _schema: Mapping[str, Any]) -> Check:
        names = [types] if isinstance(types, str) else list(types)
        if any(name not in _TYPES for name in names):
            raise Unsupported(f"type {types!r}")
        tests = [_TYPES[name] for name in names]
        if len(tests) == 1:
            return tests[0]
        return lambda value: any(test(value) for test in tests)

    def k_enum(self, options: Any, _schema: Mapping[str, Any]) -> Check:
        values = list(options)
        hashable = [v for v in values if isinstance(v, str)]
        if len(hashable) == len(values):  # strings only: a set lookup, same answer
            allowed = frozenset(hashable)
            return lambda value: isinstance(value, str) and value in allowed
        return lambda value: any(equal(option, value) for option in values)

    def k_const(self, const: Any, _schema: Mapping[str, Any]) -> Check:
        return lambda value: equal(value, const)

    def k_allOf(self, schemas: Any, _schema: Mapping[str, Any]) -> Check:
        branches: dict[str, dict[str, Any]] = {}  # discriminator key -> const -> `then`
        checks: list[Check] = []
        for s in schemas:
            found = _discriminated(s)
            if found is not None and found[1] not in branches.get(found[0], {}):
                branches.setdefault(found[0], {})[found[1]] = s["then"]
            else:
                checks.append(self.compile(s))
        for key, thens in branches.items():
            checks.append(self.dispatch(key, {c: self.compile(t) for c, t in thens.items()}))
        return _all(checks)

    @staticmethod
    def dispatch(key: str, thens: dict[str, Check]) -> Check:
        """`allOf: [{if: {properties: {key: {const: C}}, required: [key]}, then: T}, ...]`:
        the `then` of the one const the object's `key` equals; for a value that is not an
        object every `if` holds (its keywords only constrain objects), so every `then` applies.
        """
        every = _all(list(thens.values()))

        def check(value: Any) -> bool:
            if not isinstance(value, dict):
                return every(value)
            chosen = value.get(key)
            if not isinstance(chosen, str):
                return True  # no string const equals it (`equal`)
            test = thens.get(chosen)
            return test is None or test(value)

        return check

    def k_anyOf(self, schemas: Any, _schema: Mapping[str, Any]) -> Check:
        checks = [self.compile(s) for s in schemas]
        return lambda value: any(check(value) for check in checks)

    def k_oneOf(self, schemas: Any, _schema: Mapping[str, Any]) -> Check:
        checks = [self.compile(s) for s in schemas]
        return lambda value: sum(1 for check in checks if check(value)) == 1

    def k_not(self, schema: Any, _schema: Mapping[str, Any]) -> Check:
        check = self.compile(schema)
        return lambda value: not check(value)

    def k_if(self, condition: Any, schema: Mapping[str, Any]) -> Check:
        test = self.compile(condition)
        then = self.compile(schema.get("then", True))
        otherwise = self.compile(schema.get("else", True))
        return lambda value: then(value) if test(value) else otherwise(value)

    # objects

    def k_dependentRequired(self, dependencies: Any, _schema: Mapping[str, Any]) -> Check:
        pairs = [(name, list(needs)) for name, needs in dependencies.items()]
        return lambda value: (
            not isinstance(value, dict)
            or all(all(n in value for n in needs) for name, needs in pairs if name in value)
        )

    def k_propertyNames(self, names: Any, _schema: Mapping[str, Any]) -> Check:
        test = self.compile(names)
        return lambda value: not isinstance(value, dict) or all(test(key) for key in value)

    def k_minProperties(self, limit: Any, _schema: Mapping[str, Any]) -> Check:
        return lambda value: not isinstance(value, dict) or len(value) >= limit

    def k_maxProperties(self, limit: Any, _schema: Mapping[str, Any]) -> Check:
        return lambda value: not isinstance(value, dict) or len(value) <= limit

    # arrays

    def k_items(self, items: Any, schema: Mapping[str, Any]) -> Check:
        prefix = [self.compile(s) for s in schema.get("prefixItems", [])]
        rest = self.compile(items)

        def check(value: Any) -> bool:
            if not isinstance(value, list):
                return True
            for test, item in zip(prefix, value, strict=False):
                if not test(item):
                    return False
            return all(rest(item) for item in itertools.islice(value, len(prefix), None))

        return check

    def k_prefixItems(self, items: Any, schema: Mapping[str, Any]) -> Check:
        if "items" in schema:  # evaluated with `items`
            return _always
        prefix = [self.compile(s) for s in items]
        return lambda value: (
            not isinstance(value, list)
            or all(test(item) for test, item in zip(prefix, value, strict=False))
        )

    def k_minItems(self, limit: Any, _schema: Mapping[str, Any]) -> Check:
        return lambda value: not isinstance(value, list) or len(value) >= limit

    def k_maxItems(self, limit: Any, _schema: Mapping[str, Any]) -> Check:
        return lambda value: not isinstance(value, list) or len(value) <= limit

    def k_uniqueItems(self, unique: Any, _schema: Mapping[str, Any]) -> Check:
        if not unique:
            return _always
        return lambda value: not isinstance(value, list) or _unique(value)

    # strings

    def k_minLength(self, limit: Any, _schema: Mapping[str, Any]) -> Check:
        return lambda value: not isinstance(value, str) or len(value) >= limit

    def k_maxLength(self, limit: Any, _schema: Mapping[str, Any]) -> Check:
        return lambda value: not isinstance(value, str) or len(value) <= limit

    def k_pattern(self, pattern: Any, _schema: Mapping[str, Any]) -> Check:
        compiled = re.compile(pattern)
        return lambda value: not isinstance(value, str) or compiled.search(value) is not None

    # numbers

    def k_minimum(self, limit: Any, _schema: Mapping[str, Any]) -> Check:
        return lambda value: not (_is_number(value) and value < limit)  # as jsonschema (NaN)

    def k_maximum(self, limit: Any, _schema: Mapping[str, Any]) -> Check:
        return lambda value: not (_is_number(value) and value > limit)

    def k_exclusiveMinimum(self, limit: Any, _schema: Mapping[str, Any]) -> Check:
        return lambda value: not (_is_number(value) and value <= limit)

    def k_exclusiveMaximum(self, limit: Any, _schema: Mapping[str, Any]) -> Check:
        return lambda value: not (_is_number(value) and value >= limit)


__all__ = ["Check", "compile_schema", "equal"]
