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

import errno
import functools
import importlib.resources
import json
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from provisioner import custom_api_config, rules
from provisioner.epcc import flows as api
from provisioner.errors import ConfigError, Diagnostic
from provisioner.gcpause import without_gc
from provisioner.model import (
    FIELD_ATTRIBUTES,
    Field,
    Flow,
    Location,
    State,
)
from provisioner.schema import RENAMED_FROM_PATTERN
from provisioner.schemacheck import Check, compile_schema
from provisioner.yamlload import LoadedDocument, PathKey, load_file

if TYPE_CHECKING:
    # jsonschema ships no type information; it is imported when a document needs its errors
    # (issue 16: a valid document never does, and `validate` starts faster without it).
    from jsonschema import ValidationError  # type: ignore[import-untyped]

SCHEMA_FILE = "provisioner.schema.json"
YAML_SUFFIXES = (".yaml", ".yml")

_RENAMED = re.compile(RENAMED_FROM_PATTERN)  # ours: `old` or `other_flow.old`

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

# ---------------------------------------------------------------------------------------------
# Public interface


@without_gc
def load_desired(paths: Sequence[str | Path]) -> State:
    """The desired `State` declared in `paths` (files or directories of `*.yaml`/`*.yml`).

    Raises `ConfigError` holding every diagnostic when anything is wrong.
    """
    sources, diagnostics = _check(paths)
    if diagnostics:
        raise ConfigError(diagnostics)
    return _build_state(sources)


@without_gc
def check_documents(
    documents: Sequence[tuple[str, LoadedDocument]],
) -> tuple[State | None, list[Diagnostic]]:
    """Check documents loaded already, under the names diagnostics give them (the overlay
    merge builds them): every problem, sorted, and the `State` when there is none."""
    sources, diagnostics = _check_sources(documents)
    return (None if diagnostics else _build_state(sources)), diagnostics


@without_gc
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


_LINK_EXPECTED = "a link to a readable file, or no link"


def _broken_link(path: Path) -> str:
    """Why the symbolic link `path` leads nowhere (dangling, or a loop); "" when it is fine."""
    if not path.is_symlink():
        return ""
    try:
        path.resolve(strict=True)
    except RuntimeError:  # Python 3.11 reports a loop this way
        return "symbolic link loop"
    except OSError as error:
        if error.errno == errno.ELOOP:
            return "symbolic link loop"
        if error.errno == errno.ENOENT:
            return f"broken symbolic link (to {os.readlink(path)}, which does not exist)"
        return f"cannot follow the symbolic link: {error.strerror or error}"
    return ""


def find_yaml_files(paths: Sequence[str | Path]) -> tuple[list[Path], list[Diagnostic]]:
    """The files `paths` name: files as given, directories as their `*.yaml`/`*.yml` files (the
    suffix in any case: `*.YAML` too) in name order (not recursive; hidden files skipped). A
    broken symbolic link or a link loop is a problem naming it, never skipped silently. Each
    file once, in the order given."""
    files: list[Path] = []
    seen: set[Path] = set()
    diagnostics: list[Diagnostic] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = []
            for child in sorted(path.iterdir()):
                if child.name.startswith(".") or child.suffix.lower() not in YAML_SUFFIXES:
                    continue
                broken = _broken_link(child)
                if broken:
                    diagnostics.append(Diagnostic(str(child), 0, 0, "", broken, _LINK_EXPECTED))
                elif child.is_file():
                    found.append(child)
            if not found and not any(d.file.startswith(str(path)) for d in diagnostics):
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
        elif _broken_link(path):
            diagnostics.append(Diagnostic(str(path), 0, 0, "", _broken_link(path), _LINK_EXPECTED))
            found = []
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
def _compiled_check() -> Check | None:
    """The schema compiled once into a fast valid-or-not check (None: jsonschema alone)."""
    return compile_schema(load_schema())


@functools.cache
def _validator() -> Any:
    from jsonschema import (
        Draft202012Validator,
        validators,
    )

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


_quote = rules.quote
_describe = rules.describe
_one_of = rules.one_of
_a = rules.article
_suggest = rules.suggest


