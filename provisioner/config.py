"""Desired state from YAML: load files, check them completely, and build a `State`.

The format is `flows: {<flow_slug>: {..., fields: {<field_slug>: {...}}}}` with attributes named
as the API names them (README "Writing flows in YAML"). Checking happens in three passes, and
every problem of every pass is reported, sorted, each located at `file:line:col` with the dotted
YAML path and what was expected:

1. the safe loader (`provisioner.yamlload`): bytes, YAML syntax, duplicate keys, tags, bombs;
2. the JSON Schema (`schemas/provisioner.schema.json`, draft 2020-12): keys, types, enums, slug
   patterns and which rules each `field_type` admits;
3. semantic checks the schema cannot express: reserved slugs (epcc-api.md 3.2, 4.2), fields
   shadowing a core resource's attributes, defaults that break their own rules (4.2 "you must
   ensure that your default field values comply with your validation rules"), `between` ranges,
   relationship targets (4.5), renames, core flows marked absent (3.4), and a flow declared twice.

Only when nothing is wrong is a `State` built, with the API's defaults (the model's dataclass
defaults) for everything left out. This module is pure: no network, no CLI libraries.
"""

from __future__ import annotations

import datetime
import difflib
import functools
import importlib.resources
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# jsonschema ships no type information; the few names we use are typed through Any below.
from jsonschema import (  # type: ignore[import-untyped]
    Draft202012Validator,
    ValidationError,
    validators,
)

from provisioner.errors import ConfigError, Diagnostic
from provisioner.model import (
    CORE_FLOW_SLUGS,
    CORE_RELATIONSHIP_TARGETS,
    CORE_RESOURCE_ATTRIBUTES,
    FIELD_ATTRIBUTES,
    FIELD_TYPES,
    MAX_FIELDS_PER_FLOW,
    RESERVED_FIELD_SLUGS,
    RESERVED_FLOW_SLUGS,
    Field,
    Flow,
    Location,
    State,
)
from provisioner.yamlload import LoadedDocument, PathKey, load_file

SCHEMA_FILE = "provisioner.schema.json"
YAML_SUFFIXES = (".yaml", ".yml")

RULE_TYPES = ("enum", "email", "slug", "uuid", "between", "one-to-many", "one-to-one")  # 4.5
RELATIONSHIP_RULES = ("one-to-many", "one-to-one")
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?: (\d{2}):(\d{2}):(\d{2}))?$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_SLUG = re.compile(r"^[A-Za-z0-9_-]+$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_TEMPLATE = re.compile(r"^[A-Za-z0-9_-]+\([A-Za-z0-9_-]+\)$")  # PXM `products(book)` (3.4)

# 4.5: relationships name a core resource in singular form; these are the plural core flows
# people write by mistake, with the singular they meant.
_SINGULAR_OF_CORE_FLOW: Mapping[str, str] = {
    "accounts": "account",
    "addresses": "address",
    "brands": "brand",
    "carts": "cart",
    "cart_items": "cart_item",
    "categories": "category",
    "collections": "collection",
    "customers": "customer",
    "orders": "order",
    "order_items": "order_item",
    "products": "product",
    "promotions": "promotion",
}

# What a missing required key should have held, for "required key is missing" diagnostics.
_EXPECTED_FOR_KEY: Mapping[str, str] = {
    "flows": "a mapping of flow slugs to flows",
    "name": "a non-empty display name",
    "field_type": "one of " + ", ".join(FIELD_TYPES),
    "type": "a rule type",
    "options": "the rule's options",
    "from": "a number",
    "to": "a singular core resource or a flow declared in these files",  # `between`: below
}

_TYPE_WORDS: Mapping[str, str] = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
    "object": "a mapping",
    "array": "a list",
}


# ---------------------------------------------------------------------------------------------
# Public interface


def load_desired(paths: Sequence[str | Path]) -> State:
    """The desired `State` declared in `paths` (files or directories of `*.yaml`/`*.yml`).

    Raises `ConfigError` holding every diagnostic when anything is wrong.
    """
    sources, diagnostics = _check(paths)
    if diagnostics:
        raise ConfigError(diagnostics)
    return _build_state(sources)


def check_documents(
    documents: Sequence[tuple[str, LoadedDocument]],
) -> tuple[State | None, list[Diagnostic]]:
    """Check documents loaded already, under the names diagnostics give them (the overlay
    merge builds them): every problem, sorted, and the `State` when there is none."""
    sources, diagnostics = _check_sources(documents)
    return (None if diagnostics else _build_state(sources)), diagnostics


