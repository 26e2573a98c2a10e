"""The `custom_apis:` key of the YAML: checks beyond the JSON Schema, and the desired state.

`config` calls `check` in its semantic pass and `build` once nothing is wrong. The checks are
the ones the local store applies (`provisioner.custom_api_rules`, over the facts in
`provisioner.epcc.custom_apis`), run on each declaration turned into the API's body, and each
violation located at its YAML place like the flows' ones: slug and `api_type` patterns,
reserved field slugs, lengths and ranges, `validation` only for the field's own type,
`min <= max`, RE2 regexes, `json_schema` (a valid 2020-12 schema, no external `$ref`, at most
8 KiB), one `use_as_url_slug` per API (a unique string allowing no null), parents that are
declared or the API location (a parent these files do not declare is checked against the
store by `plan`), at most 2 deep, no cycles; `api_type` unique across the files; a Custom API
declared in one place; `renamed_from` as for flows. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from provisioner import custom_api_rules as rules
from provisioner.custom_api_model import CustomApi, CustomField, canonical_validation
from provisioner.epcc import custom_apis as facts
from provisioner.errors import Diagnostic
from provisioner.model import Location, State
from provisioner.rules import Violation
from provisioner.yamlload import LoadedDocument, PathKey

Add = Callable[[Diagnostic], None]
# (file, dotted path) of the places the earlier passes reported already: a value of the wrong
# type is reported once, by the JSON Schema, not again by the API's rules.
Taken = frozenset[tuple[str, str]]

_API_SLUG = re.compile(facts.API_SLUG_PATTERN)
# Reported by the JSON Schema already (its wording is located the same way).
_SCHEMA_CODES = frozenset({"required", "unknown_attribute", "field_type_invalid"})
_API_KEYS = ("name", "description", "api_type", "allow_upserts", "presentation")
_FIELD_KEYS = ("name", "description", "field_type", "use_as_url_slug", "presentation", "validation")


@dataclass(frozen=True)
class _Decl:
    """A Custom API as written in one file (well-formed mappings only)."""

    file: str
    document: LoadedDocument
    slug: str
    raw: Mapping[str, Any]
    taken: Taken = frozenset()

    @property
    def path(self) -> PathKey:
        return ("custom_apis", self.slug)

    @property
    def absent(self) -> bool:
        return self.raw.get("state") == "absent"

    def fields(self) -> Iterator[tuple[str, Mapping[str, Any]]]:
        fields = self.raw.get("fields")
        if isinstance(fields, dict):
            for slug, raw in fields.items():
                if isinstance(slug, str) and isinstance(raw, dict):
                    yield slug, raw

    def report(self, add: Add, path: PathKey, what: str, expected: str, *, key: bool) -> None:
        line, column = self.document.locate(path) if key else self.document.locate_value(path)
        dotted = ".".join(str(part) for part in path)
        add(Diagnostic(self.file, line, column, dotted, what, expected))

    def violations(self, add: Add, base: PathKey, found: Sequence[Violation]) -> None:
        """`found` relative to the object at `base`; a slug's violation goes to its key."""
        for violation in found:
            if violation.code in _SCHEMA_CODES:
                continue
            at_key = violation.path in (("slug",), ())
            relative = () if violation.path == ("slug",) else violation.path
            dotted = ".".join(str(part) for part in (*base, *relative))
            if any((self.file, dotted[: len(p)]) in self.taken for p in _prefixes(dotted)):
                continue
            self.report(add, (*base, *relative), violation.what, violation.expected, key=at_key)


def _prefixes(dotted: str) -> list[str]:
    """`a.b.c` -> [`a.b.c`, `a.b`, `a`]: a problem reported at a parent covers its parts."""
    parts = dotted.split(".")
    return [".".join(parts[:n]) for n in range(len(parts), 0, -1)]


def declarations(
    documents: Sequence[tuple[str, LoadedDocument]], taken: Taken = frozenset()
) -> list[_Decl]:
    found: list[_Decl] = []
    for name, document in documents:
        data = document.data
        apis = data.get("custom_apis") if isinstance(data, dict) else None
        if isinstance(apis, dict):
            found.extend(
                _Decl(name, document, slug, raw, taken)
                for slug, raw in apis.items()
                if isinstance(slug, str) and isinstance(raw, dict)
            )
    return found