def _field_type_at(data: Any, path: PathKey) -> str | None:
    """The field_type of the field that `path` lies in, if it has a valid one."""
    if len(path) < 4 or path[0] != "flows" or path[2] != "fields":
        return None
    try:
        field_type = data["flows"][path[1]]["fields"][path[3]]["field_type"]
    except (KeyError, TypeError, IndexError):
        return None
    return field_type if field_type in api.FIELD_TYPES else None


def _slug_expectation(path: PathKey) -> tuple[str, str]:
    if path == ("custom_apis",):
        return "Custom API slug", "lower-case letters, digits, `_` and `-`, 1 to 63 of them"
    if path[:1] == ("custom_apis",):
        return "Custom API field slug", "1 to 63 characters"
    if path == ("flows",):
        return (
            "flow slug",
            "ASCII letters, digits, `_` and `-`, or a template like `products(book)`",
        )
    return "field slug", "ASCII letters, digits, `_` and `-`"


# --- pass 2: JSON Schema ----------------------------------------------------------------------


def _schema_pass(source: _Source, report: _Report) -> None:
    document = source.document
    # Issue 16: a valid document costs one pass of the compiled check; jsonschema's detailed,
    # located errors are produced only for a document that has some (or a loader problem).
    check = _compiled_check()
    if check is not None and not document.problems and check(document.data):
        return
    for error in _validator().iter_errors(document.data):
        specificity = len(error.absolute_schema_path)
        for path, (line, column), message, expected in _translate(error, document):
            report.add(
                Diagnostic(source.name, line, column, _dotted(path), message, expected),
                specificity,
            )


# The JSON Schema keywords `_translate` words itself (any other gets jsonschema's message and no
# expectation). tests/test_parity.py breaks every constraint of the generated schema and checks
# each error's keyword is here and each diagnostic has an expectation: a schema whose shape
# changes fails that test instead of silently losing our wording.
WORDED_KEYWORDS = frozenset(
    {
        "additionalProperties",
        "required",
        "type",
        "enum",
        "const",
        "pattern",
        "minLength",
        "minItems",
        "maxItems",
        "uniqueItems",
    }
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
        expected = rules.type_words([types] if isinstance(types, str) else types)
        if field_type and (last == "default" or "options" in path):
            expected += f" for {_a(field_type)} field"
        yield path, where, f"got {_describe(instance)}", expected
    elif kind == "enum":
        values = list(error.validator_value)
        if last == "type" and "validation_rules" in path and instance not in api.RULE_TYPES:
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
        if last == "name":
            message = "is blank"
            expected = "a non-empty display name"
        elif last == "default" or field_type == "date":
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
            (v for i, v in enumerate(instance) if any(rules.same(v, w) for w in instance[:i])),
            None,
        )
        yield path, where, f"{_quote(repeated)} is listed more than once", "each value once"
    else:  # a keyword we did not word ourselves: jsonschema's own message
        yield path, where, error.message, ""


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
    duplicate flows need to see every file). The API's rules are `provisioner.rules`; the
    violations the schema already reported (`rules.SCHEMA_CODES`) are left out."""

    # Violations located at their object's key rather than at the offending value.
    _AT_KEY = frozenset(
        {
            "slug_pattern",
            "reserved_flow_slug",
            "reserved_field_slug",
            "builtin_attribute",
            "too_many_fields",
            "between_order",
            "relationship_rule_missing",
        }
    )

    def __init__(self, decls: Sequence[_FlowDecl], report: _Report) -> None:
        self.decls = decls
        self.report = report
        self.by_slug: dict[str, _FlowDecl] = {}
        for decl in decls:
            self.by_slug.setdefault(decl.slug, decl)
        self.renames: dict[tuple[str, str], str] = {}
        # 4.5: relationship targets: the declared flows, and whether each is kept.
        self.targets = {
            slug: decl.raw.get("state") != "absent" for slug, decl in self.by_slug.items()
        }

    def add(
        self, decl: _FlowDecl, path: PathKey, message: str, expected: str, *, value: bool = False
    ) -> None:
        document = decl.source.document
        line, column = document.locate_value(path) if value else document.locate(path)
        self.report.add(
            Diagnostic(decl.source.name, line, column, _dotted(path), message, expected)
        )

    def violations(self, decl: _FlowDecl, base: PathKey, found: Sequence[rules.Violation]) -> None:
        """Reports `found` (paths relative to the object at `base`); a slug's violation is
        located at the object's own key."""
        for violation in found:
            if violation.code in rules.SCHEMA_CODES:
                continue
            relative = () if violation.path == ("slug",) else violation.path
            at_key = violation.code in self._AT_KEY
            self.add(decl, (*base, *relative), violation.what, violation.expected, value=not at_key)

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
        self.violations(decl, decl.path, rules.flow_slug_violations(decl.slug))
        if decl.raw.get("state") == "absent" and api.is_core_flow(decl.slug):
            self.add(
                decl,
                (*decl.path, "state"),
                "core flows cannot be deleted",
                "no `state: absent` on a core flow; the API answers 405",
                value=True,
            )
        # 4.2: the API's limit counts the fields a flow will have; `state: absent` ones go.
        kept = sum(1 for _, raw in decl.fields() if raw.get("state") != "absent")
        self.violations(decl, decl.path, rules.field_count_violations(kept))
        for field_slug, raw in decl.fields():
            self.field(decl, field_slug, raw)

    def field(self, decl: _FlowDecl, slug: str, raw: Mapping[str, Any]) -> None:
        path: PathKey = (*decl.path, "fields", slug)
        self.violations(decl, path, rules.field_slug_violations(slug, decl.slug))
        absent = raw.get("state") == "absent"
        field_type = raw.get("field_type")
        self.violations(
            decl, path, rules.field_type_violations(field_type, decl.slug, raw.get("required"))
        )
        self.renamed_from(decl, slug, raw, absent)
        if absent or not isinstance(field_type, str) or field_type not in api.FIELD_TYPES_TABLE:
            return
        found, well_formed = rules.rule_list_violations(
            field_type, raw.get("validation_rules"), self.targets, undeclared_flows_ok=True
        )
        self.violations(decl, path, found)
        self.violations(
            decl, path, rules.default_violations(raw.get("default"), field_type, well_formed)
        )

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


