"""The API's rules as pure functions over plain JSON values, used by both sides of the wire.

Each check returns `Violation`s: where (a path relative to the object checked), what is wrong,
what was expected, and a stable `code`. `validate` (provisioner.config) turns them into
located diagnostics, skipping the codes its JSON Schema already reports (`SCHEMA_CODES`); the
local store turns the first one into a 422 body, skipping the codes the real API is known to
accept (`epcc.flows.LENIENT`). The facts they apply are `provisioner.epcc.flows`.

One module per job: `violation` (the value a check returns), `wording` (values for people),
`values` (value forms, a value or default against its field), `definitions` (names, slugs,
field types, counts) and `validation_rules` (a field's rule list). This package re-exports
them all. Pure: no I/O, no imports beyond the standard library and the facts.
"""

from __future__ import annotations

from provisioner.rules.definitions import (
    field_count_violations,
    field_slug_violations,
    field_type_violations,
    field_violations,
    flow_slug_violations,
    flow_violations,
    name_violations,
)
from provisioner.rules.validation_rules import rule_list_violations
from provisioner.rules.values import (
    JSON_TYPES,
    default_violations,
    has_json_type,
    is_blank,
    is_date_text,
    is_email,
    is_integer,
    is_number,
    is_real_date,
    is_slug_value,
    is_template_slug,
    is_uuid,
    of_type,
    rule_violations,
    same,
    value_violations,
)
from provisioner.rules.violation import SCHEMA_CODES, PathKey, Violation
from provisioner.rules.wording import (
    FLOW_SLUG_ALPHABET,
    SLUG_ALPHABET,
    article,
    describe,
    one_of,
    quote,
    suggest,
    type_words,
)

__all__ = [
    "FLOW_SLUG_ALPHABET",
    "JSON_TYPES",
    "SCHEMA_CODES",
    "SLUG_ALPHABET",
    "PathKey",
    "Violation",
    "article",
    "default_violations",
    "describe",
    "field_count_violations",
    "field_slug_violations",
    "field_type_violations",
    "field_violations",
    "flow_slug_violations",
    "flow_violations",
    "has_json_type",
    "is_blank",
    "is_date_text",
    "is_email",
    "is_integer",
    "is_number",
    "is_real_date",
    "is_slug_value",
    "is_template_slug",
    "is_uuid",
    "name_violations",
    "of_type",
    "one_of",
    "quote",
    "rule_list_violations",
    "rule_violations",
    "same",
    "suggest",
    "type_words",
    "value_violations",
]