def check(
    documents: Sequence[tuple[str, LoadedDocument]],
    add: Add,
    reported: Sequence[Diagnostic] = (),
) -> None:
    """Every problem of the `custom_apis:` declarations (and a file with neither key);
    `reported` are the diagnostics of the earlier passes."""
    for name, document in documents:
        data = document.data
        if isinstance(data, dict) and "flows" not in data and "custom_apis" not in data:
            line, column = document.locate(())
            add(
                Diagnostic(
                    name,
                    line,
                    column,
                    "flows",
                    "required key is missing",
                    "a mapping of flow slugs to flows, or `custom_apis:`",
                )
            )
    taken = frozenset((d.file, d.path) for d in reported)
    decls = declarations(documents, taken)
    first: dict[str, _Decl] = {}
    api_types: dict[str, _Decl] = {}
    for decl in decls:
        earlier = first.setdefault(decl.slug, decl)
        if earlier is not decl:
            line, column = earlier.document.locate(earlier.path)
            where = f"{earlier.file}:{line}:{column}"
            decl.report(
                add,
                decl.path,
                f"Custom API `{decl.slug}` is also declared at {where}",
                "each Custom API declared in one place",
                key=True,
            )
            continue
        if decl.absent:
            continue
        _check_api(decl, add)
        api_type = decl.raw.get("api_type")
        if isinstance(api_type, str):
            other = api_types.setdefault(api_type, decl)
            if other is not decl:
                decl.report(
                    add,
                    (*decl.path, "api_type"),
                    f"`{api_type}` is also the api_type of Custom API `{other.slug}`",
                    "an api_type unique in the store",
                    key=False,
                )
    _check_parents(list(first.values()), add)
    _check_api_renames(list(first.values()), add)


def _check_api_renames(decls: Sequence[_Decl], add: Add) -> None:
    """`renamed_from` on a Custom API: not its own slug, not a slug still declared, not
    claimed by two APIs, not on an absent API."""
    declared = {decl.slug for decl in decls}
    claimed: dict[str, str] = {}
    for decl in decls:
        items = decl.raw.get("renamed_from")
        if not isinstance(items, list):
            continue
        if decl.absent:
            decl.report(
                add,
                (*decl.path, "renamed_from"),
                "an absent Custom API cannot be renamed",
                "either `state: absent` or `renamed_from`",
                key=True,
            )
            continue
        for index, old in enumerate(items):
            if not isinstance(old, str):
                continue
            if old == decl.slug:
                what, expected = "a Custom API cannot be renamed from its own slug", "a former slug"
            elif old in declared:
                what = f"Custom API `{old}` is still declared"
                expected = "a slug no longer declared, since a rename removes the old one"
            elif claimed.setdefault(old, decl.slug) != decl.slug:
                what = f"`{old}` is already renamed to `{claimed[old]}`"
                expected = "each former slug renamed once"
            else:
                continue
            decl.report(add, (*decl.path, "renamed_from", index), what, expected, key=False)


def _api_body(slug: str, raw: Mapping[str, Any]) -> dict[str, Any]:
    return {"slug": slug, **{k: raw[k] for k in _API_KEYS if k in raw}}


def _field_body(slug: str, raw: Mapping[str, Any]) -> dict[str, Any]:
    return {"slug": slug, **{k: raw[k] for k in _FIELD_KEYS if k in raw}}


def _check_api(decl: _Decl, add: Add) -> None:
    decl.violations(
        add, decl.path, rules.custom_api_violations(_api_body(decl.slug, decl.raw), create=True)
    )
    kept: dict[str, Mapping[str, Any]] = {}
    for slug, raw in decl.fields():
        path = (*decl.path, "fields", slug)
        if raw.get("state") == "absent":
            if "renamed_from" in raw:
                decl.report(
                    add,
                    (*path, "renamed_from"),
                    "an absent field cannot be renamed",
                    "either `state: absent` or `renamed_from`",
                    key=True,
                )
            continue
        kept[slug] = raw
        found = rules.custom_field_violations(_field_body(slug, raw), create=True)
        decl.violations(add, path, found)
    decl.violations(add, (*decl.path, "fields"), rules.url_slug_field_violations(kept))
    _check_renames(decl, kept, add)


def _check_renames(decl: _Decl, kept: Mapping[str, Mapping[str, Any]], add: Add) -> None:
    declared = {slug for slug, _ in decl.fields()}
    claimed: dict[str, str] = {}
    for slug, raw in kept.items():
        items = raw.get("renamed_from")
        if not isinstance(items, list):
            continue
        for index, old in enumerate(items):
            if not isinstance(old, str):
                continue
            path = (*decl.path, "fields", slug, "renamed_from", index)
            if old == slug:
                what, expected = "a field cannot be renamed from its own slug", "a former slug"
            elif old in declared:
                what = f"`{old}` is still declared in Custom API `{decl.slug}`"
                expected = "a slug no longer declared, since a rename removes the old one"
            elif claimed.setdefault(old, slug) != slug:
                what = f"`{old}` is already renamed to `{claimed[old]}`"
                expected = "each former slug renamed once"
            else:
                continue
            decl.report(add, path, what, expected, key=False)