def validate_paths(paths: Sequence[str | Path]) -> list[Diagnostic]:
    """Every problem in `paths`, sorted; empty when the files are valid. Never raises for bad
    input (unreadable, binary or malformed files are diagnostics too)."""
    return _check(paths)[1]


def load_schema() -> dict[str, Any]:
    """The JSON Schema of the YAML format (a fresh copy each call)."""
    loaded: dict[str, Any] = json.loads(_schema_text())
    return loaded


def schema_text() -> str:
    """The JSON Schema as shipped (the exact file text)."""
    return _schema_text()


def find_yaml_files(paths: Sequence[str | Path]) -> tuple[list[Path], list[Diagnostic]]:
    """The files `paths` name: files as given, directories as their `*.yaml`/`*.yml` files in
    name order (not recursive; hidden files skipped). Each file once, in the order given."""
    files: list[Path] = []
    seen: set[Path] = set()
    diagnostics: list[Diagnostic] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(
                child
                for child in path.iterdir()
                if child.suffix in YAML_SUFFIXES
                and not child.name.startswith(".")
                and child.is_file()
            )
            if not found:
                diagnostics.append(
                    Diagnostic(
                        str(path),
                        0,
                        0,
                        "",
                        "no *.yaml or *.yml files in this directory",
                        "YAML files (subdirectories are not read)",
                    )
                )
        elif path.exists():
            found = [path]
        else:
            diagnostics.append(
                Diagnostic(str(path), 0, 0, "", "no such file or directory", "a file or directory")
            )
            found = []
        for file in found:
            resolved = file.resolve()
            if resolved not in seen:
                seen.add(resolved)
                files.append(file)
    return files, diagnostics


# ---------------------------------------------------------------------------------------------
# Schema


@functools.cache
def _schema_text() -> str:
    # Installed: the wheel force-includes the schema as provisioner/schemas/ (pyproject.toml).
    packaged = importlib.resources.files("provisioner") / "schemas" / SCHEMA_FILE
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    # Source tree or editable install: the repository's schemas/ directory.
    source = Path(__file__).resolve().parent.parent / "schemas" / SCHEMA_FILE
    return source.read_text(encoding="utf-8")


def _strict_integer(_checker: Any, instance: Any) -> bool:
    # JSON Schema counts 1.0 as an integer; the API's integer fields want a JSON integer (4.4).
    return isinstance(instance, int) and not isinstance(instance, bool)


@functools.cache
def _validator() -> Any:
    cls = validators.extend(
        Draft202012Validator,
        type_checker=Draft202012Validator.TYPE_CHECKER.redefine("integer", _strict_integer),
    )
    return cls(load_schema())


# ---------------------------------------------------------------------------------------------
# The three passes


@dataclass(frozen=True)
class _Source:
    """One loaded file, under the name diagnostics use for it."""

    name: str
    document: LoadedDocument


class _Report:
    """Collects diagnostics for one file; keeps the most specific one per place and path."""

    def __init__(self) -> None:
        self._best: dict[tuple[str, int, int, str], tuple[int, Diagnostic]] = {}

    def add(self, diagnostic: Diagnostic, specificity: int = 0) -> None:
        key = (diagnostic.file, diagnostic.line, diagnostic.column, diagnostic.path)
        current = self._best.get(key)
        if current is None or specificity > current[0]:
            self._best[key] = (specificity, diagnostic)

    def diagnostics(self) -> list[Diagnostic]:
        return sorted(diagnostic for _, diagnostic in self._best.values())


def _check(paths: Sequence[str | Path]) -> tuple[list[_Source], list[Diagnostic]]:
    files, diagnostics = find_yaml_files(paths)
    return _check_sources([(str(file), load_file(file)) for file in files], diagnostics)


def _check_sources(
    documents: Sequence[tuple[str, LoadedDocument]], diagnostics: Sequence[Diagnostic] = ()
) -> tuple[list[_Source], list[Diagnostic]]:
    report = _Report()
    for diagnostic in diagnostics:
        report.add(diagnostic)
    sources: list[_Source] = []
    for name, document in documents:
        source = _Source(name, document)
        sources.append(source)
        for problem in source.document.problems:
            report.add(
                Diagnostic(
                    source.name,
                    problem.line,
                    problem.column,
                    _dotted(problem.path),
                    problem.message,
                    problem.expected,
                )
            )
        if source.document.data is not None:
            _schema_pass(source, report)
    _semantic_pass(sources, report)
    return sources, report.diagnostics()


