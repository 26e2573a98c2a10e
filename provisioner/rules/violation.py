"""`Violation`: one broken rule, and the codes `validate`'s JSON Schema reports itself."""

from __future__ import annotations

from dataclasses import dataclass

PathKey = tuple[str | int, ...]


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
