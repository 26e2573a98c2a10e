"""The JSON Schema is generated from the API's facts (issue 12 item 3).

`schemas/provisioner.schema.json` must be exactly what `provisioner.schema` generates from
`provisioner.epcc.flows`, and `provisioner schema` prints it. The per-field-type and per-rule
branches follow the table. That `validate` words every schema error itself is checked in
tests/test_parity.py, which holds the documents that break each part of the schema.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from support import Cli

from provisioner import schema
from provisioner.config import schema_text as shipped_text
from provisioner.epcc import flows as api

SHIPPED = Path(__file__).resolve().parent.parent / "schemas" / "provisioner.schema.json"


def test_the_shipped_schema_is_what_the_facts_generate() -> None:
    assert SHIPPED.read_text(encoding="utf-8") == schema.schema_text(), (
        "schemas/provisioner.schema.json is stale: run "
        "`provisioner schema > schemas/provisioner.schema.json`"
    )
    assert shipped_text() == schema.schema_text()  # what validate loads (packaged or source)


def test_provisioner_schema_prints_it(cli: Cli) -> None:
    result = cli("schema")
    assert result.code == 0
    assert result.out == schema.schema_text()


def _branch(field_type: str) -> dict[str, Any]:
    field = schema.generate()["$defs"]["field"]
    return next(
        branch["then"]["properties"]
        for branch in field["allOf"]
        if branch["if"]["properties"]["field_type"]["const"] == field_type
    )


def test_each_field_type_branch_follows_the_table() -> None:
    for facts in api.FIELD_TYPES_TABLE.values():
        branch = _branch(facts.name)
        default_types = branch["default"]["type"]
        assert set([default_types] if isinstance(default_types, str) else default_types) == {
            *facts.json_types,
            "null",
        }
        rules = branch["validation_rules"]
        if facts.rules:
            assert rules["items"]["properties"]["type"]["enum"] == list(facts.rules)
        else:
            assert rules == {"maxItems": 0}


def test_a_changed_fact_changes_the_schema(monkeypatch: Any) -> None:
    # The branches really come from the table: admitting `email` on integers shows at once.
    integer = api.FIELD_TYPES_TABLE["integer"]
    changed = type(integer)(integer.name, integer.json_types, (*integer.rules, "email"))
    monkeypatch.setattr(api, "FIELD_TYPES_TABLE", {**api.FIELD_TYPES_TABLE, "integer": changed})
    assert "email" in _branch("integer")["validation_rules"]["items"]["properties"]["type"]["enum"]
    assert schema.schema_text() != SHIPPED.read_text(encoding="utf-8")


def test_each_rule_branch_closes_the_rule_object_with_its_keys() -> None:
    rule = schema.generate()["$defs"]["rule"]
    covered: set[str] = set()
    for branch in rule["allOf"]:
        test = branch["if"]["properties"]["type"]
        kinds = [test["const"]] if "const" in test else test["enum"]
        for kind in kinds:
            assert set(branch["then"]["properties"]) == set(api.RULE_TYPES[kind].keys)
            assert branch["then"]["additionalProperties"] is False
        covered.update(kinds)
    assert covered == set(api.RULE_TYPES)
