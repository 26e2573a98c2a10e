"""export of Custom APIs (issue 14 item 6): a store holding every field type and validation
shape, exported, plans no change against itself, and validate accepts what was written."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import Cli
from support.store import LocalStore

from provisioner.config import load_desired, validate_paths

EVERY_SHAPE = Path(__file__).parent / "custom_api_cases" / "every_shape.yaml"


def test_export_then_plan_shows_no_changes(
    cli: Cli, local_store: LocalStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = local_store.env()
    assert cli("apply", EVERY_SHAPE, "--auto-approve", env=env).code == 0
    monkeypatch.chdir(tmp_path)
    exported = cli("export", "-o", "out/", env=env)
    assert exported.code == 0, exported.err
    assert "and 3 Custom APIs to out/" in exported.err
    names = {path.name for path in (tmp_path / "out").iterdir()}
    assert names == {f"{slug}.custom-api.yaml" for slug in ("shapes", "child", "grandchild")}
    assert validate_paths([tmp_path / "out"]) == []
    planned = cli("plan", "out", "--detailed-exitcode", env=env)
    assert planned.code == 0, planned.out + planned.err
    # The files say what the original said, in canonical form.
    assert load_desired([tmp_path / "out"]).custom_apis == load_desired([EVERY_SHAPE]).custom_apis
    one_file = cli("export", "-o", "all.yaml", env=env)
    assert one_file.code == 0, one_file.err
    assert cli("plan", "all.yaml", "--detailed-exitcode", env=env).code == 0


def test_export_with_read_only_credentials_says_custom_apis_are_left_out(
    cli: Cli, local_store: LocalStore
) -> None:
    assert cli("apply", EVERY_SHAPE, "--auto-approve", env=local_store.env()).code == 0
    exported = cli("export", env=local_store.env(secret=False))
    assert exported.code == 0, exported.err
    assert "Custom APIs are not exported" in exported.err
    assert "custom_apis" not in exported.out
