"""Changes `plan` used to call fine and `apply` then failed half-way (issue 14 acceptance
follow-up): each is now refused or classified by `plan`, before any write, over real HTTP
against the local store.

A. `use_as_url_slug` set on a field of a Custom API holding entries (allowed only while the API
   has none, section 10): one `page[limit]=1` read per API concerned, only then.
B. `parent_apis` depth and cycles through live parents.
C. an `api_type` another live Custom API holds.
D. a `json_schema` only re-formatted: no change at all.
"""

from __future__ import annotations

from pathlib import Path

import httpx
from support import Cli
from support.store import LocalStore

API = "/v2/settings/extensions/custom-apis"


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _apply(cli: Cli, store: LocalStore, path: Path) -> None:
    applied = cli("apply", path, "--auto-approve", "--allow-destructive", env=store.env())
    assert applied.code == 0, applied.out + applied.err


def _entry_reads(store: LocalStore) -> int:
    return sum(
        item["count"]
        for item in store.stats()["requests"]
        if item["method"] == "GET" and item["route"].endswith("/entries")
    )


# -- A: use_as_url_slug only while the API holds no entries ------------------------------------

NOTES = """custom_apis:
  notes:
    name: Notes
    api_type: note_ext
    fields:
      handle:
        name: Handle
        field_type: string
        {marked}validation: {{string: {{unique: "yes", allow_null_values: false}}}}
{extra}"""
URL_SLUG_FIELD = """      code:
        name: Code
        field_type: string
        use_as_url_slug: true
        validation: {string: {unique: "yes", allow_null_values: false}}
"""


def test_use_as_url_slug_on_an_api_holding_entries_is_refused_by_plan(
    cli: Cli, local_store: LocalStore, tmp_path: Path
) -> None:
    _apply(cli, local_store, _write(tmp_path / "start.yaml", NOTES.format(marked="", extra="")))
    with httpx.Client(
        base_url=local_store.base_url, headers=local_store.headers(), timeout=30
    ) as http:
        body = {"data": {"type": "note_ext", "handle": "first"}}
        assert http.post("/v2/extensions/notes", json=body).status_code == 201
    marked = _write(
        tmp_path / "marked.yaml", NOTES.format(marked="use_as_url_slug: true\n        ", extra="")
    )
    added = _write(tmp_path / "added.yaml", NOTES.format(marked="", extra=URL_SLUG_FIELD))
    local_store.reset_stats()
    writes = local_store.write_count()
    for desired, field, command in (
        (marked, "handle", "plan"),
        (marked, "handle", "apply"),
        (added, "code", "plan"),
    ):
        args = ["--auto-approve", "--allow-destructive"] if command == "apply" else []
        refused = cli(command, desired, *args, env=local_store.env())
        assert refused.code == 1, refused.out + refused.err
        assert "Traceback" not in refused.err
        assert f"{desired}:" in refused.err  # located at the field in the file
        assert f"custom_apis.notes.fields.{field}.use_as_url_slug" in refused.err
        assert "holds 1 entry" in refused.err
    assert local_store.write_count() == writes  # nothing written, the field kept
    assert _entry_reads(local_store) == 3  # one count per plan, only for the API concerned


def test_use_as_url_slug_on_an_empty_api_is_planned_and_applied(
    cli: Cli, local_store: LocalStore, tmp_path: Path
) -> None:
    _apply(cli, local_store, _write(tmp_path / "start.yaml", NOTES.format(marked="", extra="")))
    local_store.reset_stats()
    unrelated = _write(
        tmp_path / "unrelated.yaml",
        NOTES.format(marked="", extra="").replace("name: Handle", "name: Handle2"),
    )
    assert cli("plan", unrelated, env=local_store.env()).code == 0
    assert _entry_reads(local_store) == 0  # no url slug planned: no count
    marked = _write(
        tmp_path / "marked.yaml", NOTES.format(marked="use_as_url_slug: true\n        ", extra="")
    )
    planned = cli("plan", marked, env=local_store.env())
    assert planned.code == 0, planned.err
    assert "-/+ replace custom field notes.handle" in planned.out
    _apply(cli, local_store, marked)
    again = cli("plan", marked, "--detailed-exitcode", env=local_store.env())
    assert again.code == 0, again.out


# -- B: parent depth and cycles through live parents -------------------------------------------

CHAIN = """custom_apis:
  top: {name: Top, api_type: top_ext}
  middle: {name: Middle, api_type: middle_ext, parent_apis: [top]}
  lower: {name: Lower, api_type: lower_ext, parent_apis: [middle]}
"""


def test_depth_through_a_live_only_parent_is_refused_by_plan(
    cli: Cli, local_store: LocalStore, tmp_path: Path
) -> None:
    _apply(cli, local_store, _write(tmp_path / "chain.yaml", CHAIN))
    deep = _write(
        tmp_path / "deep.yaml",
        "custom_apis:\n  leaf: {name: Leaf, api_type: leaf_ext, parent_apis: [lower]}\n",
    )
    writes = local_store.write_count()
    for command in ("plan", "apply"):
        args = ["--auto-approve"] if command == "apply" else []
        refused = cli(command, deep, *args, env=local_store.env())
        assert refused.code == 1, refused.out + refused.err
        assert f"{deep}:2:3: custom_apis.leaf.parent_apis: is nested 3 parents deep" in (
            refused.err
        )
        assert "leaf -> lower -> middle -> top" in refused.err
    assert local_store.write_count() == writes


