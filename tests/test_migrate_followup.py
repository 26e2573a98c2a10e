"""Issue 15 acceptance follow-up, over real HTTP against the local store: a tampered saved
migration is refused on load; a migration stopped after its delete is gated without --migrate
and finished even when the field was re-created meanwhile; `required` added with a type change
is a breaking change; every field whose values do not convert is reported."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from support import Cli
from support.store import LocalStore
from test_migrate_apply import entries, fields, setup


def test_a_saved_migration_whose_types_do_not_convert_is_refused_on_load(
    tmp_path: Path, cli: Cli, local_store: LocalStore, api: httpx.Client
) -> None:
    desired, _ = setup(tmp_path, cli, local_store, api, "string", "integer")
    saved = tmp_path / "plan.json"
    assert cli("plan", desired, "--migrate", "--out", saved, env=local_store.env()).code == 0
    original = json.loads(saved.read_text())
    tampered = tmp_path / "t.json"
    edits = {
        "relationship": ("after", "field_type", "relationship"),
        "float": ("before", "field_type", "float"),  # float -> integer converts nothing
    }
    for what, (side, key, value) in edits.items():
        data = json.loads(json.dumps(original))
        data["operations"][0][side][key] = value
        tampered.write_text(json.dumps(data))
        local_store.reset_stats()
        result = cli("apply", tampered, "--auto-approve", env=local_store.env())
        assert result.code == 1, result.err
        assert "Traceback" not in result.err
        assert "malformed plan: operations[0] (migrate_field wishlists.rating)" in result.err
        assert "is not a conversion a migration makes" in result.err, what
        assert local_store.stats()["total"] == 0  # refused before any request
    data = json.loads(json.dumps(original))
    data["operations"][0]["from_slug"] = "note__migrating_to_integer"
    tampered.write_text(json.dumps(data))
    result = cli("apply", tampered, "--auto-approve", env=local_store.env())
    assert result.code == 1
    assert "is not the temporary field of a migration of `field`" in result.err
    assert {f["field_type"] for s, f in fields(api).items() if s == "rating"} == {"string"}
    assert len(entries(api)) == 6
