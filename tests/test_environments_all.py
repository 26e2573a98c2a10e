"""`plan --all` and `apply --all` (issue 13.5): every environment, concurrently, a matrix
first, drift told apart from pending file changes, `after` order with failures stopping the
environments that depend on them. Staging and production are local stores over HTTP."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import pytest
from support import Cli
from support.seed import DEV_OVERLAY, SHARED, staging_production_project, write

from provisioner.client import Client, ClientConfig


@pytest.fixture
def project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, local_store_factory: Callable[..., Any]
) -> dict[str, Any]:
    staging = local_store_factory()
    production = local_store_factory()
    root = tmp_path / "repo"
    write(root / "flows" / "customers.yaml", SHARED)
    write(root / "envs" / "dev" / "dev.yaml", DEV_OVERLAY)
    env = staging_production_project(root, staging, production, dev='overlays = ["envs/dev/"]\n')
    monkeypatch.chdir(root)
    return {"root": root, "staging": staging, "production": production, "env": env}


def rename_by_hand(store: Any, flow: str, field: str, name: str) -> None:
    """A change made in the store behind the files' back (as Commerce Manager would)."""

    async def run() -> None:
        config = ClientConfig(
            base_url=store.base_url,
            client_id=store.client_id,
            client_secret=store.client_secret,
            rate_limit=1000,
        )
        async with Client(config) as client:
            for item in await client.list_fields():
                if item["slug"] == field:
                    await client.update_field(item["id"], {"name": name})

    asyncio.run(run())


def test_plan_all_prints_a_matrix_then_each_plan(cli: Cli, project: dict[str, Any]) -> None:
    result = cli("plan", "--all", "--detailed-exitcode", env=project["env"])
    assert result.code == 2, result.err
    lines = result.out.splitlines()
    assert lines[:4] == [
        "environment  create  update  replace  delete  drift    status",
        "dev               5       0        0       0  unknown  changes",
        "staging           3       0        0       0  unknown  changes",
        "production        3       0        0       0  unknown  changes",
    ]
    assert [line for line in lines if line.startswith("== ")] == [
        "== dev ==",
        "== staging ==",
        "== production ==",
    ]
    # Each environment's store line, and each store read once: a token and two lists.
    assert "Environment staging: using the store at" in result.err
    for store in (project["staging"], project["production"]):
        assert store.stats()["total"] == 3
        assert store.write_count() == 0


def test_plan_all_json_and_markdown(cli: Cli, project: dict[str, Any]) -> None:
    document = json.loads(cli("plan", "--all", "--format", "json", env=project["env"]).out)
    assert document["format_version"] == 1
    assert document["changes"] is True
    assert [e["environment"] for e in document["environments"]] == ["dev", "staging", "production"]
    assert document["environments"][1]["plan"]["summary"]["create"] == 3
    assert document["environments"][1]["plan"]["format_version"] == 1
    markdown = cli("plan", "--all", "--format", "markdown", env=project["env"]).out
    assert markdown.startswith("### provisioner plan: 3 environments\n")
    assert "| `staging` | 3 | 0 | 0 | 0 | unknown | changes |" in markdown
    sections = [line for line in markdown.splitlines() if line.startswith("### environment")]
    assert sections == [
        "### environment `dev`",
        "### environment `staging`",
        "### environment `production`",
    ]
    assert markdown.count("### provisioner plan") == 1  # one comment, not three


