"""`renamed_from` on a Custom API (issue 14 follow-up E): the slug is updatable (section 10),
so a rename is one PUT that keeps the API's ID, fields and entries, through a saved plan too;
the files are checked offline. Over real HTTP against the local store."""

from __future__ import annotations

from pathlib import Path

import httpx
from support import Cli
from support.store import LocalStore

START = """custom_apis:
  wishlists:
    name: Wishlists
    api_type: wishlist_ext
    fields:
      title: {name: Title, field_type: string}
  wishlist_items:
    name: Items
    api_type: wishlist_item_ext
    parent_apis: [wishlists]
"""
RENAMED = START.replace(
    "  wishlists:\n    name: Wishlists\n",
    "  saved_lists:\n    name: Wishlists\n    renamed_from: [wishlists]\n",
).replace("parent_apis: [wishlists]", "parent_apis: [saved_lists]")


def test_a_saved_rename_keeps_the_api_its_entries_and_its_children(
    cli: Cli, local_store: LocalStore, tmp_path: Path
) -> None:
    env = local_store.env()
    start, renamed = tmp_path / "start.yaml", tmp_path / "renamed.yaml"
    start.write_text(START, encoding="utf-8")
    renamed.write_text(RENAMED, encoding="utf-8")
    assert cli("apply", start, "--auto-approve", env=env).code == 0
    with httpx.Client(
        base_url=local_store.base_url, headers=local_store.headers(), timeout=30
    ) as http:
        body = {"data": {"type": "wishlist_ext", "title": "Birthday"}}
        created = http.post("/v2/extensions/wishlists", json=body)
        assert created.status_code == 201, created.text
        entry_id = created.json()["data"]["id"]
        api_id = http.get("/v2/settings/extensions/custom-apis").json()["data"]
        before = {api["slug"]: api["id"] for api in api_id}
    saved = tmp_path / "plan.json"
    planned = cli("plan", renamed, "--out", saved, env=env)
    assert planned.code == 0, planned.err
    assert "~> rename Custom API wishlists -> saved_lists  [risky]" in planned.out
    assert "wishlist_items" not in planned.out  # its parent is the same API: no change
    applied = cli("apply", saved, "--auto-approve", env=env)  # no destructive operation
    assert applied.code == 0, applied.out + applied.err
    with httpx.Client(
        base_url=local_store.base_url, headers=local_store.headers(), timeout=30
    ) as http:
        apis = http.get("/v2/settings/extensions/custom-apis").json()["data"]
        after = {api["slug"]: api["id"] for api in apis}
        entry = http.get(f"/v2/extensions/saved_lists/{entry_id}")
        assert entry.status_code == 200, entry.text
        assert entry.json()["data"]["title"] == "Birthday"
    assert after == {"saved_lists": before["wishlists"], "wishlist_items": before["wishlist_items"]}
    again = cli("plan", renamed, "--detailed-exitcode", env=env)
    assert again.code == 0, again.out


def test_a_saved_rename_is_stale_when_the_new_slug_was_taken_or_the_type_changes(
    cli: Cli, local_store: LocalStore, tmp_path: Path
) -> None:
    env = local_store.env()
    start, renamed = tmp_path / "start.yaml", tmp_path / "renamed.yaml"
    start.write_text(START, encoding="utf-8")
    renamed.write_text(RENAMED, encoding="utf-8")
    assert cli("apply", start, "--auto-approve", env=env).code == 0
    # A rename keeps the api_type (set at creation only): one that changes it is refused.
    retyped = tmp_path / "retyped.yaml"
    retyped.write_text(RENAMED.replace("api_type: wishlist_ext", "api_type: list_ext"), "utf-8")
    writes = local_store.write_count()
    refused = cli("plan", retyped, env=env)
    assert refused.code == 1
    assert "custom_apis.saved_lists.renamed_from: `wishlists` has api_type" in refused.err
    assert local_store.write_count() == writes
    saved = tmp_path / "plan.json"
    assert cli("plan", renamed, "--out", saved, env=env).code == 0
    with httpx.Client(
        base_url=local_store.base_url, headers=local_store.headers(), timeout=30
    ) as http:
        body = {"data": {"type": "custom_api", "name": "X", "slug": "saved_lists"}}
        body["data"]["api_type"] = "other_ext"
        assert http.post("/v2/settings/extensions/custom-apis", json=body).status_code == 201
    refused = cli("apply", saved, "--auto-approve", env=env)
    assert refused.code == 1
    assert "stale" in refused.err
    assert "custom_api:saved_lists" in refused.err


def test_custom_api_renames_are_checked_offline(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "custom_apis:\n"
        "  a: {name: A, api_type: a_ext, renamed_from: [a]}\n"
        "  b: {name: B, api_type: b_ext, renamed_from: [a]}\n"
        "  c: {name: C, api_type: c_ext, renamed_from: [old]}\n"
        "  d: {name: D, api_type: d_ext, renamed_from: [old]}\n"
        "  e: {state: absent, renamed_from: [x]}\n"
        "  f: {name: F, api_type: f_ext, renamed_from: [Not-A-Slug]}\n",
        encoding="utf-8",
    )
    checked = cli("validate", path)
    assert checked.code == 1
    out = checked.out
    assert f"{path}:2:48: custom_apis.a.renamed_from.0: a Custom API cannot be renamed" in out
    assert f"{path}:3:48: custom_apis.b.renamed_from.0: Custom API `a` is still declared" in out
    assert f"{path}:5:48: custom_apis.d.renamed_from.0: `old` is already renamed to `c`" in out
    assert f"{path}:6:22: custom_apis.e.renamed_from: an absent Custom API cannot be" in out
    assert f'{path}:7:48: custom_apis.f.renamed_from.0: "Not-A-Slug" is not a former' in out
    assert "5 problems found in 1 file." in out
