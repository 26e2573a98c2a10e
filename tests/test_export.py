"""`provisioner export` end to end over HTTP against the local store.

The store is filled through the API as another tool would have filled it (raw attribute bodies,
`epcc-api.md` 3.2 and 4.2): every field type, every rule shape of 4.5, core and custom flows, a
PXM template, disabled flows and fields, defaults, `unique`, `omit_null`, `order`, and strings
YAML would misread. Then the real CLI (`provisioner.cli.main`, store chosen by environment as
a user would) exports it, and the proofs are: `plan` on the export shows no change, `validate`
accepts it, the export wrote nothing to the store, and files are never clobbered silently.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import stat
from pathlib import Path
from typing import Any

import pytest
import yaml
from support import Cli

from provisioner.client import Client, ClientConfig
from provisioner.config import load_desired, validate_paths
from provisioner.planner import plan

MISREAD = ["yes", "no", "on", "0123", "null", "~", "1e3", "2017-12-25", "a: b", "12:30"]

# (flow attributes, [field attributes]) in the API's own shapes: what the store will hold.
STORE: list[tuple[dict[str, Any], list[dict[str, Any]]]] = [
    (
        {
            "slug": "customers",
            "name": "Customers",
            "description": "Extends the default customer object",
            "enabled": True,
        },
        [
            {
                "slug": "delivery_details",
                "name": "Delivery Details",
                "field_type": "string",
                "description": "customers delivery details",
                "required": False,
                "enabled": True,
                "order": 1,
            },
            {
                "slug": "nickname",
                "name": "yes",
                "field_type": "string",
                "description": "line one\nline two: with a colon\n",
                "required": False,
                "enabled": True,
                "default": "no",
                "order": 2,
                "validation_rules": [{"type": "enum", "options": MISREAD}],
            },
            {
                "slug": "contact",
                "name": "Contact",
                "field_type": "string",
                "description": "",
                "required": False,
                "enabled": True,
                "unique": True,
                "omit_null": True,
                "validation_rules": [{"type": "email"}],
            },
            {
                "slug": "handle",
                "name": "Handle",
                "field_type": "string",
                "description": "a slug",
                "required": True,
                "enabled": True,
                "default": "0123",
                "validation_rules": [{"type": "slug"}],
            },
            {
                "slug": "external_uuid",
                "name": "External UUID",
                "field_type": "string",
                "description": "disabled",
                "required": False,
                "enabled": False,
                "validation_rules": [{"type": "uuid"}],
            },
            {
                "slug": "loyalty_points",
                "name": "Loyalty points",
                "field_type": "integer",
                "description": "",
                "required": False,
                "enabled": True,
                "default": 0,
                "order": 3,
                "validation_rules": [{"type": "between", "options": {"from": 0, "to": 1000}}],
            },
            {
                "slug": "tier",
                "name": "Tier",
                "field_type": "integer",
                "description": "",
                "required": False,
                "enabled": True,
                "default": 2,
                "order": 3,
                "validation_rules": [{"type": "enum", "options": [1, 2, 3]}],
            },
            {
                "slug": "score",
                "name": "Score",
                "field_type": "float",
                "description": "",
                "required": False,
                "enabled": True,
                "default": 1.5,
                "validation_rules": [{"type": "between", "options": {"from": 0.5, "to": 9.5}}],
            },
            {
                "slug": "ratio",
                "name": "Ratio",
                "field_type": "float",
                "description": "",
                "required": False,
                "enabled": True,
                "validation_rules": [{"type": "enum", "options": [0.0, 0.5, 1.0]}],
            },
            {
                "slug": "birthday",
                "name": "Birthday",
                "field_type": "date",
                "description": "",
                "required": False,
                "enabled": True,
                "default": "1990-01-01",
            },
            {
                "slug": "delivery_day",
                "name": "Delivery day",
                "field_type": "date",
                "description": "",
                "required": False,
                "enabled": True,
                "validation_rules": [{"type": "enum", "options": ["2017-12-25", "2017-12-26"]}],
            },
            {
                "slug": "newsletter",
                "name": "Newsletter",
                "field_type": "boolean",
                "description": "",
                "required": False,
                "enabled": True,
                "default": False,
            },
            {
                "slug": "vip",
                "name": "VIP",
                "field_type": "boolean",
                "description": "",
                "required": True,
                "enabled": True,
                "default": True,
            },
            {
                "slug": "favourite_product",
                "name": "Favourite product",
                "field_type": "relationship",
                "description": "",
                "required": False,
                "enabled": True,
                "validation_rules": [{"type": "one-to-one", "to": "product"}],
            },
            {
                "slug": "lists",
                "name": "Lists",
                "field_type": "relationship",
                "description": "",
                "required": False,
                "enabled": True,
                "validation_rules": [{"type": "one-to-many", "to": "wishlists"}],
            },
            {
                "slug": "on",
                "name": "On",
                "field_type": "string",
                "description": "null",
                "required": False,
                "enabled": True,
                "order": 0,
            },
        ],
    ),
    (
        {
            "slug": "wishlists",
            "name": "Wishlists",
            "description": "Saved products",
            "enabled": True,
        },
        [
            {
                "slug": "items",
                "name": "Items",
                "field_type": "relationship",
                "description": "",
                "required": False,
                "enabled": True,
                "validation_rules": [{"type": "one-to-many", "to": "product"}],
            },
            {
                "slug": "title",
                "name": "Title",
                "field_type": "string",
                "description": "",
                "required": True,
                "enabled": True,
                "default": "My list",
            },
        ],
    ),
    (
        {"slug": "archived", "name": "Archived", "description": "", "enabled": False},
        [
            {
                "slug": "note",
                "name": "Note",
                "field_type": "string",
                "description": "",
                "required": False,
                "enabled": False,
            }
        ],
    ),
    (
        {"slug": "products(book)", "name": "Book", "description": "PXM template", "enabled": True},
        [
            {
                "slug": "isbn",
                "name": "ISBN",
                "field_type": "string",
                "description": "",
                "required": False,
                "enabled": True,
            }
        ],
    ),
    ({"slug": "orders", "name": "Orders", "description": "no fields yet", "enabled": True}, []),
]
FLOW_SLUGS = sorted(flow["slug"] for flow, _ in STORE)
FILES = {
    "archived.yaml",
    "customers.yaml",
    "orders.yaml",
    "products(book).yaml",
    "wishlists.yaml",
}


async def _fill(store: Any) -> None:
    config = ClientConfig(
        base_url=store.base_url,
        client_id=store.client_id,
        client_secret=store.client_secret,
        rate_limit=1000,
    )
    async with Client(config) as client:
        # Flows first: a relationship names a flow that exists (4.5).
        created = [await client.create_flow(flow) for flow, _ in STORE]
        for flow, (_, fields) in zip(created, STORE, strict=True):
            for field in fields:
                await client.create_field(str(flow["id"]), field)


@pytest.fixture
def filled_store(local_store: Any) -> Any:
    asyncio.run(_fill(local_store))
    local_store.reset_stats()
    return local_store


def test_export_to_a_directory_then_plan_shows_no_changes(
    cli: Cli, filled_store: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    env = filled_store.env()
    exported = cli("export", "-o", "flows/", env=env)
    assert exported.code == 0, exported.err
    assert exported.out == ""
    fields = sum(len(f) for _, f in STORE)
    assert f"Exported 5 flows and {fields} fields to flows/ (5 files)." in exported.err
    assert {p.name for p in (tmp_path / "flows").iterdir()} == FILES

    planned = cli("plan", "flows", "--detailed-exitcode", env=env)
    assert planned.code == 0, planned.out + planned.err
    assert "No changes." in planned.out or "0 to create" in planned.out
    assert validate_paths([tmp_path / "flows"]) == []
    assert cli("validate", "flows").code == 0
    assert filled_store.write_count() == 0  # export and plan only read


def test_export_to_one_file_and_stdout_plan_clean_too(
    cli: Cli, filled_store: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    env = filled_store.env()
    assert cli("export", "-o", "store.yaml", env=env).code == 0
    printed = cli("export", env=env)
    assert printed.code == 0
    written = (tmp_path / "store.yaml").read_text(encoding="utf-8")
    # The same document; the modeline is relative to where each one lives (both: cwd here).
    assert printed.out == written
    assert written.startswith("# yaml-language-server: $schema=schemas/provisioner.schema.json\n")
    assert list(yaml.safe_load(written)["flows"]) == FLOW_SLUGS
    assert cli("plan", "store.yaml", "--detailed-exitcode", env=env).code == 0
    assert validate_paths([tmp_path / "store.yaml"]) == []


def test_the_export_reads_like_hand_written_yaml(
    cli: Cli, filled_store: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "schemas").mkdir()
    assert cli("export", "-o", "flows/", env=filled_store.env()).code == 0
    customers = (tmp_path / "flows" / "customers.yaml").read_text(encoding="utf-8")
    assert customers.startswith(
        "# yaml-language-server: $schema=../schemas/provisioner.schema.json\n"
        "flows:\n"
        "  customers:\n"
        "    name: Customers\n"
        "    description: Extends the default customer object\n"
        "    fields:\n"
        '      "on":\n'
        '        name: "On"\n'
        "        field_type: string\n"
        '        description: "null"\n'
        "        order: 0\n"
        "      delivery_details:\n"
        "        name: Delivery Details\n"
        "        field_type: string\n"
        "        description: customers delivery details\n"
        "        order: 1\n"
        "      nickname:\n"
        '        name: "yes"\n'
        "        field_type: string\n"
        "        description: |\n"
        "          line one\n"
        "          line two: with a colon\n"
        '        default: "no"\n'
        "        order: 2\n"
        "        validation_rules:\n"
        "          - type: enum\n"
        '            options: ["yes", "no", "on", "0123", "null", "~", "1e3", "2017-12-25", '
        "'a: b', \"12:30\"]\n"
        "      loyalty_points:\n"
    )
    # Fields with the same order sort by slug; fields without one come last.
    slugs = list(yaml.safe_load(customers)["flows"]["customers"]["fields"])
    assert slugs[:5] == ["on", "delivery_details", "nickname", "loyalty_points", "tier"]
    assert slugs[-1] == "vip"
    archived = yaml.safe_load((tmp_path / "flows" / "archived.yaml").read_text(encoding="utf-8"))
    assert archived == {
        "flows": {
            "archived": {
                "name": "Archived",
                "enabled": False,
                "fields": {"note": {"name": "Note", "field_type": "string", "enabled": False}},
            }
        }
    }
    # No API default is spelled out: no `required: false`, `enabled: true`, `default: null`.
    every = "".join(p.read_text(encoding="utf-8") for p in (tmp_path / "flows").iterdir())
    for noise in ("required: false", "enabled: true", "default: null", "omit_null: false"):
        assert noise not in every
    assert "Editors will look for the schema" not in every


def test_the_exported_state_equals_the_live_one_attribute_for_attribute(
    cli: Cli, filled_store: Any, tmp_path: Path
) -> None:
    env = filled_store.env()
    # Without a trailing slash, a path that is not a directory is one file.
    assert cli("export", "-o", tmp_path / "store", "--schema-ref", "", env=env).code == 0
    assert (tmp_path / "store").is_file()
    (tmp_path / "flows").mkdir()  # an existing directory gets one file per flow
    assert cli("export", "-o", tmp_path / "flows", "--schema-ref", "", env=env).code == 0
    assert not any(
        p.read_text(encoding="utf-8").startswith("#") for p in (tmp_path / "flows").iterdir()
    )
    desired = load_desired([tmp_path / "flows"])

    async def read() -> Any:
        from provisioner.reader import read_live_state

        config = ClientConfig(
            base_url=filled_store.base_url,
            client_id=filled_store.client_id,
            client_secret=filled_store.client_secret,
            rate_limit=1000,
        )
        async with Client(config) as client:
            return await read_live_state(client)

    live = asyncio.run(read())
    assert plan(desired, live).is_empty


def test_flow_filter(cli: Cli, filled_store: Any, tmp_path: Path) -> None:
    env = filled_store.env()
    out = tmp_path / "out/"
    result = cli("export", "--flow", "wishlists", "--flow", "customers", "-o", f"{out}/", env=env)
    assert result.code == 0, result.err
    assert sorted(p.name for p in out.iterdir()) == ["customers.yaml", "wishlists.yaml"]
    one = cli("export", "--flow", "products(book)", env=env)
    assert list(yaml.safe_load(one.out)["flows"]) == ["products(book)"]

    missing = cli("export", "--flow", "customers", "--flow", "wishlist", "-o", "x.yaml", env=env)
    assert missing.code == 1
    assert "no such flow in the store: wishlist" in missing.err
    assert not Path("x.yaml").exists()


def test_existing_files_are_refused_unless_forced(
    cli: Cli, filled_store: Any, tmp_path: Path
) -> None:
    env = filled_store.env()
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "customers.yaml").write_text("mine\n", encoding="utf-8")
    (flows / "orders.yaml").write_text("mine too\n", encoding="utf-8")

    refused = cli("export", "-o", flows, env=env)
    assert refused.code == 1
    assert "refusing to overwrite existing files" in refused.err
    assert f"  - {flows / 'customers.yaml'}\n" in refused.err
    assert f"  - {flows / 'orders.yaml'}\n" in refused.err
    assert "--force" in refused.err
    # Nothing at all was written: not even the files that did not exist.
    assert sorted(p.name for p in flows.iterdir()) == ["customers.yaml", "orders.yaml"]
    assert (flows / "customers.yaml").read_text(encoding="utf-8") == "mine\n"

    forced = cli("export", "-o", flows, "--force", env=env)
    assert forced.code == 0, forced.err
    assert {p.name for p in flows.iterdir()} == FILES
    assert "mine" not in (flows / "customers.yaml").read_text(encoding="utf-8")

    single = tmp_path / "store.yaml"
    single.write_text("keep me\n", encoding="utf-8")
    filled_store.reset_stats()
    again = cli("export", "-o", single, env=env)
    assert again.code == 1
    assert str(single) in again.err
    assert single.read_text(encoding="utf-8") == "keep me\n"
    assert filled_store.stats()["total"] == 0  # refused before any request
    assert cli("export", "-o", single, "--force", env=env).code == 0
    assert yaml.safe_load(single.read_text(encoding="utf-8"))["flows"]


def test_read_only_credentials_suffice(cli: Cli, filled_store: Any) -> None:
    result = cli("export", "--flow", "orders", env=filled_store.env(secret=False))
    assert result.code == 0, result.err
    assert yaml.safe_load(result.out) == {
        "flows": {"orders": {"name": "Orders", "description": "no fields yet"}}
    }
    assert filled_store.write_count() == 0


def test_an_empty_store(cli: Cli, local_store: Any, tmp_path: Path) -> None:
    env = local_store.env()
    printed = cli("export", env=env)
    assert printed.code == 0
    assert yaml.safe_load(printed.out) == {"flows": {}}
    result = cli("export", "-o", f"{tmp_path / 'flows'}{os.sep}", env=env)
    assert result.code == 0
    assert "Exported 0 flows and 0 fields" in result.err
    assert not (tmp_path / "flows").exists() or not any((tmp_path / "flows").iterdir())


def test_the_embedded_store_is_the_default(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "flows.yaml").write_text(
        "flows:\n  wishlists:\n    name: Wishlists\n    fields:\n"
        "      title: {name: Title, field_type: string, default: 'yes'}\n",
        encoding="utf-8",
    )
    assert cli("apply", "flows.yaml", "--auto-approve").code == 0
    result = cli("export")
    assert result.code == 0, result.err
    assert result.err.startswith("Using the embedded local store")
    assert '        default: "yes"\n' in result.out


def readme_export_commands() -> list[list[str]]:
    """The commands of README's "export" code block, comments dropped."""
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("## export: adopting an existing store", 1)[1]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    return [shlex.split(line, comments=True) for line in block.splitlines() if line.strip()]


