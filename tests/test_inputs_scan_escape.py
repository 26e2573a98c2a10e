"""Directory scans, bidi controls in plans, and the loader's wording (issue 10 items 11, 19, 20).

- a broken symbolic link or a link loop in a scanned directory is a problem naming it;
  `*.YAML`/`*.YML` in any case are read like `*.yaml` (a duplicate flow cannot hide);
- bidirectional controls in names and descriptions are escaped in the text and Markdown plans
  (from the files and from the live store), like the C0 controls;
- a merge key is one problem (no spurious `required key is missing`); slugs are ASCII.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest
from support import Cli

from provisioner.client import Client, ClientConfig

FLOW = "flows:\n  {slug}:\n    name: {name}\n"
BIDI = ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069"]


# --------------------------------------------------------------------------- item 11


@pytest.mark.parametrize("command", ["validate", "plan"])
def test_a_broken_link_in_a_scanned_directory_is_a_problem(
    cli: Cli, tmp_path: Path, command: str
) -> None:
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "customers.yaml").write_text(FLOW.format(slug="customers", name="Customers"))
    os.symlink("gone.yaml", flows / "wishlists.yaml")
    result = cli(command, flows, "--db", tmp_path / "s.sqlite") if command == "plan" else None
    result = result or cli(command, flows)
    assert result.code == 1
    assert "Traceback" not in result.err + result.out
    output = result.out + result.err
    assert f"{flows / 'wishlists.yaml'}:0:0: broken symbolic link (to gone.yaml" in output
    assert not (tmp_path / "s.sqlite").exists()  # nothing was read or written


def test_a_symlink_loop_is_a_problem(cli: Cli, tmp_path: Path) -> None:
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "customers.yaml").write_text(FLOW.format(slug="customers", name="Customers"))
    os.symlink("b.yml", flows / "a.yml")
    os.symlink("a.yml", flows / "b.yml")
    result = cli("validate", flows)
    assert result.code == 1
    assert f"{flows / 'a.yml'}:0:0: symbolic link loop" in result.out
    assert f"{flows / 'b.yml'}:0:0: symbolic link loop" in result.out


def test_a_broken_link_named_directly_says_so(cli: Cli, tmp_path: Path) -> None:
    os.symlink("gone.yaml", tmp_path / "link.yaml")
    result = cli("validate", tmp_path / "link.yaml")
    assert result.code == 1
    assert "broken symbolic link (to gone.yaml" in result.out + result.err


@pytest.mark.parametrize("name", ["Customers.YAML", "other.YML", "mixed.Yaml"])
def test_upper_case_suffixes_are_read_and_a_duplicate_cannot_hide(
    cli: Cli, tmp_path: Path, name: str
) -> None:
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "customers.yaml").write_text(FLOW.format(slug="customers", name="Customers"))
    (flows / name).write_text(FLOW.format(slug="customers", name="Again"))
    result = cli("validate", flows)
    assert result.code == 1
    assert "flow `customers` is also declared at" in result.out
    assert name in result.out


def test_upper_case_suffixes_are_counted(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "a.YAML").write_text(FLOW.format(slug="customers", name="Customers"))
    (tmp_path / "b.YML").write_text(FLOW.format(slug="wishlists", name="Wishlists"))
    result = cli("validate", tmp_path)
    assert result.code == 0, result.out
    assert "2 files valid: 2 flows" in result.out


# --------------------------------------------------------------------------- item 19


@pytest.mark.parametrize("output_format", ["text", "markdown"])
def test_bidi_controls_in_names_are_escaped_in_plans(
    cli: Cli, local_store: Any, tmp_path: Path, output_format: str
) -> None:
    # Live side: a flow whose name holds every bidi control; the file renames it.
    async def fill() -> None:
        config = ClientConfig(
            base_url=local_store.base_url,
            client_id=local_store.client_id,
            client_secret=local_store.client_secret,
            rate_limit=1000,
        )
        async with Client(config) as client:
            await client.create_flow(
                {"slug": "wishlists", "name": "live" + "".join(BIDI), "enabled": True}
            )

    asyncio.run(fill())
    path = tmp_path / "flows.yaml"
    text = (
        'flows:\n  wishlists:\n    name: "safe \\u202e gnp.exe"\n'
        '    description: "a \\u2066 b \\u2069"\n'
        '  customers:\n    name: "C\\u202d\\u202a"\n'
    )
    path.write_text(text)
    result = cli("plan", path, "--format", output_format, env=local_store.env())
    assert result.code == 0, result.err
    for char in BIDI:
        assert char not in result.out
    assert "\\u202e" in result.out  # escaped, from the file
    assert "\\u2066" in result.out
    assert "live\\u202a\\u202b\\u202c\\u202d\\u202e\\u2066\\u2067\\u2068\\u2069" in result.out


# --------------------------------------------------------------------------- item 20


def test_a_merge_key_is_one_problem(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "merge.yaml"
    path.write_text(
        "flows:\n"
        "  wishlists:\n"
        "    name: Wishlists\n"
        "    fields:\n"
        "      base: &base\n"
        "        name: Base\n"
        "        field_type: string\n"
        "      other:\n"
        "        <<: *base\n"
        "        name: Other\n"
    )
    result = cli("validate", path)
    assert result.code == 1
    assert result.out.splitlines() == [
        f"{path}:9:9: flows.wishlists.fields.other: merge keys (`<<`) are not supported "
        "(expected plain keys)",
        "1 problem found in 1 file.",
    ]


def test_a_slug_with_non_ascii_letters_says_ascii(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "slug.yaml"
    path.write_text(
        "flows:\n  wishlists:\n    name: W\n    fields:\n"
        "      naïve:\n        name: N\n        field_type: string\n"
    )
    result = cli("validate", path)
    assert result.code == 1
    assert '"naïve" is not a valid field slug (expected ASCII letters, digits' in result.out
