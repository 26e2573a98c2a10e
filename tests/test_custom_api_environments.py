"""Custom APIs across environments (issue 14 follow-up F): `plan --all` tells a Custom API
changed by hand (drift) from a pending file change, and `diff --from --to` compares the
Custom APIs of two live stores by slug. Two local stores over HTTP."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from support import Cli
from support.seed import WISHLISTS, staging_production_project, write

APIS = (
    WISHLISTS
    + """\
      prefs:
        name: Prefs
        field_type: any
        validation: {any: {json_schema: {version: "2020-12", schema: '{"type": "object"}'}}}
"""
)
SETTINGS = "/v2/settings/extensions/custom-apis"


@pytest.fixture
def project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, local_store_factory: Callable[..., Any]
) -> dict[str, Any]:
    staging, production = local_store_factory(), local_store_factory()
    root = tmp_path / "repo"
    write(root / "apis" / "wishlists.yaml", APIS)
    env = staging_production_project(root, staging, production, paths="apis/")
    monkeypatch.chdir(root)
    return {"root": root, "staging": staging, "production": production, "env": env}


def rename_field_by_hand(store: Any, field: str, name: str) -> None:
    """A Custom API field changed in the store behind the files' back."""
    with httpx.Client(base_url=store.base_url, headers=store.headers(), timeout=30) as http:
        api = http.get(SETTINGS).json()["data"][0]
        path = f"{SETTINGS}/{api['id']}/fields"
        found = next(f for f in http.get(path).json()["data"] if f["slug"] == field)
        body = {"data": {"type": "custom_field", "id": found["id"], "name": name}}
        assert http.put(f"{path}/{found['id']}", json=body).status_code == 200


def test_a_custom_api_changed_by_hand_is_drift_a_file_change_is_not(
    cli: Cli, project: dict[str, Any]
) -> None:
    env = project["env"]
    assert cli("apply", "--all", "--auto-approve", env=env).code == 0
    rename_field_by_hand(project["staging"], "title", "Title (by hand)")
    drifted = cli("plan", "--all", "--detailed-exitcode", "--format", "json", env=env)
    assert drifted.code == 2
    document = json.loads(drifted.out)
    assert document["drifted"] == ["staging"]
    staging = document["environments"][0]
    assert staging["drift"] == ["~ update_custom_field wishlists.title"]
    text = cli("plan", "--all", env=env).out
    assert "staging           0       1        0       0  drifted  changes" in text
    # A change in the files (the schema re-formatted too: no change) is pending, not drift.
    write(
        project["root"] / "apis" / "wishlists.yaml",
        APIS.replace("name: Wishlists", "name: Lists").replace(
            '{"type": "object"}', '{ "type" : "object" }'
        ),
    )
    pending = json.loads(cli("plan", "--all", "--format", "json", env=env).out)
    production = pending["environments"][1]
    assert production["drift"] == []
    assert [op["kind"] for op in production["plan"]["operations"]] == ["update_custom_api"]


def test_diff_compares_the_custom_apis_of_two_stores(cli: Cli, project: dict[str, Any]) -> None:
    env = project["env"]
    assert cli("apply", "--env", "staging", "--auto-approve", env=env).code == 0
    lacking = cli("diff", "--from", "staging", "--to", "production", "--detailed-exitcode", env=env)
    assert lacking.code == 2, lacking.err
    assert "+ create Custom API wishlists" in lacking.out
    assert "Plan: 3 to create, 0 to update, 0 to replace, 0 to delete." in lacking.out
    assert project["production"].write_count() == 0
    assert cli("apply", "--env", "production", "--auto-approve", env=env).code == 0
    same = cli("diff", "--from", "staging", "--to", "production", "--detailed-exitcode", env=env)
    assert same.code == 0, same.out
    assert "and every Custom API" in same.out
    rename_field_by_hand(project["production"], "title", "Heading")
    with httpx.Client(
        base_url=project["production"].base_url,
        headers=project["production"].headers(),
        timeout=30,
    ) as http:
        body = {"data": {"type": "custom_api", "name": "Extra", "slug": "extra"}}
        body["data"]["api_type"] = "extra_ext"
        assert http.post(SETTINGS, json=body).status_code == 201
    as_json = json.loads(
        cli("diff", "--from", "staging", "--to", "production", "--format", "json", env=env).out
    )
    assert [(op["kind"], op["address"]) for op in as_json["operations"]] == [
        ("update_custom_field", "wishlists.title")
    ]
    assert as_json["custom_apis_only_in_to"] == ["extra"]
    text = cli("diff", "--from", "staging", "--to", "production", env=env).out
    assert "Only in production (not compared): Custom APIs extra." in text