def test_a_cycle_through_a_live_parent_is_refused_by_plan(
    cli: Cli, local_store: LocalStore, tmp_path: Path
) -> None:
    _apply(cli, local_store, _write(tmp_path / "chain.yaml", CHAIN))
    # `top` declared with the live-only `lower` as its parent: lower -> middle -> top -> lower.
    cycle = _write(
        tmp_path / "cycle.yaml",
        "custom_apis:\n  top: {name: Top, api_type: top_ext, parent_apis: [lower]}\n",
    )
    writes = local_store.write_count()
    refused = cli("plan", cycle, env=local_store.env())
    assert refused.code == 1, refused.out + refused.err
    assert "custom_apis.top.parent_apis: its parents form a cycle" in refused.err
    assert "Custom API lower (live, not in the files): its parents form a cycle" in refused.err
    assert local_store.write_count() == writes


def test_deleting_a_parent_a_live_api_still_names_is_refused_by_plan(
    cli: Cli, local_store: LocalStore, tmp_path: Path
) -> None:
    _apply(cli, local_store, _write(tmp_path / "chain.yaml", CHAIN))
    gone = _write(tmp_path / "gone.yaml", "custom_apis:\n  top: {state: absent}\n")
    refused = cli("plan", gone, env=local_store.env())
    assert refused.code == 1, refused.out + refused.err
    assert "it is the parent of middle" in refused.err
    assert "Traceback" not in refused.err


# -- C: an api_type another live Custom API holds ----------------------------------------------


def test_an_api_type_held_by_another_live_api_is_refused_by_plan(
    cli: Cli, local_store: LocalStore, tmp_path: Path
) -> None:
    _apply(cli, local_store, _write(tmp_path / "chain.yaml", CHAIN))
    # `lower` declared again under a new slug (live-only `lower` holds lower_ext).
    moved = _write(
        tmp_path / "moved.yaml",
        "custom_apis:\n  center: {name: Center, api_type: lower_ext}\n",
    )
    writes = local_store.write_count()
    for command in ("plan", "apply"):
        args = ["--auto-approve"] if command == "apply" else []
        refused = cli(command, moved, *args, env=local_store.env())
        assert refused.code == 1, refused.out + refused.err
        assert (
            f"{moved}:2:3: custom_apis.center.api_type: `lower_ext` is already the api_type "
            "of the live Custom API `lower`" in refused.err
        )
        assert "renamed_from: [lower]" in refused.err
        assert "another writer" not in refused.err
    assert local_store.write_count() == writes
    # Freed in the same plan (the holder's api_type changes): ordered, applied, converged.
    swapped = _write(
        tmp_path / "swapped.yaml",
        CHAIN.replace("api_type: lower_ext", "api_type: lowest_ext")
        + "  center: {name: Center, api_type: lower_ext}\n",
    )
    _apply(cli, local_store, swapped)
    assert cli("plan", swapped, "--detailed-exitcode", env=local_store.env()).code == 0


# -- D: a JSON Schema only re-formatted is no change ---------------------------------------------

SCHEMA = """custom_apis:
  prefs:
    name: Prefs
    api_type: pref_ext
    fields:
      settings:
        name: Settings
        field_type: any
        validation: {{any: {{json_schema: {{version: "2020-12", schema: '{schema}'}}}}}}
"""


def test_a_reformatted_json_schema_is_no_change(
    cli: Cli, local_store: LocalStore, tmp_path: Path
) -> None:
    compact = '{"type":"object","properties":{"a":{"type":"number","minimum":1}}}'
    _apply(cli, local_store, _write(tmp_path / "a.yaml", SCHEMA.format(schema=compact)))
    reordered = '{ "properties": { "a": { "minimum": 1.0, "type": "number" } },  "type": "object" }'
    same = _write(tmp_path / "b.yaml", SCHEMA.format(schema=reordered))
    planned = cli("plan", same, "--detailed-exitcode", env=local_store.env())
    assert planned.code == 0, planned.out
    assert "tightens" not in planned.out
    changed = _write(tmp_path / "c.yaml", SCHEMA.format(schema=reordered.replace("1.0", "2")))
    planned = cli("plan", changed, env=local_store.env())
    assert "validation tightens (json_schema changes)" in planned.out


def test_use_as_url_slug_moved_to_another_field_is_applied_in_order(
    cli: Cli, local_store: LocalStore, tmp_path: Path
) -> None:
    # One use_as_url_slug per API (400 otherwise): `code` takes it only after `handle`'s
    # replace let it go, whatever order the slugs sort in.
    marked = NOTES.format(marked="use_as_url_slug: true\n        ", extra="")
    _apply(cli, local_store, _write(tmp_path / "start.yaml", marked))
    moved = _write(tmp_path / "moved.yaml", NOTES.format(marked="", extra=URL_SLUG_FIELD))
    _apply(cli, local_store, moved)
    again = cli("plan", moved, "--detailed-exitcode", env=local_store.env())
    assert again.code == 0, again.out