def test_apply_all_then_drift_by_hand_is_reported(cli: Cli, project: dict[str, Any]) -> None:
    env = project["env"]
    applied = cli("apply", "--all", "--auto-approve", env=env)
    assert applied.code == 0, applied.err
    assert "[staging] + create_flow customers ... done" in applied.out
    order = applied.err.splitlines()[-3:]
    assert [line.split(":")[0] for line in order] == ["dev", "staging", "production"]
    assert all(": applied" in line for line in order)
    in_sync = cli("plan", "--all", "--detailed-exitcode", env=env)
    assert in_sync.code == 0
    assert "production        0       0        0       0  no     in sync" in in_sync.out

    rename_by_hand(project["staging"], "customers", "nickname", "Nick (by hand)")
    drifted = cli("plan", "--all", "--detailed-exitcode", "--format", "json", env=env)
    assert drifted.code == 2
    document = json.loads(drifted.out)
    assert document["drifted"] == ["staging"]
    staging = document["environments"][1]
    assert staging["drift"] == ["~ update_field customers.nickname"]
    text = cli("plan", "--all", env=env).out
    assert "staging           0       1        0       0  drifted  changes" in text
    assert "Drift (live changes no file asked for):\n  ~ update_field customers.nickname" in text

    # A change in the files is pending everywhere, and is not drift.
    write(project["root"] / "flows" / "customers.yaml", SHARED.replace("Nickname", "Nick name"))
    pending = json.loads(cli("plan", "--all", "--format", "json", env=env).out)
    assert pending["drifted"] == []
    assert [e["plan"]["summary"]["update"] for e in pending["environments"]] == [1, 1, 1]


def create_by_hand(store: Any, flow: str, name: str) -> None:
    """A flow made in the store behind the files' back."""

    async def run() -> None:
        config = ClientConfig(
            base_url=store.base_url,
            client_id=store.client_id,
            client_secret=store.client_secret,
            rate_limit=1000,
        )
        async with Client(config) as client:
            await client.create_flow({"slug": flow, "name": name, "description": ""})

    asyncio.run(run())


