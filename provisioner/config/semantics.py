"""Pass 3: the checks the schema cannot express, across all files.

Reserved slugs (epcc-api.md 3.2, 4.2), fields shadowing a core resource's attributes, defaults
that break their own rules (4.2), `between` ranges, relationship targets (4.5), renames, core
flows marked absent (3.4), and a flow declared twice. The API's rules are `provisioner.rules`;
this module only locates their violations in the files.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from provisioner import rules
from provisioner.config.report import Report, Source, dotted
from provisioner.epcc import flows as api
from provisioner.errors import Diagnostic
from provisioner.model import renamed_source
from provisioner.schema import RENAMED_FROM_PATTERN
from provisioner.yamlload import LoadedDocument, PathKey

_RENAMED = re.compile(RENAMED_FROM_PATTERN)  # ours: `old` or `other_flow.old`


@dataclass(frozen=True)
class FlowDecl:
    """A flow as written in one file (only well-formed mappings take part in checks)."""

    source: Source
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


def flow_decls(sources: Sequence[Source]) -> list[FlowDecl]:
    decls: list[FlowDecl] = []
    for source in sources:
        data = source.document.data
        flows = data.get("flows") if isinstance(data, dict) else None
        if isinstance(flows, dict):
            decls.extend(
                FlowDecl(source, slug, raw) for slug, raw in flows.items() if isinstance(raw, dict)
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

    def __init__(self, decls: Sequence[FlowDecl], report: Report) -> None:
        self.decls = decls
        self.report = report
        self.by_slug: dict[str, FlowDecl] = {}
        for decl in decls:
            self.by_slug.setdefault(decl.slug, decl)
        self.renames: dict[tuple[str, str], str] = {}
        # 4.5: relationship targets: the declared flows, and whether each is kept.
        self.targets = {
            slug: decl.raw.get("state") != "absent" for slug, decl in self.by_slug.items()
        }

    def add(
        self, decl: FlowDecl, path: PathKey, message: str, expected: str, *, value: bool = False
    ) -> None:
        document = decl.source.document
        line, column = document.locate_value(path) if value else document.locate(path)
        self.report.add(Diagnostic(decl.source.name, line, column, dotted(path), message, expected))

    def violations(self, decl: FlowDecl, base: PathKey, found: Sequence[rules.Violation]) -> None:
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

    def flow(self, decl: FlowDecl) -> None:
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

    def field(self, decl: FlowDecl, slug: str, raw: Mapping[str, Any]) -> None:
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

    def renamed_from(self, decl: FlowDecl, slug: str, raw: Mapping[str, Any], absent: bool) -> None:
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
            from_flow, old = renamed_source(decl.slug, item)
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


def semantic_pass(sources: Sequence[Source], report: Report) -> None:
    _Semantics(flow_decls(sources), report).run()
    # Issue 14: the `custom_apis:` key, with the rules the local store uses.
    documents = [(s.name, s.document) for s in sources]
    if custom_apis_involved(documents):
        # Imported only when needed: the Custom API rules cost a flows-only `validate` (issue 16).
        from provisioner import custom_api_config

        custom_api_config.check(documents, report.add, report.diagnostics())


def custom_apis_involved(documents: Sequence[tuple[str, LoadedDocument]]) -> bool:
    """Whether the Custom API pass has anything to check or build: a document with
    `custom_apis:`, or a mapping without `flows:` (which that pass reports). Otherwise it would
    find nothing, so `validate` of flows-only files skips importing it."""
    return any(
        isinstance(document.data, dict)
        and ("custom_apis" in document.data or "flows" not in document.data)
        for _, document in documents
    )


# ---------------------------------------------------------------------------------------------
# Building the State