def _dotted(path: PathKey) -> str:
    return ".".join(str(part) for part in path)


def _quote(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int):
        return f"the integer {value}"
    if isinstance(value, float):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the string {_quote(value)}"
    if isinstance(value, dict):
        return "a mapping"
    return "a list"


def _one_of(values: Sequence[Any]) -> str:
    words = [str(v) if isinstance(v, str) else _quote(v) for v in values]
    return "one of " + ", ".join(words) if len(words) > 1 else (words[0] if words else "nothing")


def _a(word: str) -> str:
    return f"{'an' if word[:1] in 'aeiou' else 'a'} {word}"


def _suggest(word: str, candidates: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.75)
    return f"; did you mean `{close[0]}`?" if close else ""


def _field_type_at(data: Any, path: PathKey) -> str | None:
    """The field_type of the field that `path` lies in, if it has a valid one."""
    if len(path) < 4 or path[0] != "flows" or path[2] != "fields":
        return None
    try:
        field_type = data["flows"][path[1]]["fields"][path[3]]["field_type"]
    except (KeyError, TypeError, IndexError):
        return None
    return field_type if field_type in FIELD_TYPES else None


def _slug_expectation(path: PathKey) -> tuple[str, str]:
    if path == ("flows",):
        return "flow slug", "letters, digits, `_` and `-`, or a template like `products(book)`"
    return "field slug", "letters, digits, `_` and `-`"


# --- pass 2: JSON Schema ----------------------------------------------------------------------


def _schema_pass(source: _Source, report: _Report) -> None:
    document = source.document
    for error in _validator().iter_errors(document.data):
        specificity = len(error.absolute_schema_path)
        for path, (line, column), message, expected in _translate(error, document):
            report.add(
                Diagnostic(source.name, line, column, _dotted(path), message, expected),
                specificity,
            )


def _translate(
    error: ValidationError, document: LoadedDocument
) -> Iterator[tuple[PathKey, tuple[int, int], str, str]]:
    """Our wording for one JSON Schema error: (path, position, what is wrong, expected)."""
    path: PathKey = tuple(error.absolute_path)
    instance = error.instance
    kind = error.validator
    schema = error.schema if isinstance(error.schema, dict) else {}
    data = document.data

    if "propertyNames" in error.absolute_schema_path:
        key_path = (*path, str(instance))
        what, expected = _slug_expectation(path)
        if str(instance).startswith("$"):
            message = "names starting with `$` are not supported by the API"
        else:
            message = f"{_quote(instance)} is not a valid {what}"
        yield key_path, document.locate(key_path), message, expected
        return

    if kind == "additionalProperties":
        allowed = sorted(schema.get("properties", {}))
        for key in instance:
            if key in allowed:
                continue
            key_path = (*path, key)
            if "validation_rules" in path and "type" in instance:
                expected = f"only {', '.join(allowed)} in the `{instance['type']}` rule"
            else:
                expected = _one_of(allowed)
            message = f"unknown key `{key}`{_suggest(key, allowed)}"
            yield key_path, document.locate(key_path), message, expected
        return

    if kind == "required":
        for key in error.validator_value:
            if isinstance(instance, dict) and key not in instance:
                expected = _EXPECTED_FOR_KEY.get(key, "a value")
                if path and path[-1] == "options" and key == "to":
                    expected = "a number"
                yield (*path, key), document.locate(path), "required key is missing", expected
        return

    container = isinstance(instance, dict | list)
    where = document.locate(path) if container else document.locate_value(path)
    field_type = _field_type_at(data, path)
    last = path[-1] if path else None

    if kind == "type":
        types = error.validator_value
        expected = " or ".join(
            _TYPE_WORDS.get(t, t) for t in ([types] if isinstance(types, str) else types)
        )
        if field_type and (last == "default" or "options" in path):
            expected += f" for {_a(field_type)} field"
        yield path, where, f"got {_describe(instance)}", expected
    elif kind == "enum":
        values = list(error.validator_value)
        if last == "type" and "validation_rules" in path and instance not in RULE_TYPES:
            message = f"unknown rule type {_quote(instance)}"
        elif last == "type" and "validation_rules" in path and field_type:
            message = f"the `{instance}` rule does not apply to {field_type} fields"
        else:
            message = f"unknown value {_quote(instance)}"
            if isinstance(instance, str):
                message += _suggest(instance, [str(v) for v in values])
        yield path, where, message, _one_of(values)
    elif kind == "const":
        if last == "required" and field_type == "relationship":
            yield (
                path,
                where,
                "a relationship field cannot be required",
                "false, which the API requires for relationships",
            )
        else:
            yield path, where, f"got {_describe(instance)}", _quote(error.validator_value)
    elif kind == "pattern":
        if last == "default" or field_type == "date":
            message = f"{_quote(instance)} is not a date"
            expected = "YYYY-MM-DD or YYYY-MM-DD HH:MM:SS"
        elif "renamed_from" in path:
            message = f"{_quote(instance)} is not a former field slug"
            expected = "`old_slug` or `other_flow.old_slug`"
        else:
            message = f"{_quote(instance)} does not match the pattern"
            expected = f"a string matching {error.validator_value}"
        if isinstance(instance, str) and instance.startswith("$"):
            message = "names starting with `$` are not supported by the API"
        yield path, where, message, expected
    elif kind == "minLength":
        yield path, where, "is empty", "a non-empty string"
    elif kind == "minItems":
        if last == "options":
            yield path, where, "no options", "at least one option"
        else:
            yield path, where, "is an empty list", "at least one item, or leave the key out"
    elif kind == "maxItems":
        what = f"a {field_type} field" if field_type else "this field"
        yield path, where, f"{what} takes no validation rules", "no validation_rules"
    elif kind == "uniqueItems":
        repeated = next(
            (v for i, v in enumerate(instance) if any(_same(v, w) for w in instance[:i])), None
        )
        yield path, where, f"{_quote(repeated)} is listed more than once", "each value once"
    else:  # a keyword we did not word ourselves: jsonschema's own message
        yield path, where, error.message, ""


