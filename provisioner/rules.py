"""The API's rules as pure functions over plain JSON values, used by both sides of the wire.

Each check returns `Violation`s: where (a path relative to the object checked), what is wrong,
what was expected, and a stable `code`. `validate` (provisioner.config) turns them into
located diagnostics, skipping the codes its JSON Schema already reports (`SCHEMA_CODES`); the
local store turns the first one into a 422 body, skipping the codes the real API is known to
accept (`epcc.flows.LENIENT`). The facts they apply are `provisioner.epcc.flows`.

Pure: no I/O, no imports beyond the standard library and the facts.
"""

from __future__ import annotations

import datetime
import difflib
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from provisioner.epcc import flows as api

PathKey = tuple[str | int, ...]

_DATE = re.compile(api.DATE_PATTERN)
_EMAIL = re.compile(api.EMAIL_PATTERN)
_UUID = re.compile(api.UUID_PATTERN)
_SLUG_VALUE = re.compile(api.SLUG_VALUE_PATTERN)
_FIELD_SLUG = re.compile(api.FIELD_SLUG_PATTERN)
_FLOW_SLUG = re.compile(api.FLOW_SLUG_PATTERN)
_TEMPLATE = re.compile(api.TEMPLATE_SLUG_PATTERN)
_NAME = re.compile(api.NAME_PATTERN)


@dataclass(frozen=True)
class Violation:
    """One broken rule: `path` is relative to the object checked (`("default",)`,
    `("validation_rules", 0, "options")`); `what` and `expected` are phrases for people."""

    path: PathKey
    what: str
    expected: str
    code: str

    def at(self, *prefix: str | int) -> Violation:
        """The same violation under `prefix` (e.g. a field's path in a document)."""
        return Violation((*prefix, *self.path), self.what, self.expected, self.code)

    def detail(self) -> str:
        """One line for an API error body: `data.<path>: what (expected ...)`."""
        where = "data" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in self.path)
        expected = f" (expected {self.expected})" if self.expected else ""
        return f"{where}: {self.what}{expected}"


# The codes `validate`'s JSON Schema reports itself (config words them from the schema error).
SCHEMA_CODES: frozenset[str] = frozenset(
    {
        "name_blank",
        "field_type_unknown",
        "relationship_required",
        "rules_not_a_list",
        "rule_not_an_object",
        "rule_type_unknown",
        "rule_not_for_field_type",
        "rule_key_unknown",
        "options_shape",
        "options_empty",
        "options_repeated",
        "option_type",
        "options_missing",
        "target_missing",
        "value_type",
        "default_type",
        "default_number",
    }
)


# --------------------------------------------------------------------------------- wording


def quote(value: Any) -> str:
    """A value as JSON, cut to 60 characters."""
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