def _split_rename(flow_slug: str, item: str) -> tuple[str, str]:
    """`old` -> (this flow, old); `other.old` -> (other, old)."""
    if "." in item:
        other, old = item.rsplit(".", 1)
        return other, old
    return flow_slug, item


def _semantic_pass(sources: Sequence[_Source], report: _Report) -> None:
    _Semantics(_flow_decls(sources), report).run()
    # Issue 14: the `custom_apis:` key, with the rules the local store uses.
    documents = [(s.name, s.document) for s in sources]
    custom_api_config.check(documents, report.add, report.diagnostics())


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
    custom_apis = custom_api_config.build([(s.name, s.document) for s in sources])
    return State(flows=flows, custom_apis=custom_apis)


# Plain attributes copied as written; validation rules are rebuilt as fresh dicts.
_FIELD_KEYS = tuple(name for name in FIELD_ATTRIBUTES if name != "validation_rules")


def _build_field(
    decl: _FlowDecl, slug: str, raw: Mapping[str, Any], where: tuple[int, int]
) -> Field:
    attributes: dict[str, Any] = {k: raw[k] for k in _FIELD_KEYS if k in raw}
    float_field = raw.get("field_type") == "float"
    if float_field and rules.is_number(attributes.get("default")):
        # Values of a float field are floats: the API echoes 5.0 for 5, and the planner must
        # not see a difference between the two (4.3).
        attributes["default"] = float(attributes["default"])
    built_rules = tuple(_build_rule(rule, float_field) for rule in raw.get("validation_rules", ()))
    renamed = tuple(
        old if other == decl.slug else f"{other}.{old}"
        for other, old in (_split_rename(decl.slug, item) for item in raw.get("renamed_from", ()))
    )
    return Field(
        slug=slug,
        validation_rules=built_rules,
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
