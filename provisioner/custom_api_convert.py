"""From a custom flow to a Custom API (issue 14 item 7): the `custom_apis:` declaration.

`convert(flow)` maps a non-core flow declared in the files to the Custom API that carries the
same data, and lists, as located notes, every construct that has no equivalent instead of
dropping it silently:

- field types: string, integer, float and boolean map to themselves; `date` becomes a string
  with a regex for `YYYY-MM-DD` (optionally ` HH:MM:SS`); a relationship has no equivalent;
- rules: `email`, `slug` and `uuid` become a string regex; a string `enum` becomes a regex of
  its options (a number enum has none); `between` becomes `min_value`/`max_value`;
- `unique` on a string becomes `validation.string.unique: "yes"`; `order` becomes
  `presentation.sort_order` (0 to 1000);
- no equivalent: relationships, `required`, `default`, `omit_null`, `enabled: false`,
  `unique` on other types, `prune`.

Copying the flow's entries is out of scope. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from provisioner.epcc import custom_apis as facts
from provisioner.epcc import flows
from provisioner.model import Field, Flow, Location

# The flows' value patterns (`epcc.flows`, 4.4, 4.5, 5.1) are written with ASCII classes
# (`[0-9]`, not `\d`) and constructs RE2 reads the same way as Python, so a Custom API's regex
# (RE2 text, 10) is the flows' fact itself.
_RULE_REGEXES = {
    "email": flows.EMAIL_PATTERN,
    "slug": flows.SLUG_VALUE_PATTERN,
    "uuid": flows.UUID_PATTERN,
}
_SAME_TYPES = ("string", "integer", "float", "boolean")


@dataclass(frozen=True)
class Note:
    """A construct of the flow with no equivalent: where it is written, and what becomes of it."""

    location: Location | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location is not None else ""
        return f"{where}{self.path}: {self.message}"


@dataclass(frozen=True)
class Conversion:
    slug: str
    declaration: dict[str, Any]  # the Custom API's YAML mapping
    notes: tuple[Note, ...]


def api_slug_for(flow_slug: str) -> str:
    """A Custom API slug for a flow slug (lower case; characters outside the slug's alphabet
    become `_`; cut to its maximum length, 10)."""
    slug = re.sub(f"[^{facts.API_SLUG_CHARACTERS}]", "_", flow_slug.lower())
    return slug[: facts.API_SLUG_LENGTH[1]]


def api_type_for(api_slug: str) -> str:
    """The api_type for a Custom API slug: its characters outside the api_type's alphabet
    become `_`, cut to the longest stem, then the suffix (10)."""
    stem = re.sub(f"[^{facts.API_TYPE_CHARACTERS}]", "_", api_slug)
    return stem[: facts.API_TYPE_STEM_LENGTH[1]] + facts.API_TYPE_SUFFIX


def convert(flow: Flow) -> Conversion:
    """The Custom API declaration for `flow` (a custom flow) and the notes."""
    notes: list[Note] = []
    base = f"flows.{flow.slug}"
    slug = api_slug_for(flow.slug)
    if slug != flow.slug:
        notes.append(Note(flow.location, base, f"the Custom API slug is `{slug}`"))
    if not flow.enabled:
        notes.append(Note(flow.location, f"{base}.enabled", "no equivalent: left out"))
    if flow.prune:
        notes.append(Note(flow.location, f"{base}.prune", "not converted: add it by hand"))
    declaration: dict[str, Any] = {"name": flow.name, "api_type": api_type_for(slug)}
    if flow.description:
        declaration["description"] = flow.description
    fields: dict[str, Any] = {}
    for field_slug, field in sorted(flow.fields.items()):
        converted = _field(field, f"{base}.fields.{field_slug}", notes)
        if converted is not None:
            fields[field_slug] = converted
    if fields:
        declaration["fields"] = fields
    return Conversion(slug, declaration, tuple(notes))


def _field(field: Field, path: str, notes: list[Note]) -> dict[str, Any] | None:
    def note(key: str, message: str) -> None:
        notes.append(Note(field.location, f"{path}.{key}" if key else path, message))

    field_type = _field_type(field, note)
    if field_type is None:
        return None
    rules = _rules(field, field_type, note)
    _note_unmapped(field, note)
    converted: dict[str, Any] = {"name": field.name, "field_type": field_type}
    if field.description:
        converted["description"] = field.description
    if field.order is not None:
        low, high = facts.SORT_ORDER_RANGE
        converted["presentation"] = {"sort_order": min(max(field.order, low), high)}
        if not low <= field.order <= high:
            note("order", f"outside {low}-{high}: sort_order is clamped to it")
    if rules:
        converted["validation"] = {field_type: rules}
    return converted


_NoteAt = Callable[[str, str], None]


def _field_type(field: Field, note: _NoteAt) -> str | None:
    """The Custom Field type of a flow field, or None (left out: absent, or no equivalent)."""
    if field.absent:
        return None
    if field.field_type == "relationship":
        note("field_type", "a relationship has no equivalent in Custom APIs: field left out")
        return None
    field_type = "string" if field.field_type == "date" else field.field_type
    if field_type not in _SAME_TYPES:
        note("field_type", f"{field.field_type} has no equivalent: field left out")
        return None
    return field_type


def _rules(field: Field, field_type: str, note: _NoteAt) -> dict[str, Any]:
    """`validation.<field_type>` from the field's type, rules and `unique`."""
    rules: dict[str, Any] = {}
    if field.field_type == "date":
        rules["regex"] = flows.DATE_PATTERN
        note("field_type", "date becomes a string with a regex for YYYY-MM-DD[ HH:MM:SS]")
    for index, rule in enumerate(field.validation_rules):
        _rule(
            field_type, rule, rules, lambda message, i=index: note(f"validation_rules.{i}", message)
        )
    if field.unique:
        if field_type == "string":
            rules["unique"] = "yes"
        else:
            note("unique", f"no equivalent for a {field_type} field: left out")
    return rules


def _note_unmapped(field: Field, note: _NoteAt) -> None:
    for key, absent_value in (("required", False), ("default", None), ("omit_null", False)):
        if getattr(field, key) != absent_value:
            note(key, "no equivalent in Custom APIs: left out")
    if not field.enabled:
        note("enabled", "no equivalent in Custom APIs: left out")


def _rule(field_type: str, rule: Mapping[str, Any], rules: dict[str, Any], note: Any) -> None:
    kind = rule.get("type")
    options = rule.get("options")
    if kind in _RULE_REGEXES:
        _set_regex(rules, _RULE_REGEXES[str(kind)], note)
        note(f"{kind} becomes a regex")
    elif kind == "enum" and field_type == "string" and isinstance(options, list):
        alternatives = "|".join(re.escape(str(option)) for option in options)
        _set_regex(rules, f"^({alternatives})$", note)
        note("enum becomes a regex of its options")
    elif kind == "between" and isinstance(options, Mapping):
        rules["min_value"], rules["max_value"] = options.get("from"), options.get("to")
    else:
        note(f"{kind} on a {field_type} field has no equivalent: left out")


def _set_regex(rules: dict[str, Any], regex: str, note: Any) -> None:
    if "regex" in rules:
        note("a field holds one regex: this one replaces the one before")
    rules["regex"] = regex