def _check_parents(decls: Sequence[_Decl], add: Add) -> None:
    """Parents named in the files: declared (and not absent), the API location, or a slug the
    store may hold (plan checks it); depth and cycles among the declared ones."""
    by_slug = {decl.slug: decl for decl in decls}
    graph: dict[str, list[str]] = {}
    for decl in decls:
        if decl.absent:
            continue
        parents = decl.raw.get("parent_apis")
        graph[decl.slug] = []
        if not isinstance(parents, list):
            continue
        for index, parent in enumerate(parents):
            path = (*decl.path, "parent_apis", index)
            if not isinstance(parent, str) or parent == facts.API_LOCATION_ID:
                continue
            if parent == decl.slug:
                decl.report(
                    add,
                    path,
                    "a Custom API cannot be its own parent",
                    "another Custom API",
                    key=False,
                )
            elif not _API_SLUG.match(parent):
                decl.report(
                    add,
                    path,
                    f"`{parent}` is not a Custom API slug",
                    f"a Custom API slug ({facts.API_SLUG_PATTERN}) or {facts.API_LOCATION_ID}",
                    key=False,
                )
            elif parent in by_slug and by_slug[parent].absent:
                decl.report(
                    add,
                    path,
                    f"Custom API `{parent}` is marked `state: absent`",
                    "a Custom API that is kept",
                    key=False,
                )
            else:
                graph[decl.slug].append(parent)
    known = {slug: [p for p in parents if p in graph] for slug, parents in graph.items()}
    for slug, violation in rules.parent_graph_violations(known):
        decl = by_slug[slug]
        decl.report(add, (*decl.path, "parent_apis"), violation.what, violation.expected, key=True)


def undeclared_parents(state: State) -> list[tuple[str, str]]:
    """(API, parent) for every parent neither declared nor the API location: a Custom API the
    live store may hold, which `plan` checks."""
    return [
        (slug, parent)
        for slug, api in sorted(state.custom_apis.items())
        if not api.absent
        for parent in api.parent_apis
        if parent != facts.API_LOCATION_ID and parent not in state.custom_apis
    ]


# -- the desired state ------------------------------------------------------------------------


def build(documents: Sequence[tuple[str, LoadedDocument]]) -> dict[str, CustomApi]:
    """The declared Custom APIs (call only when `check` found nothing)."""
    apis: dict[str, CustomApi] = {}
    for decl in declarations(documents):
        presentation = decl.raw.get("presentation") or {}
        fields = {slug: _build_field(decl, slug, raw) for slug, raw in decl.fields()}
        apis[decl.slug] = CustomApi(
            slug=decl.slug,
            name=decl.raw.get("name", ""),
            api_type=decl.raw.get("api_type", ""),
            description=decl.raw.get("description", facts.API_DEFAULTS["description"]),
            allow_upserts=decl.raw.get("allow_upserts", facts.API_DEFAULTS["allow_upserts"]),
            page=presentation.get("page"),
            section=presentation.get("section"),
            parent_apis=tuple(sorted(decl.raw.get("parent_apis", ()))),
            fields=fields,
            absent=decl.absent,
            renamed_from=tuple(decl.raw.get("renamed_from", ())),
            location=_location(decl, decl.path),
        )
    return apis


def _build_field(decl: _Decl, slug: str, raw: Mapping[str, Any]) -> CustomField:
    field_type = raw.get("field_type", "string")
    presentation = raw.get("presentation") or {}
    return CustomField(
        slug=slug,
        field_type=field_type,
        name=raw.get("name", ""),
        description=raw.get("description", facts.FIELD_DEFAULTS["description"]),
        use_as_url_slug=raw.get("use_as_url_slug", False),
        sort_order=presentation.get("sort_order", facts.SORT_ORDER_DEFAULT),
        validation=canonical_validation(field_type, raw.get("validation")),
        absent=raw.get("state") == "absent",
        renamed_from=tuple(raw.get("renamed_from", ())),
        location=_location(decl, (*decl.path, "fields", slug)),
    )


def _location(decl: _Decl, path: PathKey) -> Location:
    line, column = decl.document.locate(path)
    return Location(decl.file, line, column)
