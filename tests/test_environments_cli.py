"""Environments end to end (issue 13.1-13.4): `--project`, `--env` on every command, the
promotion order. Stores are local stores over real HTTP (staging, production) and embedded
ones (dev), as the project file names them."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from support import Cli
from support.seed import DEV_OVERLAY, SHARED, staging_production_project, write


@pytest.fixture
def project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, local_store_factory: Callable[..., Any]
) -> dict[str, Any]:
    """dev (embedded, with an overlay), staging and production (served over HTTP)."""
    staging = local_store_factory()
    production = local_store_factory()
    root = tmp_path / "repo"
    write(root / "flows" / "customers.yaml", SHARED)
    write(root / "envs" / "dev" / "dev.yaml", DEV_OVERLAY)
    env = staging_production_project(root, staging, production, dev='overlays = ["envs/dev/"]\n')
    monkeypatch.chdir(root)
    return {"root": root, "staging": staging, "production": production, "env": env}


def test_validate_env_and_all_check_the_merged_files(cli: Cli, project: dict[str, Any]) -> None:
    result = cli("validate", "--env", "dev")
    assert result.code == 0, result.out + result.err
    assert result.out == "Environment dev: 2 files valid: 2 flows, 3 fields.\n"
    everything = cli("validate", "--all", "--format", "json")
    assert everything.code == 0
    report = json.loads(everything.out)
    assert report["valid"] is True
    assert [(e["environment"], e["flows"], e["fields"]) for e in report["environments"]] == [
        ("dev", 2, 3),
        ("staging", 1, 2),
        ("production", 1, 2),
    ]
    # Paths default to the project's: plain `validate` checks the shared files.
    assert cli("validate").out == "1 file valid: 1 flow, 2 fields.\n"


def test_validate_all_names_the_overlay_at_fault(cli: Cli, project: dict[str, Any]) -> None:
    write(project["root"] / "envs" / "dev" / "dev.yaml", DEV_OVERLAY.replace("[fast", "[1"))
    result = cli("validate", "--all")
    assert result.code == 1
    assert result.out.splitlines()[0].startswith(
        "envs/dev/dev.yaml:7:23: flows.customers.fields.speed.validation_rules.0.options.0: "
    )
    assert "Environment dev: 1 problem found in 2 files." in result.out
    assert "Environment staging: 1 file valid: 1 flow, 2 fields." in result.out
    assert result.out.endswith("1 of 3 environments have problems.\n")


def test_plan_and_apply_env_use_the_project_store_and_name_it(
    cli: Cli, project: dict[str, Any]
) -> None:
    staging = project["staging"]
    # EPCC_* variables point elsewhere: under --env they are not read.
    decoy = {
        "EPCC_API_BASE_URL": "http://127.0.0.1:9",
        "EPCC_CLIENT_ID": "decoy",
        "EPCC_CLIENT_SECRET": "decoy-secret",
    }
    env = {**project["env"], **decoy}
    planned = cli("plan", "--env", "staging", "--detailed-exitcode", env=env)
    assert planned.code == 2, planned.err
    assert planned.err.splitlines()[0] == (
        f"Environment staging: using the store at {staging.base_url}."
    )
    assert "Plan: 3 to create" in planned.out
    applied = cli("apply", "--env", "staging", "--auto-approve", env=env)
    assert applied.code == 0, applied.err
    assert staging.write_count() == 3
    assert cli("plan", "--env", "staging", "--detailed-exitcode", env=env).code == 0
    assert project["production"].write_count() == 0


def test_an_embedded_environment_gets_its_own_store_and_its_overlay(
    cli: Cli, project: dict[str, Any]
) -> None:
    applied = cli("apply", "--env", "dev", "--auto-approve")
    assert applied.code == 0, applied.err
    assert applied.err.splitlines()[0] == (
        "Environment dev: using the embedded local store at .provisioner/dev.sqlite."
    )
    assert (project["root"] / ".provisioner" / "dev.sqlite").is_file()
    assert "create_flow debug_log" in applied.out
    exported = cli("export", "--env", "dev", "--flow", "customers", "--schema-ref", "")
    assert exported.code == 0, exported.err
    assert "options: [fast, slow, debug]" in exported.out
    # The shared files alone differ from dev by the overlay: plan shows it.
    shared = cli("plan", "flows/", "--db", ".provisioner/dev.sqlite")
    assert "enum loses options: debug" in shared.out


def test_promotion_order_refuses_production_until_staging_matches(
    cli: Cli, project: dict[str, Any]
) -> None:
    env = project["env"]
    production = project["production"]
    refused = cli("apply", "--env", "production", "--auto-approve", env=env)
    assert refused.code == 3, refused.err
    assert "refusing to apply production: it comes after staging" in refused.err
    assert "staging is behind: 3 to create" in refused.err
    assert "+ create_flow customers" in refused.err
    assert production.write_count() == 0
    assert project["staging"].write_count() == 0  # the check is read-only

    skipped = cli("apply", "--env", "production", "--auto-approve", "--skip-order-check", env=env)
    assert skipped.code == 0, skipped.err
    assert "Skipping the promotion-order check (--skip-order-check)" in skipped.err
    assert production.write_count() == 3


def test_promotion_order_passes_once_staging_is_applied(cli: Cli, project: dict[str, Any]) -> None:
    env = project["env"]
    assert cli("apply", "--env", "staging", "--auto-approve", env=env).code == 0
    applied = cli("apply", "--env", "production", "--auto-approve", env=env)
    assert applied.code == 0, applied.err
    assert "(promotion-order check, read-only)" in applied.err
    assert project["production"].write_count() == 3
    # A change to the files: staging is behind again, and by exactly that change.
    write(project["root"] / "flows" / "customers.yaml", SHARED.replace("slow]", "slow, eco]"))
    refused = cli("apply", "--env", "production", "--auto-approve", env=env)
    assert refused.code == 3
    assert "staging is behind: 1 to update" in refused.err
    assert "~ update_field customers.speed" in refused.err


def test_errors_of_selection_exit_1_and_contact_nothing(
    cli: Cli, project: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = project["env"]
    unknown = cli("plan", "--env", "prod", env=env)
    assert unknown.code == 1
    assert "no environment `prod`; did you mean `production`?" in unknown.err
    both = cli("plan", "--env", "staging", "--base-url", "http://x.example", env=env)
    assert both.code == 1
    assert "--base-url cannot be combined with --env" in both.err
    unset = cli("plan", "--env", "staging", env={"STAGING_SECRET": "x"})
    assert unset.code == 1
    assert "the variable STAGING_ID (its client id) is not set" in unset.err
    assert project["staging"].stats()["total"] == 0
    # A broken project file: located, nothing contacted.
    toml = project["root"] / "provisioner.toml"
    toml.write_text(toml.read_text() + 'client_secret = "s3cr3t-value"\n')
    broken = cli("plan", "--env", "staging", env=env)
    assert broken.code == 1
    assert "provisioner.toml:18:1: environments.production.client_secret:" in broken.err
    assert "s3cr3t-value" not in broken.err + broken.out
    assert project["staging"].stats()["total"] == 0
    # --env without any project file.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    lost = cli("validate", "--env", "dev")
    assert lost.code == 1
    assert "--env needs a project file" in lost.err
    named = cli("validate", "--env", "dev", "--project", project["root"] / "provisioner.toml")
    assert named.code == 1  # found through --project, and still broken
    assert "client_secret" in named.err


def test_without_a_project_file_nothing_changes(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "flows.yaml", SHARED)
    assert cli("validate").code == 1  # no PATH and no project: a usage error as before
    result = cli("plan", "flows.yaml")
    assert result.code == 0
    assert result.err.startswith("Using the embedded local store at .provisioner/local-store")
