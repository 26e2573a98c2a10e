"""Validation rules are compared by type (issue 10 item 15).

A field holds at most one rule of each type (4.5), so the same rules in another order are no
change, and a real change shows only the rule that changed, without `null` artefacts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from support import Cli

from provisioner.model import FIELD_ATTRIBUTES
from provisioner.planner import attribute_changes


def _flows(rules: str) -> str:
    return (
        "flows:\n  contacts:\n    name: Contacts\n    fields:\n"
        "      email:\n        name: Email\n        field_type: string\n"
        f"        validation_rules:\n{rules}"
    )


EMAIL = "          - {type: email}\n"
ENUM = "          - {type: enum, options: [a@x.io, b@x.io]}\n"
ENUM_CHANGED = "          - {type: enum, options: [a@x.io, b@x.io, c@x.io]}\n"


def test_rules_in_another_order_plan_nothing_over_http(
    cli: Cli, local_store: Any, tmp_path: Path
) -> None:
    env = local_store.env()
    live = tmp_path / "live.yaml"
    live.write_text(_flows(EMAIL + ENUM))
    assert cli("apply", live, "--auto-approve", env=env).code == 0
    swapped = tmp_path / "swapped.yaml"
    swapped.write_text(_flows(ENUM + EMAIL))
    result = cli("plan", swapped, "--detailed-exitcode", env=env)
    assert result.code == 0, result.out
    assert "No changes." in result.out

    changed = tmp_path / "changed.yaml"
    changed.write_text(_flows(ENUM_CHANGED + EMAIL))
    shown = cli("plan", changed, "--detailed-exitcode", env=env)
    assert shown.code == 2
    lines = [line.strip() for line in shown.out.splitlines() if "validation_rules" in line]
    assert lines == [
        'validation_rules[0].options: ["a@x.io", "b@x.io"] -> ["a@x.io", "b@x.io", "c@x.io"]'
    ]
    assert "null" not in shown.out
    as_json = json.loads(cli("plan", changed, "--format", "json", env=env).out)
    [operation] = as_json["operations"]
    assert operation["changes"] == [
        {
            "path": "validation_rules[0].options",
            "before": ["a@x.io", "b@x.io"],
            "after": ["a@x.io", "b@x.io", "c@x.io"],
        }
    ]
    assert operation["safety"] == "safe"  # an enum gaining options is loosening

    assert cli("apply", changed, "--auto-approve", env=env).code == 0
    assert cli("plan", changed, "--detailed-exitcode", env=env).code == 0
    assert cli("plan", swapped, "--detailed-exitcode", env=env).code == 2  # c@x.io is live now


def _field(*rules: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": "F",
        "description": "",
        "field_type": "string",
        "required": False,
        "unique": False,
        "default": None,
        "enabled": True,
        "order": None,
        "omit_null": False,
        "validation_rules": list(rules),
    }


def test_a_rule_added_or_removed_is_one_change_at_its_own_index() -> None:
    email, uuid = {"type": "email"}, {"type": "uuid"}
    enum = {"type": "enum", "options": ["a", "b"]}
    added = attribute_changes(_field(enum), _field(email, enum), FIELD_ATTRIBUTES)
    assert [(c.path, c.before, c.after) for c in added] == [("validation_rules[0]", None, email)]
    removed = attribute_changes(_field(enum, uuid), _field(enum), FIELD_ATTRIBUTES)
    assert [(c.path, c.before, c.after) for c in removed] == [("validation_rules[1]", uuid, None)]
    assert attribute_changes(_field(uuid, enum), _field(enum, uuid), FIELD_ATTRIBUTES) == ()
