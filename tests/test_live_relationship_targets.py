"""Relationships to flows of the live store that the files do not declare (issue 10 item 16).

`validate` (offline) cannot check such a target: it says so and does not fail. `plan` checks
it against the store and fails only if the flow is absent there too. `export --flow X` of a
flow pointing at another live flow, then `plan` of that file, shows no changes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from support import Cli

STORE = """\
flows:
  stores:
    name: Stores
    fields:
      city: {name: City, field_type: string}
  staff:
    name: Staff
    fields:
      store:
        name: Store
        field_type: relationship
        validation_rules:
          - {type: one-to-one, to: stores}
"""

ORPHAN = """\
flows:
  staff:
    name: Staff
    fields:
      shop:
        name: Shop
        field_type: relationship
        validation_rules:
          - {type: one-to-one, to: warehouses}
"""


def test_export_of_a_flow_pointing_at_a_live_flow_plans_no_changes(
    cli: Cli, local_store: Any, tmp_path: Path
) -> None:
    env = local_store.env()
    both = tmp_path / "both.yaml"
    both.write_text(STORE)
    assert cli("apply", both, "--auto-approve", env=env).code == 0
    staff = tmp_path / "staff.yaml"
    exported = cli("export", "--flow", "staff", "-o", staff, "--schema-ref", "", env=env)
    assert exported.code == 0, exported.err
    assert "to: stores" in staff.read_text()

    validated = cli("validate", staff)
    assert validated.code == 0, validated.out
    assert "relationship target `stores` is not declared in these files" in validated.out
    assert validated.out.startswith("warning: flows.staff.fields.store:")
    as_json = json.loads(cli("validate", staff, "--format", "json").out)
    assert as_json["valid"] is True
    assert as_json["diagnostics"] == []
    assert len(as_json["warnings"]) == 1

    planned = cli("plan", staff, "--detailed-exitcode", env=env)
    assert planned.code == 0, planned.out + planned.err
    assert "No changes." in planned.out


def test_plan_fails_when_the_target_is_in_neither_the_files_nor_the_store(
    cli: Cli, local_store: Any, tmp_path: Path
) -> None:
    orphan = tmp_path / "orphan.yaml"
    orphan.write_text(ORPHAN)
    validated = cli("validate", orphan)
    assert validated.code == 0
    assert "`warehouses` is not declared in these files" in validated.out

    env = local_store.env()
    planned = cli("plan", orphan, env=env)
    assert planned.code == 1
    assert "staff.shop -> warehouses" in planned.err
    assert "neither declared in the files nor flows of the store" in planned.err
    applied = cli("apply", orphan, "--auto-approve", env=env)
    assert applied.code == 1
    assert local_store.write_count() == 0

    # Once the store has the flow, the same file plans (and applies) against it.
    target = tmp_path / "warehouses.yaml"
    target.write_text("flows:\n  warehouses:\n    name: Warehouses\n")
    assert cli("apply", target, "--auto-approve", env=env).code == 0
    assert cli("apply", orphan, "--auto-approve", env=env).code == 0
    assert cli("plan", orphan, "--detailed-exitcode", env=env).code == 0


def test_a_misspelt_target_is_still_an_error_offline(cli: Cli, tmp_path: Path) -> None:
    typo = tmp_path / "typo.yaml"
    typo.write_text(ORPHAN.replace("warehouses", "custmer"))
    result = cli("validate", typo)
    assert result.code == 1
    assert "unknown relationship target `custmer`; did you mean `customer`?" in result.out