def describe(value: Any) -> str:
    """`the integer 0`, `the string "x"`, `a mapping`..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int):
        return f"the integer {value}"
    if isinstance(value, float):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the string {quote(value)}"
    if isinstance(value, dict):
        return "a mapping"
    return "a list"


def one_of(values: Sequence[Any]) -> str:
    words = [str(v) if isinstance(v, str) else quote(v) for v in values]
    return "one of " + ", ".join(words) if len(words) > 1 else (words[0] if words else "nothing")


def article(word: str) -> str:
    return f"{'an' if word[:1] in 'aeiou' else 'a'} {word}"


_TYPE_WORDS: Mapping[str, str] = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
    "object": "a mapping",
    "array": "a list",
}


def suggest(word: str, candidates: Iterable[str]) -> str:
    """`; did you mean `x`?` for a close candidate, else nothing."""
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.75)
    return f"; did you mean `{close[0]}`?" if close else ""


def type_words(json_types: Iterable[str]) -> str:
    return " or ".join(_TYPE_WORDS.get(t, t) for t in json_types)


# ------------------------------------------------------------------------------ predicates


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


def of_type(value: Any, field_type: str) -> bool:
    """The value has the JSON type of the field type's values (4.4); a date is a string here,
    its form is `value_violations`' business."""
    facts = api.FIELD_TYPES_TABLE.get(field_type)
    if facts is None:
        return False
    checks: Mapping[str, Callable[[Any], bool]] = {
        "string": lambda v: isinstance(v, str),
        "integer": is_integer,
        "number": is_number,
        "boolean": lambda v: isinstance(v, bool),
    }
    return any(checks[t](value) for t in facts.json_types)


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
    found: list[Violation] = []
    for rule in rules:
        problem = _breaks_rule(value, rule)
        if problem is not None:
            found.append(problem)
    return found


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
    elif kind == "email" and isinstance(value, str) and not is_email(value):
        return Violation(
            (),
            f"{quote(value)} is not an email address",
            "an email address, as the field has an `email` rule",
            "email",
        )
    elif kind == "slug" and isinstance(value, str) and not is_slug_value(value):
        return Violation(
            (),
            f"{quote(value)} is not a slug",
            "letters, digits, `-` and `_` only, as the field has a `slug` rule",
            "slug",
        )
    elif kind == "uuid" and isinstance(value, str) and not is_uuid(value):
        return Violation(
            (), f"{quote(value)} is not a UUID", "a UUID, as the field has a `uuid` rule", "uuid"
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


# ------------------------------------------------------------------------------ definitions


def name_violations(name: Any) -> list[Violation]:
    """2.4 (REC): a blank name is no name."""
    if isinstance(name, str) and is_blank(name):
        return [
            Violation(
                ("name",),
                "is blank" if name else "is empty",
                "a non-empty display name",
                "name_blank",
            )
        ]
    return []


def flow_slug_violations(slug: str) -> list[Violation]:
    """3.2, 3.4, 2.8: the slug's alphabet and the reserved singular names."""
    if _FLOW_SLUG.fullmatch(slug) is None:
        what = (
            "names starting with `$` are not supported by the API"
            if slug.startswith("$")
            else f"{quote(slug)} is not a valid flow slug"
        )
        return [
            Violation(
                ("slug",),
                what,
                "letters, digits, `_` and `-`, or a template like `products(book)`",
                "slug_pattern",
            )
        ]
    if slug in api.RESERVED_FLOW_SLUGS:
        return [
            Violation(
                ("slug",),
                f"`{slug}` is reserved by the API (a singular resource name)",
                "another slug; to extend a core resource use its plural slug, e.g. `customers`",
                "reserved_flow_slug",
            )
        ]
    return []


def field_slug_violations(slug: str, flow_slug: str | None) -> list[Violation]:
    """4.2, 2.8: the slug's alphabet, the reserved names, a core resource's own attributes."""
    if _FIELD_SLUG.fullmatch(slug) is None:
        what = (
            "names starting with `$` are not supported by the API"
            if slug.startswith("$")
            else f"{quote(slug)} is not a valid field slug"
        )
        return [Violation(("slug",), what, "letters, digits, `_` and `-`", "slug_pattern")]
    if slug in api.RESERVED_FIELD_SLUGS:
        return [
            Violation(
                ("slug",),
                f"`{slug}` is reserved by the API",
                "a slug other than " + ", ".join(sorted(api.RESERVED_FIELD_SLUGS)),
                "reserved_field_slug",
            )
        ]
    builtin = api.CORE_RESOURCE_ATTRIBUTES.get(flow_slug or "", frozenset())
    if slug in builtin:
        return [
            Violation(
                ("slug",),
                f"`{slug}` collides with the built-in `{slug}` attribute of {flow_slug}",
                "a slug other than " + ", ".join(sorted(builtin)),
                "builtin_attribute",
            )
        ]
    return []


def flow_violations(attrs: Mapping[str, Any]) -> list[Violation]:
    """A flow's name and slug (3.2); the attribute types are the request parser's business."""
    found = name_violations(attrs.get("name"))
    if isinstance(attrs.get("slug"), str):
        found += flow_slug_violations(attrs["slug"])
    return found


def field_count_violations(count: int) -> list[Violation]:
    """4.2: at most 100 fields per flow."""
    if count <= api.MAX_FIELDS_PER_FLOW:
        return []
    return [
        Violation(
            ("fields",),
            f"{count} fields in one flow",
            f"at most {api.MAX_FIELDS_PER_FLOW} fields per flow, the API's limit",
            "too_many_fields",
        )
    ]


def field_violations(
    attrs: Mapping[str, Any],
    flow_slug: str | None,
    flows: Mapping[str, bool] | None,
) -> list[Violation]:
    """Everything about one field's definition (4.2, 4.4, 4.5), in a fixed order.

    `flows` maps the flow slugs a relationship may name to whether they are kept (False: about
    to be deleted); None skips the relationship target check.
    """
    found = name_violations(attrs.get("name"))
    if isinstance(attrs.get("slug"), str):
        found += field_slug_violations(attrs["slug"], flow_slug)
    field_type = attrs.get("field_type")
    found += field_type_violations(field_type, flow_slug, attrs.get("required"))
    if not isinstance(field_type, str) or field_type not in api.FIELD_TYPES_TABLE:
        return found
    rules_found, rules = rule_list_violations(field_type, attrs.get("validation_rules"), flows)
    found += rules_found
    found += default_violations(attrs.get("default"), field_type, rules)
    return found


def field_type_violations(field_type: Any, flow_slug: str | None, required: Any) -> list[Violation]:
    """4.4: a known field type; 4.2: a relationship is not required; 4.5: no relationship in a
    product template."""
    if field_type not in api.FIELD_TYPES_TABLE:
        if not isinstance(field_type, str):
            return []
        return [
            Violation(
                ("field_type",),
                f"unknown value {quote(field_type)}",
                one_of(api.FIELD_TYPES),
                "field_type_unknown",
            )
        ]
    found: list[Violation] = []
    if field_type == "relationship":
        if flow_slug is not None and is_template_slug(flow_slug):
            found.append(
                Violation(
                    ("field_type",),
                    "relationship fields cannot be used in product templates",
                    "string, integer, boolean, float or date (epcc-api.md 4.5)",
                    "template_relationship",
                )
            )
        if required is True:
            found.append(
                Violation(
                    ("required",),
                    "a relationship field cannot be required",
                    "false, which the API requires for relationships",
                    "relationship_required",
                )
            )
    return found


def rule_list_violations(
    field_type: str,
    raw_rules: Any,
    flows: Mapping[str, bool] | None,
    *,
    undeclared_flows_ok: bool = False,
) -> tuple[list[Violation], list[Mapping[str, Any]]]:
    """The rules of a field of `field_type` (4.5); also returns the rule objects that have a
    string type (what a default is checked against).

    `undeclared_flows_ok` (files, checked offline): a relationship target that is not in
    `flows` may be a flow of the live store, so it is no violation unless it looks like a
    misspelling of a known target; `plan` checks it against the store."""
    found: list[Violation] = []
    if raw_rules is None:
        raw_rules = []
    if not isinstance(raw_rules, list):
        return [
            Violation(
                ("validation_rules",), f"got {describe(raw_rules)}", "a list", "rules_not_a_list"
            )
        ], []
    rules: list[Mapping[str, Any]] = []
    seen: set[str] = set()
    relationship_rules = 0
    for index, rule in enumerate(raw_rules):
        path: PathKey = ("validation_rules", index)
        if not isinstance(rule, dict):
            found.append(
                Violation(path, f"got {describe(rule)}", "a rule object", "rule_not_an_object")
            )
            continue
        kind = rule.get("type")
        if not isinstance(kind, str):
            found.append(
                Violation(
                    (*path, "type"),
                    "required key is missing" if kind is None else f"got {describe(kind)}",
                    "a rule type",
                    "rule_type_unknown",
                )
            )
            continue
        if kind in seen:
            found.append(
                Violation(
                    (*path, "type"),
                    f"a second `{kind}` rule",
                    "each rule type once per field",
                    "rule_repeated",
                )
            )
        seen.add(kind)
        rules.append(rule)
        facts = api.RULE_TYPES.get(kind)
        allowed = api.FIELD_TYPES_TABLE[field_type].rules
        if facts is None or kind not in allowed:
            what = (
                f"unknown rule type {quote(kind)}"
                if facts is None
                else f"the `{kind}` rule does not apply to {field_type} fields"
            )
            code = "rule_type_unknown" if facts is None else "rule_not_for_field_type"
            found.append(
                Violation((*path, "type"), what, one_of(allowed) if allowed else "no rules", code)
            )
            continue
        for key in rule:
            if key not in facts.keys:
                found.append(
                    Violation(
                        (*path, key),
                        f"unknown key `{key}`",
                        f"only {', '.join(facts.keys)} in the `{kind}` rule",
                        "rule_key_unknown",
                    )
                )
        if facts.options == "values":
            found += _values_violations(field_type, path, rule.get("options"))
        elif facts.options == "range":
            found += _range_violations(field_type, path, rule.get("options"))
        if facts.target:
            relationship_rules += 1
            if relationship_rules == 2:
                found.append(
                    Violation(
                        (*path, "type"),
                        "a second relationship rule",
                        "one one-to-one or one-to-many rule",
                        "relationship_rule_repeated",
                    )
                )
            found += _target_violations((*path, "to"), rule.get("to"), flows, undeclared_flows_ok)
    if field_type == "relationship" and relationship_rules == 0:
        found.append(
            Violation(
                ("validation_rules",),
                "a relationship field needs a one-to-one or one-to-many rule",
                "a rule such as {type: one-to-many, to: product}",
                "relationship_rule_missing",
            )
        )
    return found, rules


def _values_violations(field_type: str, path: PathKey, options: Any) -> list[Violation]:
    """`enum`: a non-empty list of distinct values of the field's type (4.5)."""
    where = (*path, "options")
    if options is None:
        return [
            Violation(where, "required key is missing", "the rule's options", "options_missing")
        ]
    if not isinstance(options, list):
        return [Violation(where, f"got {describe(options)}", "a list", "options_shape")]
    if not options:
        return [Violation(where, "no options", "at least one option", "options_empty")]
    found: list[Violation] = []
    json_types = api.FIELD_TYPES_TABLE[field_type].json_types
    for index, option in enumerate(options):
        at = (*where, index)
        if not of_type(option, field_type):
            found.append(
                Violation(
                    at,
                    f"got {describe(option)}",
                    f"{type_words(json_types)} for {article(field_type)} field",
                    "option_type",
                )
            )
        elif field_type == "date" and not is_date_text(option):
            found.append(
                Violation(
                    at,
                    f"{quote(option)} is not a date",
                    "YYYY-MM-DD or YYYY-MM-DD HH:MM:SS",
                    "option_date_format",
                )
            )
        elif field_type == "date" and not is_real_date(option):
            found.append(
                Violation(
                    at,
                    f"{quote(option)} is not a real date",
                    "a valid calendar date",
                    "option_date_real",
                )
            )
    repeated = next(
        (v for i, v in enumerate(options) if any(same(v, w) for w in options[:i])), None
    )
    if repeated is not None:
        found.append(
            Violation(
                where,
                f"{quote(repeated)} is listed more than once",
                "each value once",
                "options_repeated",
            )
        )
    return found


def _range_violations(field_type: str, path: PathKey, options: Any) -> list[Violation]:
    """`between`: `{from, to}` of the field's numeric type, from <= to (4.5)."""
    where = (*path, "options")
    if options is None:
        return [
            Violation(where, "required key is missing", "the rule's options", "options_missing")
        ]
    if not isinstance(options, dict):
        return [Violation(where, f"got {describe(options)}", "a mapping", "options_shape")]
    found: list[Violation] = []
    json_types = api.FIELD_TYPES_TABLE[field_type].json_types
    for key in ("from", "to"):
        if key not in options:
            found.append(
                Violation((*where, key), "required key is missing", "a number", "options_missing")
            )
        elif not of_type(options[key], field_type):
            found.append(
                Violation(
                    (*where, key),
                    f"got {describe(options[key])}",
                    type_words(json_types),
                    "option_type",
                )
            )
    for key in options:
        if key not in ("from", "to"):
            found.append(
                Violation(
                    (*where, key), f"unknown key `{key}`", "one of from, to", "rule_key_unknown"
                )
            )
    low: Any = options.get("from")
    high: Any = options.get("to")
    if is_number(low) and is_number(high) and low > high:
        found.append(
            Violation(
                where, f"`from` {low} is greater than `to` {high}", "from <= to", "between_order"
            )
        )
    return found


def _target_violations(
    path: PathKey, to: Any, flows: Mapping[str, bool] | None, undeclared_flows_ok: bool = False
) -> list[Violation]:
    """4.5: `to` names a core resource in singular form, or a flow."""
    if not isinstance(to, str) or not to:
        what = "required key is missing" if to is None else f"got {describe(to)}"
        return [Violation(path, what, "a singular core resource or a flow", "target_missing")]
    if flows is None or to in api.CORE_RELATIONSHIP_TARGETS:
        return []
    if to in api.SINGULAR_OF_CORE_FLOW:
        return [
            Violation(
                path,
                f"`{to}` is a core flow: relationships name the resource in singular form",
                f"`{api.SINGULAR_OF_CORE_FLOW[to]}`",
                "target_plural",
            )
        ]
    if to in flows:
        if not flows[to]:
            return [
                Violation(
                    path,
                    f"the flow `{to}` is marked `state: absent`",
                    "a flow that is kept",
                    "target_absent",
                )
            ]
        return []
    hint = suggest(to, sorted(api.CORE_RELATIONSHIP_TARGETS | set(flows)))
    if undeclared_flows_ok and not hint:
        # Possibly a flow of the live store that these files do not declare (issue 10 item
        # 16): not checkable offline; `plan` checks it against the store.
        return []
    return [
        Violation(
            path,
            f"unknown relationship target `{to}`" + hint,
            "a flow declared in these files or a singular core resource: "
            + ", ".join(sorted(api.CORE_RELATIONSHIP_TARGETS)),
            "target_unknown",
        )
    ]