def _same(a: Any, b: Any) -> bool:
    return (type(a) is type(b) and a == b) or (_is_number(a) and _is_number(b) and a == b)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# --- pass 3: semantic checks ------------------------------------------------------------------


@dataclass(frozen=True)
class _FlowDecl:
    """A flow as written in one file (only well-formed mappings take part in checks)."""

    source: _Source
    slug: str
    raw: Mapping[str, Any]

    @property
    def path(self) -> PathKey:
        return ("flows", self.slug)

    def fields(self) -> Iterator[tuple[str, Mapping[str, Any]]]:
        fields = self.raw.get("fields")
        if isinstance(fields, dict):
            for slug, raw in fields.items():
                if isinstance(raw, dict):
                    yield slug, raw


def _flow_decls(sources: Sequence[_Source]) -> list[_FlowDecl]:
    decls: list[_FlowDecl] = []
    for source in sources:
        data = source.document.data
        flows = data.get("flows") if isinstance(data, dict) else None
        if isinstance(flows, dict):
            decls.extend(
                _FlowDecl(source, slug, raw) for slug, raw in flows.items() if isinstance(raw, dict)
            )
    return decls


class _Semantics:
    """The checks beyond the schema, across all files (relationship targets, renames and
    duplicate flows need to see every file)."""

    def __init__(self, decls: Sequence[_FlowDecl], report: _Report) -> None:
        self.decls = decls
        self.report = report
        self.by_slug: dict[str, _FlowDecl] = {}
        for decl in decls:
            self.by_slug.setdefault(decl.slug, decl)
        self.renames: dict[tuple[str, str], str] = {}

    def add(
        self, decl: _FlowDecl, path: PathKey, message: str, expected: str, *, value: bool = False
    ) -> None:
        document = decl.source.document
        line, column = document.locate_value(path) if value else document.locate(path)
        self.report.add(
            Diagnostic(decl.source.name, line, column, _dotted(path), message, expected)
        )

    def run(self) -> None:
        for decl in self.decls:
            self.flow(decl)

    def flow(self, decl: _FlowDecl) -> None:
        first = self.by_slug[decl.slug]
        if first is not decl:
            line, column = first.source.document.locate(first.path)
            self.add(
                decl,
                decl.path,
                f"flow `{decl.slug}` is also declared at {first.source.name}:{line}:{column}",
                "each flow declared in one place",
            )
        if decl.slug in RESERVED_FLOW_SLUGS:
            self.add(
                decl,
                decl.path,
                f"`{decl.slug}` is reserved by the API (a singular resource name)",
                "another slug; to extend a core resource use its plural slug, e.g. `customers`",
            )
        if decl.raw.get("state") == "absent" and decl.slug in CORE_FLOW_SLUGS:
            self.add(
                decl,
                (*decl.path, "state"),
                "core flows cannot be deleted",
                "no `state: absent` on a core flow; the API answers 405",
                value=True,
            )
        # 4.2: the API's limit counts the fields a flow will have; `state: absent` ones go.
        kept = sum(1 for _, raw in decl.fields() if raw.get("state") != "absent")
        if kept > MAX_FIELDS_PER_FLOW:
            self.add(
                decl,
                (*decl.path, "fields"),
                f"{kept} fields in one flow",
                f"at most {MAX_FIELDS_PER_FLOW} fields per flow, the API's limit",
            )
        for field_slug, raw in decl.fields():
            self.field(decl, field_slug, raw)

    def field(self, decl: _FlowDecl, slug: str, raw: Mapping[str, Any]) -> None:
        path: PathKey = (*decl.path, "fields", slug)
        if slug in RESERVED_FIELD_SLUGS:
            self.add(
                decl,
                path,
                f"`{slug}` is reserved by the API",
                "a slug other than " + ", ".join(sorted(RESERVED_FIELD_SLUGS)),
            )
        builtin = CORE_RESOURCE_ATTRIBUTES.get(decl.slug, frozenset())
        if slug in builtin:
            self.add(
                decl,
                path,
                f"`{slug}` collides with the built-in `{slug}` attribute of {decl.slug}",
                "a slug other than " + ", ".join(sorted(builtin)),
            )
        absent = raw.get("state") == "absent"
        field_type = raw.get("field_type")
        if field_type == "relationship" and _TEMPLATE.match(decl.slug):
            self.add(
                decl,
                (*path, "field_type"),
                "relationship fields cannot be used in product templates",
                "string, integer, boolean, float or date (epcc-api.md 4.5)",
                value=True,
            )
        self.renamed_from(decl, slug, raw, absent)
        if absent or field_type not in FIELD_TYPES:
            return
        rules = self.rules(decl, path, field_type, raw.get("validation_rules"))
        if "default" in raw and raw["default"] is not None:
            self.default(decl, path, field_type, raw["default"], rules)

    def rules(
        self, decl: _FlowDecl, path: PathKey, field_type: str, raw_rules: Any
    ) -> list[Mapping[str, Any]]:
        """Checks each rule; returns the well-formed ones (for the default's check)."""
        rules: list[Mapping[str, Any]] = []
        if not isinstance(raw_rules, list):
            raw_rules = []
        seen: set[str] = set()
        relationship_rules = 0
        for index, rule in enumerate(raw_rules):
            if not isinstance(rule, dict) or not isinstance(rule.get("type"), str):
                continue
            rule_path: PathKey = (*path, "validation_rules", index)
            kind = rule["type"]
            if kind in seen:
                self.add(
                    decl,
                    (*rule_path, "type"),
                    f"a second `{kind}` rule",
                    "each rule type once per field",
                    value=True,
                )
            seen.add(kind)
            rules.append(rule)
            if kind == "between":
                self.between(decl, rule_path, rule.get("options"))
            elif kind == "enum" and field_type == "date":
                for option_index, option in enumerate(_as_list(rule.get("options"))):
                    if isinstance(option, str) and _DATE.match(option) and not _real_date(option):
                        self.add(
                            decl,
                            (*rule_path, "options", option_index),
                            f"{_quote(option)} is not a real date",
                            "a valid calendar date",
                            value=True,
                        )
            elif kind in RELATIONSHIP_RULES and field_type == "relationship":
                relationship_rules += 1
                if relationship_rules == 2:
                    self.add(
                        decl,
                        (*rule_path, "type"),
                        "a second relationship rule",
                        "one one-to-one or one-to-many rule",
                        value=True,
                    )
                self.target(decl, (*rule_path, "to"), rule.get("to"))
        if field_type == "relationship" and relationship_rules == 0:
            self.add(
                decl,
                (*path, "validation_rules"),
                "a relationship field needs a one-to-one or one-to-many rule",
                "a rule such as {type: one-to-many, to: product}",
            )
        return rules

    def between(self, decl: _FlowDecl, rule_path: PathKey, options: Any) -> None:
        if not isinstance(options, dict):
            return
        low: Any = options.get("from")
        high: Any = options.get("to")
        if _is_number(low) and _is_number(high) and low > high:
            self.add(
                decl,
                (*rule_path, "options"),
                f"`from` {low} is greater than `to` {high}",
                "from <= to",
            )

    def target(self, decl: _FlowDecl, path: PathKey, to: Any) -> None:
        if not isinstance(to, str) or not to or to in CORE_RELATIONSHIP_TARGETS:
            return
        known = sorted(CORE_RELATIONSHIP_TARGETS | set(self.by_slug))
        if to in _SINGULAR_OF_CORE_FLOW:
            singular = _SINGULAR_OF_CORE_FLOW[to]
            self.add(
                decl,
                path,
                f"`{to}` is a core flow: relationships name the resource in singular form",
                f"`{singular}`",
                value=True,
            )
        elif to in self.by_slug:
            if self.by_slug[to].raw.get("state") == "absent":
                self.add(
                    decl,
                    path,
                    f"the flow `{to}` is marked `state: absent`",
                    "a flow that is kept",
                    value=True,
                )
        else:
            self.add(
                decl,
                path,
                f"unknown relationship target `{to}`{_suggest(to, known)}",
                "a flow declared in these files or a singular core resource: "
                + ", ".join(sorted(CORE_RELATIONSHIP_TARGETS)),
                value=True,
            )

    def default(
        self,
        decl: _FlowDecl,
        path: PathKey,
        field_type: str,
        default: Any,
        rules: Sequence[Mapping[str, Any]],
    ) -> None:
        default_path = (*path, "default")
        if not _of_type(default, field_type):
            return  # the schema already said so
        if field_type == "date" and _DATE.match(default) and not _real_date(default):
            self.add(
                decl,
                default_path,
                f"{_quote(default)} is not a real date",
                "a valid calendar date",
                value=True,
            )
            return
        for rule in rules:
            problem = _breaks_rule(default, rule)
            if problem is not None:
                message, expected = problem
                self.add(decl, default_path, message, expected, value=True)

    def renamed_from(
        self, decl: _FlowDecl, slug: str, raw: Mapping[str, Any], absent: bool
    ) -> None:
        items = raw.get("renamed_from")
        if not isinstance(items, list):
            return
        path: PathKey = (*decl.path, "fields", slug, "renamed_from")
        if absent:
            self.add(
                decl,
                path,
                "an absent field cannot be renamed",
                "either `state: absent` or `renamed_from`",
            )
            return
        for index, item in enumerate(items):
            if not isinstance(item, str) or not _RENAMED.match(item):
                continue
            item_path = (*path, index)
            from_flow, old = _split_rename(decl.slug, item)
            if from_flow == decl.slug and old == slug:
                self.add(
                    decl,
                    item_path,
                    "a field cannot be renamed from its own slug",
                    "a former slug",
                    value=True,
                )
                continue
            owner = self.by_slug.get(from_flow)
            if owner is not None and any(s == old for s, _ in owner.fields()):
                self.add(
                    decl,
                    item_path,
                    f"`{old}` is still declared in flow `{from_flow}`",
                    "a slug no longer declared, since a rename removes the old one",
                    value=True,
                )
                continue
            claimed = self.renames.setdefault((from_flow, old), f"{decl.slug}.{slug}")
            if claimed != f"{decl.slug}.{slug}":
                self.add(
                    decl,
                    item_path,
                    f"`{from_flow}.{old}` is already renamed to `{claimed}`",
                    "each former slug renamed once",
                    value=True,
                )


