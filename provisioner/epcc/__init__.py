"""The API's facts, one module per API family, each fact with its evidence.

- `provisioner.epcc.flows`: Flows, Fields and their values (epcc-api.md sections 0, 2.8, 3, 4,
  5 and 6; the official spec `epcc-openapi/flows.yaml`, version 25.1201).
- Commerce Extensions (Custom APIs, section 10) get a module of their own beside it, in the same
  shape: plain constants and the small frozen records below, and a `SECTIONS` table naming, for
  every public fact, the section of `../shared/epcc-api.md` that is its evidence (a test checks
  that every fact has one and that the section exists).

These modules hold data only: no I/O, no checks. The checks are `provisioner.rules`; the JSON
Schema of the YAML format is generated from the same facts (`provisioner.schema`).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldType:
    """A field type: the JSON Schema types its values take and the rule types it admits."""

    name: str
    json_types: tuple[str, ...]  # JSON Schema type names of a value ("integer", "number", ...)
    rules: tuple[str, ...]  # rule types, in the order the schema lists them
    value_pattern: str | None = None  # a pattern string values must match (dates)


@dataclass(frozen=True)
class RuleType:
    """A validation rule type and the shape of its object besides `type`.

    `options`: `"values"` (a non-empty list of distinct values of the field's type), `"range"`
    (`{from, to}` of the field's numeric type, from <= to) or None (no options). `target`: the
    rule names a related resource in `to`.
    """

    name: str
    options: str | None = None
    target: bool = False

    @property
    def keys(self) -> tuple[str, ...]:
        """Every key the rule object may hold, `type` first."""
        return ("type", *(("options",) if self.options else ()), *(("to",) if self.target else ()))


@dataclass(frozen=True)
class Attribute:
    """An attribute of a create or update body: its JSON Schema types and whether the 25.1201
    spec requires it on create."""

    name: str
    json_types: tuple[str, ...]
    required_on_create: bool = False


__all__ = ["Attribute", "FieldType", "RuleType"]
