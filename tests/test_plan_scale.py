"""Saved plans at scale (issue 16): proportionate files, and a stale plan summarised.

A saved plan (`plan --out`) is the JSON document of `--format json`, written compactly (one
operation per line); `apply` reads it back. A saved plan whose objects changed names at most
`StalePlanError.SHOWN` of them and counts the rest. Real files, the local store, the CLI.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from provisioner.errors import StalePlanError

if TYPE_CHECKING:
    from support import Cli
    from support.store import LocalStore

FIELDS = 60


def flows_yaml(path: Path, label: str) -> Path:
    fields = "".join(
        f"      f{i:03d}:\n        name: {label} {i}\n        field_type: string\n"
        for i in range(FIELDS)
    )
    path.write_text(f"flows:\n  wishlists:\n    name: Wishlists\n    fields:\n{fields}")
    return path


def test_saved_plans_are_compact_and_stale_ones_summarised(
    cli: Cli, local_store: LocalStore, tmp_path: Path
) -> None:
    env = local_store.env()
    first = flows_yaml(tmp_path / "first.yaml", "First")
    saved = tmp_path / "plan.json"
    assert cli("plan", first, "--out", saved, env=env).code == 0
    shown = cli("plan", first, "--format", "json", env=env)
    text = saved.read_text(encoding="utf-8")
    saved_document, shown_document = json.loads(text), json.loads(shown.out)
    # The same document, plus the store it was made against as version 4 (issue 10
    # acceptance follow-up, F3: a saved plan records its store).
    assert saved_document.pop("store")["url"] == local_store.base_url
    assert (saved_document.pop("format_version"), shown_document.pop("format_version")) == (4, 1)
    assert saved_document == shown_document
    assert len(text) < 0.7 * len(shown.out)  # compact: no indentation
    assert len(text.splitlines()) == 1 + FIELDS + 7  # one line per operation (and `store`)
    assert cli("apply", saved, "--auto-approve", env=env).code == 0
    assert local_store.write_count() == 1 + FIELDS

    renamed = flows_yaml(tmp_path / "second.yaml", "Second")
    assert cli("plan", renamed, "--out", saved, env=env).code == 0
    third = flows_yaml(tmp_path / "third.yaml", "Third")
    assert cli("apply", third, "--auto-approve", env=env).code == 0  # the store moves on
    writes = local_store.write_count()
    stale = cli("apply", saved, "--auto-approve", env=env)
    assert stale.code == 1
    assert "the saved plan is stale" in stale.err
    listed = [line for line in stale.err.splitlines() if line.startswith("  - field:")]
    assert len(listed) == StalePlanError.SHOWN
    assert f"... and {FIELDS - StalePlanError.SHOWN} more ({FIELDS} objects changed)" in stale.err
    assert local_store.write_count() == writes