def test_apply_all_stops_the_dependants_of_a_failed_environment(
    cli: Cli, project: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    env = project["env"]
    # Staging is changed by someone else while the plans are on screen: its plan is stale,
    # so staging fails (nothing of it applied) and production, after staging, is stopped.
    # (Before apply --all refused read-only credentials up front, a missing secret made
    # staging fail; issue 13 now refuses that before any request.)

    def answer_yes(*_args: Any, **_kwargs: Any) -> bool:
        create_by_hand(project["staging"], "customers", "Made by hand")
        return True

    monkeypatch.setattr("provisioner.commands.apply._interactive", lambda: True)
    monkeypatch.setattr(click, "confirm", answer_yes)
    result = cli("apply", "--all", env=env)
    assert result.code == 1
    assert "dev: applied 5 operation(s)" in result.err
    assert "staging: failed: " in result.err
    # Issue 13 acceptance follow-up: the objects that changed are listed, as with --env.
    assert (
        "staging: failed: the saved plan is stale: these objects changed since it was made:\n"
        "  - flow:customers\n"
    ) in result.err
    assert "production: stopped: it comes after staging, which did not apply" in result.err
    assert "apply --all stopped: staging, production not applied" in result.err
    assert project["production"].write_count() == 0
    assert project["staging"].write_count() == 1  # the flow made by hand, nothing of ours


def test_apply_all_refuses_read_only_credentials_before_any_request(
    cli: Cli, project: dict[str, Any]
) -> None:
    env = dict(project["env"])
    del env["STAGING_SECRET"]
    result = cli("apply", "--all", "--auto-approve", env=env)
    assert result.code == 1
    assert "apply --all needs write access to every environment" in result.err
    assert "staging (STAGING_SECRET is not set)" in result.err
    assert "Nothing was read or applied." in result.err
    for store in (project["staging"], project["production"]):
        assert store.stats()["total"] == 0
    assert not (project["root"] / ".provisioner" / "dev.sqlite").exists()
    assert cli("plan", "--all", env=env).code == 0  # reading needs no secret


def test_apply_all_refuses_destructive_plans_and_missing_confirmation(
    cli: Cli, project: dict[str, Any]
) -> None:
    env = project["env"]
    assert cli("apply", "--all", "--auto-approve", env=env).code == 0
    write(
        project["root"] / "flows" / "customers.yaml",
        SHARED.replace("      nickname:\n", "      nickname:\n        state: absent\n"),
    )
    refused = cli("apply", "--all", "--auto-approve", env=env)
    assert refused.code == 3
    assert "staging: - delete_field customers.nickname" in refused.err
    assert project["staging"].write_count() == 3  # the first apply's creates only
    unconfirmed = cli("apply", "--all", "--allow-destructive", env=env)
    assert unconfirmed.code == 1
    assert "refusing to apply without confirmation" in unconfirmed.err
    assert project["production"].write_count() == 3


def test_plan_all_reports_an_unreachable_store_and_plans_the_others(
    cli: Cli, project: dict[str, Any]
) -> None:
    env = dict(project["env"])
    del env["PROD_ID"]
    result = cli("plan", "--all", env=env)
    assert result.code == 1
    assert "production        -       -        -       -  -        error" in result.out
    assert "Error: environment `production`: the variable PROD_ID" in result.out
    assert "staging           3       0        0       0  unknown  changes" in result.out
    assert "could not plan production" in result.err


def test_all_checks_every_environment_offline_first(cli: Cli, project: dict[str, Any]) -> None:
    write(project["root"] / "envs" / "dev" / "dev.yaml", DEV_OVERLAY.replace("Line", ""))
    result = cli("plan", "--all", env=project["env"])
    assert result.code == 1
    assert "envs/dev/dev.yaml:" in result.err
    assert project["staging"].stats()["total"] == 0


def test_diff_compares_two_live_stores_by_slug(cli: Cli, project: dict[str, Any]) -> None:
    env = project["env"]
    assert cli("apply", "--env", "staging", "--auto-approve", env=env).code == 0
    lacking = cli("diff", "--from", "staging", "--to", "production", "--detailed-exitcode", env=env)
    assert lacking.code == 2, lacking.err
    assert "Plan: 3 to create, 0 to update, 0 to replace, 0 to delete." in lacking.out
    assert "(read-only)" in lacking.err
    assert project["production"].write_count() == 0
    # Same content, different IDs in each store: no differences.
    assert cli("apply", "--env", "production", "--auto-approve", env=env).code == 0
    same = cli("diff", "--from", "staging", "--to", "production", "--detailed-exitcode", env=env)
    assert same.code == 0
    assert same.out == "No differences: production holds every flow and field of staging.\n"
    # Held differently, and held only by the second.
    rename_by_hand(project["production"], "customers", "nickname", "Nick")
    as_json = json.loads(
        cli("diff", "--from", "staging", "--to", "production", "--format", "json", env=env).out
    )
    assert (as_json["from"], as_json["to"]) == ("staging", "production")
    assert [(op["kind"], op["address"]) for op in as_json["operations"]] == [
        ("update_field", "customers.nickname")
    ]
    assert cli("apply", "--env", "dev", "--auto-approve").code == 0
    markdown = cli("diff", "--from", "staging", "--to", "dev", "--format", "markdown", env=env)
    assert markdown.out.startswith("### provisioner diff: `staging` → `dev`")
    assert "Only in dev (not compared): flows debug_log." in markdown.out
    unknown = cli("diff", "--from", "stagin", "--to", "dev", env=env)
    assert unknown.code == 1
    assert "did you mean `staging`?" in unknown.err


def test_export_env_adopts_an_environment_as_the_shared_files(
    cli: Cli, project: dict[str, Any]
) -> None:
    env = project["env"]
    assert cli("apply", "--env", "staging", "--auto-approve", env=env).code == 0
    refused = cli("export", "--env", "staging", env=env)  # flows/customers.yaml exists
    assert refused.code == 1
    assert "refusing to overwrite existing file" in refused.err
    rename_by_hand(project["staging"], "customers", "nickname", "Nick")
    adopted = cli("export", "--env", "staging", "--force", env=env)
    assert adopted.code == 0, adopted.err
    assert "Exported 1 flow and 2 fields to flows" in adopted.err
    text = (project["root"] / "flows" / "customers.yaml").read_text()
    assert "name: Nick\n" in text
    assert cli("plan", "--env", "staging", "--detailed-exitcode", env=env).code == 0


def test_with_ci_set_all_skips_the_embedded_environments(cli: Cli, project: dict[str, Any]) -> None:
    result = cli("plan", "--all", env={**project["env"], "CI": "true"})
    assert result.code == 0, result.err
    assert "CI is set: skipping the embedded environment dev" in result.err
    assert "== dev ==" not in result.out
    assert not (project["root"] / ".provisioner" / "dev.sqlite").exists()
    applied = cli("apply", "--all", "--auto-approve", env={**project["env"], "CI": "1"})
    assert applied.code == 0, applied.err
    assert project["production"].write_count() == 3
