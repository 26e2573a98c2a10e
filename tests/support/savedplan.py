"""Saved plans (`plan --out`) in tests that edit one and apply it: `save_plan` runs the plan
and reads the file back, `apply_edited` writes an edited plan and applies it to a store whose
counts start at zero."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from support import Cli, CliResult
from support.store import LocalStore


def save_plan(cli: Cli, schema: Path, out: Path, env: Mapping[str, str]) -> dict[str, Any]:
    """`plan SCHEMA --out OUT` (which succeeds); the saved plan, as JSON."""
    planned = cli("plan", schema, "--out", out, env=env)
    assert planned.code == 0, planned.err
    data: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return data


def apply_edited(cli: Cli, store: LocalStore, data: dict[str, Any], out: Path) -> CliResult:
    """Write the plan `data` to OUT, reset the store's counts, `apply OUT --auto-approve`."""
    out.write_text(json.dumps(data), encoding="utf-8")
    store.reset_stats()
    return cli("apply", out, "--auto-approve", env=store.env())
