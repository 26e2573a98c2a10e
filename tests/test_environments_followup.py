"""Issue 13 acceptance follow-up: project-file values refused where the CLI refuses them,
messages that name the environment's variables, the promotion-order check in CI, and
`apply --all`'s stale-plan list. Real CLI, real files, local stores over real HTTP."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from support import Cli
from support.seed import SHARED, staging_production_project, write

SECRET = "f00dfacecafe1234"


@pytest.fixture
def project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, local_store_factory: Callable[..., Any]
) -> dict[str, Any]:
    """dev (embedded), staging after dev, production after staging (both served over HTTP)."""
    staging = local_store_factory()
    production = local_store_factory()
    root = tmp_path / "repo"
    write(root / "flows" / "customers.yaml", SHARED)
    env = staging_production_project(
        root,
        staging,
        production,
        dev="",
        staging_after="dev",
        keys=("EPCC_CLIENT_ID", "EPCC_CLIENT_SECRET"),
    )
    monkeypatch.chdir(root)
    return {"root": root, "staging": staging, "production": production, "env": env}


# --------------------------------------------------------------------------- item 1 and 3


def test_project_values_the_cli_would_refuse_are_refused_located(
    cli: Cli, project: dict[str, Any]
) -> None:
    toml = project["root"] / "provisioner.toml"
    text = toml.read_text()
    for bad, where, words in [
        # (every value: tests/test_project.py; here the CLI's exit and output, twice)
        ("rate_limit = nan", "provisioner.toml:9:1: environments.staging.rate_limit: got nan", ""),
        (
            f'base_url = "http://127.0.0.1:1?client_secret={SECRET}"',
            "provisioner.toml:6:1: environments.staging.base_url: holds a user name",
            "the value is not shown",
        ),
    ]:
        key = bad.split(" = ")[0]
        # Only staging's line changes (production's is the same key further down).
        first = next(i for i, line in enumerate(text.splitlines()) if line.startswith(key))
        lines = text.splitlines()
        lines[first] = bad
        toml.write_text("\n".join(lines) + "\n")
        result = cli("plan", "--env", "staging", env=project["env"])
        assert result.code == 1, result.err
        assert where in result.err, result.err
        assert words in result.err
        assert SECRET not in result.err + result.out
        assert "Traceback" not in result.err
    assert project["staging"].stats()["total"] == 0


def test_a_secret_in_the_query_of_epcc_api_base_url_is_never_echoed(
    cli: Cli, local_store: Any, tmp_path: Path
) -> None:
    write(tmp_path / "flows.yaml", SHARED)
    url = f"{local_store.base_url}/?client_secret={SECRET}"
    result = cli(
        "plan", tmp_path / "flows.yaml", env={**local_store.env(), "EPCC_API_BASE_URL": url}
    )
    assert result.code == 1
    assert "holds a query string or fragment" in result.err
    assert "EPCC_API_BASE_URL" in result.err
    assert SECRET not in result.err + result.out
    assert local_store.stats()["total"] == 0


def test_a_project_file_that_cannot_be_read_has_no_fake_position(
    cli: Cli, project: dict[str, Any]
) -> None:
    result = cli("validate", "--env", "dev", "--project", "nope.toml")
    assert result.code == 1
    assert "nope.toml: cannot read the project file: No such file or directory" in result.err
    assert "nope.toml:0:0" not in result.err


# --------------------------------------------------------------------------- item 2


def test_a_401_names_the_environments_variables(cli: Cli, project: dict[str, Any]) -> None:
    env = {**project["env"], "PROD_EPCC_CLIENT_SECRET": "wrong-secret"}
    result = cli("plan", "--env", "production", env=env)
    assert result.code == 1
    assert "check PROD_EPCC_CLIENT_ID and PROD_EPCC_CLIENT_SECRET" in result.err
    assert "EPCC_CLIENT_ID and EPCC_CLIENT_SECRET" not in result.err.replace("PROD_EPCC", "")
    assert "wrong-secret" not in result.err + result.out


def test_an_unset_secret_is_refused_before_the_order_check_reads_anything(
    cli: Cli, project: dict[str, Any]
) -> None:
    env = {k: v for k, v in project["env"].items() if k != "PROD_EPCC_CLIENT_SECRET"}
    result = cli("apply", "--env", "production", "--auto-approve", env=env)
    assert result.code == 1, result.err
    assert "set PROD_EPCC_CLIENT_SECRET." in result.err
    assert "--client-secret" not in result.err
    assert "promotion-order check" not in result.err
    assert project["staging"].stats()["total"] == 0  # the order check read nothing
    assert project["production"].stats()["total"] == 0
    assert not (project["root"] / ".provisioner" / "dev.sqlite").exists()


def test_a_base_url_without_client_id_env_names_the_key_to_add(
    cli: Cli, project: dict[str, Any]
) -> None:
    toml = project["root"] / "provisioner.toml"
    toml.write_text(
        toml.read_text()
        .replace('client_id_env = "PROD_EPCC_CLIENT_ID"\n', "")
        .replace('client_secret_env = "PROD_EPCC_CLIENT_SECRET"\n', "")
    )
    result = cli("plan", "--env", "production", env=project["env"])
    assert result.code == 1
    assert "environment `production` has a base_url but no client id: add" in result.err
    assert "`client_id_env = " in result.err
    assert "[environments.production] in provisioner.toml" in result.err
    assert "EPCC_CLIENT_ID" not in result.err
    assert project["production"].stats()["total"] == 0


# --------------------------------------------------------------------------- item 4


def test_the_order_check_creates_no_database_and_skips_embedded_ones_in_ci(
    cli: Cli, project: dict[str, Any]
) -> None:
    dev_db = project["root"] / ".provisioner" / "dev.sqlite"
    refused = cli("apply", "--env", "staging", "--auto-approve", env=project["env"])
    assert refused.code == 3, refused.err
    assert "dev is behind: never applied (no .provisioner/dev.sqlite)" in refused.err
    assert not dev_db.exists()  # a read-only check creates no database
    assert project["staging"].write_count() == 0

    in_ci = cli("apply", "--env", "staging", "--auto-approve", env={**project["env"], "CI": "1"})
    assert in_ci.code == 0, in_ci.err
    assert "CI is set: the promotion-order check skips the embedded environment dev" in in_ci.err
    assert not dev_db.exists()
    assert project["staging"].write_count() == 3


# --------------------------------------------------------------------------- item 7


def test_diff_words_a_delete_as_what_only_the_second_store_holds(
    cli: Cli, project: dict[str, Any]
) -> None:
    env = project["env"]
    apply = ("apply", "--auto-approve", "--skip-order-check", "--env")
    assert cli(*apply, "staging", env=env).code == 0
    more = SHARED + "      loyalty:\n        name: Loyalty\n        field_type: string\n"
    write(project["root"] / "flows" / "customers.yaml", more)
    assert cli(*apply, "production", env=env).code == 0
    result = cli("diff", "--from", "staging", "--to", "production", env=env)
    assert result.code == 0, result.err
    assert "- delete field customers.loyalty" in result.out
    assert "only in production, not in staging" in result.out
    assert "prune: true" not in result.out


def test_diff_rate_limit_has_the_same_bounds(cli: Cli, project: dict[str, Any]) -> None:
    for value in ("1e9", "0.001", "inf", "nan"):
        result = cli("diff", "--from", "staging", "--to", "production", "--rate-limit", value)
        assert result.code == 1, result.err  # bad input, as for plan and apply
        assert "a number of requests per second from 0.1 to 10,000" in result.err
    assert project["staging"].stats()["total"] == 0
