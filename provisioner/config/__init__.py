"""Desired state from YAML: find the files, check them completely, and build a `State`.

The format is `flows: {<flow_slug>: {..., fields: {<field_slug>: {...}}}}` with attributes named
as the API names them (README "Writing flows in YAML"). Checking happens in three passes, and
every problem of every pass is reported, sorted, each located at `file:line:col` with the dotted
YAML path and what was expected:

1. the safe loader (`provisioner.yamlload`): bytes, YAML syntax, duplicate keys, tags, bombs;
2. the JSON Schema (`config.schema_pass`, worded by `config.schema_wording`): keys, types,
   enums, slug patterns and which rules each `field_type` admits;
3. semantic checks the schema cannot express (`config.semantics`, calling `provisioner.rules`).

Only when nothing is wrong is a `State` built (`config.build`). `config.files` says which files
a set of paths names. This package is pure: no network, no CLI libraries.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from provisioner.config.build import build_state
from provisioner.config.files import YAML_SUFFIXES, find_yaml_files
from provisioner.config.report import Report, Source, dotted
from provisioner.config.schema_pass import SCHEMA_FILE, check_schema, load_schema, schema_text
from provisioner.config.semantics import semantic_pass
from provisioner.errors import ConfigError, Diagnostic
from provisioner.gcpause import without_gc
from provisioner.model import State
from provisioner.yamlload import LoadedDocument, load_file

__all__ = [
    "SCHEMA_FILE",
    "YAML_SUFFIXES",
    "check_documents",
    "find_yaml_files",
    "load_desired",
    "load_schema",
    "schema_text",
    "validate_paths",
]


@without_gc
def load_desired(paths: Sequence[str | Path]) -> State:
    """The desired `State` declared in `paths` (files or directories of `*.yaml`/`*.yml`).

    Raises `ConfigError` holding every diagnostic when anything is wrong.
    """
    sources, diagnostics = _check(paths)
    if diagnostics:
        raise ConfigError(diagnostics)
    return build_state(sources)


@without_gc
def check_documents(
    documents: Sequence[tuple[str, LoadedDocument]],
) -> tuple[State | None, list[Diagnostic]]:
    """Check documents loaded already, under the names diagnostics give them (the overlay
    merge builds them): every problem, sorted, and the `State` when there is none."""
    sources, diagnostics = _check_sources(documents)
    return (None if diagnostics else build_state(sources)), diagnostics


@without_gc
def validate_paths(paths: Sequence[str | Path]) -> list[Diagnostic]:
    """Every problem in `paths`, sorted; empty when the files are valid. Never raises for bad
    input (unreadable, binary or malformed files are diagnostics too)."""
    return _check(paths)[1]


def _check(paths: Sequence[str | Path]) -> tuple[list[Source], list[Diagnostic]]:
    files, diagnostics = find_yaml_files(paths)
    return _check_sources([(str(file), load_file(file)) for file in files], diagnostics)


def _check_sources(
    documents: Sequence[tuple[str, LoadedDocument]], diagnostics: Sequence[Diagnostic] = ()
) -> tuple[list[Source], list[Diagnostic]]:
    report = Report()
    for diagnostic in diagnostics:
        report.add(diagnostic)
    sources: list[Source] = []
    for name, document in documents:
        source = Source(name, document)
        sources.append(source)
        for problem in document.problems:
            report.add(
                Diagnostic(
                    name,
                    problem.line,
                    problem.column,
                    dotted(problem.path),
                    problem.message,
                    problem.expected,
                )
            )
        if document.data is not None:
            check_schema(source, report)
    semantic_pass(sources, report)
    return sources, report.diagnostics()
