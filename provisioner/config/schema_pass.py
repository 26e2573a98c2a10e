"""Pass 2: the JSON Schema (`schemas/provisioner.schema.json`, draft 2020-12), loaded once,
run as a compiled check, and its errors worded by `provisioner.config.schema_wording`."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from provisioner.config.report import Report, Source, dotted
from provisioner.config.schema_wording import translate
from provisioner.errors import Diagnostic
from provisioner.schemacheck import Check, compile_schema

SCHEMA_FILE = "provisioner.schema.json"


def load_schema() -> dict[str, Any]:
    """The JSON Schema of the YAML format (a fresh copy each call)."""
    loaded: dict[str, Any] = json.loads(_schema_text())
    return loaded


def schema_text() -> str:
    """The JSON Schema as shipped (the exact file text)."""
    return _schema_text()


@functools.cache
def _schema_text() -> str:
    # Installed: the wheel force-includes the schema as provisioner/schemas/ (pyproject.toml).
    import importlib.resources  # with tempfile, shutil, ...: only when read (issue 16)

    packaged = importlib.resources.files("provisioner") / "schemas" / SCHEMA_FILE
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    # Source tree or editable install: the repository's schemas/ directory.
    source = Path(__file__).resolve().parent.parent.parent / "schemas" / SCHEMA_FILE
    return source.read_text(encoding="utf-8")


def _strict_integer(_checker: Any, instance: Any) -> bool:
    # JSON Schema counts 1.0 as an integer; the API's integer fields want a JSON integer (4.4).
    return isinstance(instance, int) and not isinstance(instance, bool)


@functools.cache
def compiled_check() -> Check | None:
    """The schema compiled once into a fast valid-or-not check (None: jsonschema alone)."""
    return compile_schema(load_schema())


@functools.cache
def validator() -> Any:
    """jsonschema's validator of the schema (imported on first use: issue 16)."""
    from jsonschema import (  # type: ignore[import-untyped]
        Draft202012Validator,
        validators,
    )

    cls = validators.extend(
        Draft202012Validator,
        type_checker=Draft202012Validator.TYPE_CHECKER.redefine("integer", _strict_integer),
    )
    return cls(load_schema())


def check_schema(source: Source, report: Report) -> None:
    """Every schema error of `source`'s document, worded, into `report`."""
    document = source.document
    # Issue 16: a valid document costs one pass of the compiled check; jsonschema's detailed,
    # located errors are produced only for a document that has some (or a loader problem).
    check = compiled_check()
    if check is not None and not document.problems and check(document.data):
        return
    for error in validator().iter_errors(document.data):
        specificity = len(error.absolute_schema_path)
        for path, (line, column), message, expected in translate(error, document):
            report.add(
                Diagnostic(source.name, line, column, dotted(path), message, expected),
                specificity,
            )