_RENAMED = re.compile(r"^([A-Za-z0-9_-]+(\([A-Za-z0-9_-]+\))?\.)?[A-Za-z0-9_-]+$")


def _split_rename(flow_slug: str, item: str) -> tuple[str, str]:
    """`old` -> (this flow, old); `other.old` -> (other, old)."""
    if "." in item:
        other, old = item.rsplit(".", 1)
        return other, old
    return flow_slug, item


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _real_date(text: str) -> bool:
    match = _DATE.match(text)
    if match is None:
        return False
    parts = [int(p) for p in match.groups() if p is not None]
    try:
        datetime.datetime(*parts)  # type: ignore[arg-type]
    except ValueError:
        return False
    return True


def _of_type(value: Any, field_type: str) -> bool:
    if field_type in ("string", "date"):
        return isinstance(value, str)
    if field_type == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if field_type == "float":
        return _is_number(value)
    if field_type == "boolean":
        return isinstance(value, bool)
    return False


def _breaks_rule(value: Any, rule: Mapping[str, Any]) -> tuple[str, str] | None:
    """(what is wrong, expected) when `value` breaks `rule`, else None."""
    kind = rule.get("type")
    if kind == "enum":
        options = _as_list(rule.get("options"))
        if options and not any(_same(value, option) for option in options):
            return f"{_quote(value)} is not one of the enum options", _one_of(options)
    elif kind == "between":
        between = rule.get("options")
        if isinstance(between, dict) and _is_number(value):
            low, high = between.get("from"), between.get("to")
            if _is_number(low) and _is_number(high) and not low <= value <= high:
                return f"{value} is outside the between range", f"a value from {low} to {high}"
    elif kind == "email" and isinstance(value, str) and not _EMAIL.match(value):
        return (
            f"{_quote(value)} is not an email address",
            "an email address, as the field has an `email` rule",
        )
    elif kind == "slug" and isinstance(value, str) and not _SLUG.match(value):
        return (
            f"{_quote(value)} is not a slug",
            "letters, digits, `-` and `_` only, as the field has a `slug` rule",
        )
    elif kind == "uuid" and isinstance(value, str) and not _is_uuid(value):
        return (
            f"{_quote(value)} is not a UUID",
            "a UUID, as the field has a `uuid` rule",
        )
    return None


