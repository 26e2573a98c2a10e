"""What `plan --out` and `export -o` write, and what happens when they cannot (issue 10 items 5
and 20): one line naming the path and the reason, exit 1, no traceback; every file or none;
`plan` prints the plan before failing to save it. Against a local store over real HTTP.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from support import Cli, CliResult
from support.seed import CUSTOMERS

from provisioner.client import Client, ClientConfig

LONG = "l" * 240  # 245 characters as `<slug>.yaml`: fits, but `.<name>.XXXXXXXX.tmp` did not
TOO_LONG = "z" * 252  # 257 characters as a file name: no file system takes it


def one_error_line(result: CliResult) -> str:
    assert result.code == 1, (result.out, result.err)
    assert "Traceback" not in result.err + result.out
    errors = [line for line in result.err.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.err
    return errors[0]


@pytest.fixture
def customers_yaml(tmp_path: Path) -> Path:
    path = tmp_path / "customers.yaml"
    path.write_text(CUSTOMERS)
    return path


def fill(store: Any, flows: dict[str, dict[str, Any]]) -> None:
    """Create flows (slug -> {field slug: extra attributes}) through the API."""

    async def run() -> None:
        config = ClientConfig(
            base_url=store.base_url,
            client_id=store.client_id,
            client_secret=store.client_secret,
            rate_limit=1000,
        )
        async with Client(config) as client:
            for slug, fields in flows.items():
                flow = await client.create_flow(
                    {"slug": slug, "name": slug[:20].title(), "description": "", "enabled": True}
                )
                for field_slug, extra in fields.items():
                    await client.create_field(
                        str(flow["id"]),
                        {
                            "slug": field_slug,
                            "name": field_slug.title(),
                            "field_type": "string",
                            "description": "",
                            "required": False,
                            "enabled": True,
                            **extra,
                        },
                    )

    asyncio.run(run())


# --------------------------------------------------------------------------- plan --out


@pytest.mark.parametrize("where", ["under-a-file", "proc"])
def test_plan_out_that_cannot_be_written_prints_the_plan_first(
    cli: Cli, local_store: Any, customers_yaml: Path, tmp_path: Path, where: str
) -> None:
    regular = tmp_path / "regular"
    regular.write_text("a file\n")
    out = regular / "plan.json" if where == "under-a-file" else Path("/proc/plan.json")
    result = cli("plan", customers_yaml, "--out", out, env=local_store.env())
    line = one_error_line(result)
    assert f"cannot write the plan to {out}" in line
    if where == "under-a-file":
        assert f"{regular} is not a directory" in line
    assert "+ create field customers.nickname" in result.out  # the plan was shown
    assert regular.read_text() == "a file\n"
    assert local_store.write_count() == 0


def test_plan_out_still_saves_and_replaces(
    cli: Cli, local_store: Any, customers_yaml: Path, tmp_path: Path
) -> None:
    out = tmp_path / "new" / "dir" / "plan.out"
    for _ in range(2):  # the second run replaces the first file
        result = cli("plan", customers_yaml, "--out", out, env=local_store.env())
        assert result.code == 0, result.err
        assert json.loads(out.read_text())["operations"]
    assert sorted(p.name for p in out.parent.iterdir()) == ["plan.out"]


# --------------------------------------------------------------------------- export -o


@pytest.mark.parametrize("directory", [False, True])
def test_export_into_an_impossible_place_is_one_line(
    cli: Cli, local_store: Any, tmp_path: Path, directory: bool
) -> None:
    fill(local_store, {"customers": {"nickname": {}}})
    regular = tmp_path / "regular"
    regular.write_text("a file\n")
    for output in (regular / "flows", Path("/proc/flows")):
        target = f"{output}/" if directory else f"{output}.yaml"
        line = one_error_line(cli("export", "-o", target, env=local_store.env()))
        assert f"cannot write {output}" in line
        assert "nothing was written" in line
    assert regular.read_text() == "a file\n"


def test_export_of_a_flow_with_a_long_slug_writes_every_file(
    cli: Cli, local_store: Any, tmp_path: Path
) -> None:
    fill(local_store, {"aaa": {"x": {}}, LONG: {"y": {}}, "zzz": {"z": {}}})
    out = tmp_path / "flows"
    result = cli("export", "-o", f"{out}/", env=local_store.env())
    assert result.code == 0, result.err
    assert sorted(p.name for p in out.iterdir()) == sorted(["aaa.yaml", f"{LONG}.yaml", "zzz.yaml"])
    assert cli("validate", out).code == 0


def test_export_writes_every_file_or_none(cli: Cli, local_store: Any, tmp_path: Path) -> None:
    fill(local_store, {"aaa": {"x": {}}, "bbb": {"y": {}}, TOO_LONG: {"z": {}}})
    out = tmp_path / "new" / "flows"
    line = one_error_line(cli("export", "-o", f"{out}/", env=local_store.env()))
    assert "nothing was written" in line
    assert not (tmp_path / "new").exists()  # not even the directories it created

    # With --force over existing files: they are put back as they were.
    kept = tmp_path / "kept"
    kept.mkdir()
    (kept / "aaa.yaml").write_text("# mine\n")
    result = cli("export", "-o", f"{kept}/", "--force", env=local_store.env())
    assert "nothing was written" in one_error_line(result)
    assert sorted(p.name for p in kept.iterdir()) == ["aaa.yaml"]
    assert (kept / "aaa.yaml").read_text() == "# mine\n"


# --------------------------------------------------------------------------- item 20


def test_export_to_stdout_warns_in_its_own_words(cli: Cli, local_store: Any) -> None:
    # epcc-api.md section 0: the store keeps a `default` of the wrong type.
    fill(local_store, {"customers": {"delivery_details": {"default": 0}}})
    result = cli("export", env=local_store.env())
    assert result.code == 0, result.err
    assert "        default: 0\n" in result.out
    assert "validate will refuse this YAML as printed" in result.err
    assert "what was written" not in result.err
    assert "<stdout>:" in result.err
    assert "flows.customers.fields.delivery_details.default" in result.err