def test_the_readme_block_runs_as_documented(
    cli: Cli, filled_store: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    commands = readme_export_commands()
    assert len(commands) == 4
    for command in commands:
        assert command[0] == "provisioner"
        result = cli(*command[1:], env=filled_store.env())
        assert result.code == 0, (command, result.err)
    assert (tmp_path / "flows" / "customers.yaml").is_file()
    assert list(yaml.safe_load(Path("customers.yaml").read_text(encoding="utf-8"))["flows"]) == [
        "customers"
    ]


def test_a_default_the_store_accepted_with_the_wrong_type_is_exported_as_is(
    cli: Cli, local_store: Any, tmp_path: Path
) -> None:
    # epcc-api.md section 0: the seed walkthrough's `"default": 0` on a string field.
    async def fill() -> None:
        config = ClientConfig(
            base_url=local_store.base_url,
            client_id=local_store.client_id,
            client_secret=local_store.client_secret,
            rate_limit=1000,
        )
        async with Client(config) as client:
            flow = await client.create_flow(
                {"slug": "customers", "name": "Customers", "description": "", "enabled": True}
            )
            await client.create_field(
                str(flow["id"]),
                {
                    "slug": "delivery_details",
                    "name": "Delivery Details",
                    "field_type": "string",
                    "description": "",
                    "required": False,
                    "enabled": True,
                    "default": 0,
                },
            )

    asyncio.run(fill())
    target = tmp_path / "customers.yaml"
    result = cli("export", "-o", target, env=local_store.env())
    assert result.code == 0
    assert "        default: 0\n" in target.read_text(encoding="utf-8")
    problems = validate_paths([target])
    assert [p.path for p in problems] == ["flows.customers.fields.delivery_details.default"]
    # Not silent: the user learns it now, not at the first `plan`.
    assert "validate will refuse" in result.err
    assert str(problems[0]) in result.err


def test_written_files_get_the_usual_permissions(
    cli: Cli, filled_store: Any, tmp_path: Path
) -> None:
    # Files to commit and share: the umask decides, as for any file an editor writes (not the
    # 0600 of a temporary file); an overwritten file keeps its own mode.
    env = filled_store.env()
    umask = os.umask(0o022)
    try:
        assert cli("export", "-o", f"{tmp_path}/flows/", env=env).code == 0
        kept = tmp_path / "store.yaml"
        kept.write_text("old\n", encoding="utf-8")
        kept.chmod(0o640)
        assert cli("export", "-o", kept, "--force", env=env).code == 0
    finally:
        os.umask(umask)
    modes = {stat.S_IMODE(p.stat().st_mode) for p in (tmp_path / "flows").iterdir()}
    assert modes == {0o644}
    assert stat.S_IMODE(kept.stat().st_mode) == 0o640