def _is_uuid(text: str) -> bool:
    return _UUID.match(text) is not None


def _semantic_pass(sources: Sequence[_Source], report: _Report) -> None:
    _Semantics(_flow_decls(sources), report).run()


# ---------------------------------------------------------------------------------------------
# Building the State


_FLOW_KEYS = ("name", "description", "enabled", "prune")


def _build_state(sources: Sequence[_Source]) -> State:
    flows: dict[str, Flow] = {}
    for decl in _flow_decls(sources):
        document = decl.source.document
        fields = {
            slug: _build_field(decl, slug, raw, document.locate((*decl.path, "fields", slug)))
            for slug, raw in decl.fields()
        }
        attributes = {k: decl.raw[k] for k in _FLOW_KEYS if k in decl.raw}
        flows[decl.slug] = Flow(
            slug=decl.slug,
            fields=fields,
            absent=decl.raw.get("state") == "absent",
            location=_location(decl.source.name, document.locate(decl.path)),
            **attributes,
        )
    return State(flows=flows)


# Plain attributes copied as written; validation rules are rebuilt as fresh dicts.
_FIELD_KEYS = tuple(name for name in FIELD_ATTRIBUTES if name != "validation_rules")


def _build_field(
    decl: _FlowDecl, slug: str, raw: Mapping[str, Any], where: tuple[int, int]
) -> Field:
    attributes: dict[str, Any] = {k: raw[k] for k in _FIELD_KEYS if k in raw}
    float_field = raw.get("field_type") == "float"
    if float_field and _is_number(attributes.get("default")):
        # Values of a float field are floats: the API echoes 5.0 for 5, and the planner must
        # not see a difference between the two (4.3).
        attributes["default"] = float(attributes["default"])
    rules = tuple(_build_rule(rule, float_field) for rule in raw.get("validation_rules", ()))
    renamed = tuple(
        old if other == decl.slug else f"{other}.{old}"
        for other, old in (_split_rename(decl.slug, item) for item in raw.get("renamed_from", ()))
    )
    return Field(
        slug=slug,
        validation_rules=rules,
        absent=raw.get("state") == "absent",
        renamed_from=renamed,
        location=_location(decl.source.name, where),
        **attributes,
    )


def _build_rule(rule: Mapping[str, Any], float_field: bool) -> dict[str, Any]:
    """A rule exactly in the API's shape (4.5), as a fresh dict."""
    built: dict[str, Any] = json.loads(json.dumps(rule))
    if float_field:
        options = built.get("options")
        if isinstance(options, list):
            built["options"] = [float(v) for v in options]
        elif isinstance(options, dict):
            built["options"] = {k: float(v) for k, v in options.items()}
    return built


def _location(file: str, where: tuple[int, int]) -> Location:
    return Location(file, where[0], where[1])
