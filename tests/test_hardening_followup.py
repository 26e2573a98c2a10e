"""Issue 10 acceptance follow-up: what the acceptance run found still open on main.

Each test drives the real thing: the CLI against the local store over HTTP (with its fault
knobs), real files (a FIFO, a symlink), and, for error text a store cannot be made to send,
a small HTTP server on an ephemeral port.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import stat
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from support.httpstub import TOKEN, QuietHandler, http_server
from support.savedplan import apply_edited, save_plan
from support.seed import CUSTOMERS, WISHLISTS, staging_production_project, write
from support.store import LocalStore

from provisioner.client import Client, ClientConfig
from provisioner.errors import ServerError
from provisioner.reader import read_live_state

# --------------------------------------------------------------------------- F1: no traceback


class _FlowsFailFirst:
    """A real client whose fields' list starts only once the flows' list has failed: the order
    in which a store failing every request made `read_live_state` abandon a failed task."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.flows_done = asyncio.Event()

    async def list_flows(self) -> list[dict[str, Any]]:
        try:
            return await self.client.list_flows()
        finally:
            self.flows_done.set()

    async def list_fields(self) -> list[dict[str, Any]]:
        await self.flows_done.wait()
        return await self.client.list_fields()

    async def list_flow_fields(self, flow_slug: str) -> list[dict[str, Any]]:
        return await self.client.list_flow_fields(flow_slug)


def test_both_first_lists_failing_leave_no_unretrieved_task(
    local_store_factory: Any,
) -> None:
    # Seed 7 draws 5xx first: no 429 slows the client's pace.
    store: LocalStore = local_store_factory(fail_rate=1.0, seed=7)
    config = ClientConfig(
        base_url=store.base_url,
        client_id=store.client_id,
        client_secret=store.client_secret,
        rate_limit=1000,
        max_attempts=1,
        backoff_base=0,
        deadline=5,
    )
    reported: list[str] = []

    async def read() -> None:
        asyncio.get_running_loop().set_exception_handler(
            lambda _loop, context: reported.append(str(context.get("message")))
        )
        async with Client(config) as client:
            await read_live_state(_FlowsFailFirst(client))

    with pytest.raises(ServerError, match="/v2/fields"):
        asyncio.run(read())
    gc.collect()  # an abandoned task's exception is reported when the task is collected
    assert reported == []


@pytest.mark.parametrize("command", ["plan", "apply", "export"])
def test_a_store_failing_every_read_is_one_error_line(
    command: str,
    local_store_factory: Any,
    cli: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Seed 7 draws 5xx first: no 429 slows the client's pace.
    store: LocalStore = local_store_factory(fail_rate=1.0, seed=7)
    from_env = ClientConfig.from_env.__func__  # type: ignore[attr-defined]

    def quick(cls: type[ClientConfig], /, env: Any, **overrides: Any) -> ClientConfig:
        # One attempt per request, no backoff: the run fails in a fraction of a second.
        config: ClientConfig = from_env(cls, env, **overrides)
        return replace(config, max_attempts=1, backoff_base=0, deadline=5)

    monkeypatch.setattr(ClientConfig, "from_env", classmethod(quick))
    schema = write(tmp_path / "schema.yaml", CUSTOMERS)
    args = {
        "plan": ["plan", schema],
        "apply": ["apply", schema, "--auto-approve"],
        "export": ["export", "-o", tmp_path / "out.yaml"],
    }[command]
    result = cli(*args, env=store.env())
    gc.collect()  # an abandoned task's exception would be logged now
    err = result.err + capsys.readouterr().err
    assert result.code == 1
    assert [line for line in err.splitlines() if line.startswith("Error")] == [
        next(line for line in err.splitlines() if line.startswith("Error: GET /v2/"))
    ]
    assert "Traceback" not in err
    assert "Task exception" not in err
    assert err.count("\n") == 2, err  # the store line and the error line
    assert store.write_count() == 0


# --------------------------------------------------------------------------- F2: strict bodies

NEW_FLOW = (
    """\
flows:
  tmpe:
    name: E
    fields:
      f1:
        name: F1
        field_type: string
"""
    + WISHLISTS
)


def _op(data: dict[str, Any], kind: str) -> dict[str, Any]:
    op: dict[str, Any] = next(op for op in data["operations"] if op["kind"] == kind)
    return op


def _drop_after(key: str, kind: str) -> Any:
    def edit(data: dict[str, Any]) -> None:
        del _op(data, kind)["after"][key]

    return edit


def _blob(data: dict[str, Any]) -> None:
    _op(data, "create_field")["after"]["field_type"] = "blob"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (_drop_after("name", "create_flow"), "(create_flow tmpe): `after.name` is required"),
        (_drop_after("name", "create_field"), "(create_field tmpe.f1): `after.name` is required"),
        (_blob, '(create_field tmpe.f1): `after.field_type`: unknown value "blob" (expected'),
        (
            _drop_after("api_type", "create_custom_api"),
            "(create_custom_api wishlists): `after.api_type` is required",
        ),
    ],
    ids=["flow-name", "field-name", "field-type", "api-type"],
)
def test_a_saved_create_missing_what_the_api_requires_sends_nothing(
    cli: Any, local_store: LocalStore, tmp_path: Path, edit: Any, message: str
) -> None:
    saved = tmp_path / "plan.json"
    data = save_plan(cli, write(tmp_path / "schema.yaml", NEW_FLOW), saved, local_store.env())
    edit(data)
    result = apply_edited(cli, local_store, data, saved)
    assert result.code == 1, result.err
    assert "malformed plan: operations[" in result.err
    assert message in result.err
    assert len(result.err.strip().splitlines()) == 1, result.err
    assert local_store.stats()["total"] == 0


# --------------------------------------------------------------------------- F3: plan -> store


def test_a_saved_plan_is_refused_by_another_store(
    cli: Any, local_store_factory: Any, tmp_path: Path
) -> None:
    made_on: LocalStore = local_store_factory()
    other: LocalStore = local_store_factory()
    saved = tmp_path / "plan.json"
    data = save_plan(cli, write(tmp_path / "schema.yaml", CUSTOMERS), saved, made_on.env())
    assert data["format_version"] == 4
    assert data["store"]["url"] == made_on.base_url
    assert made_on.client_id not in saved.read_text(encoding="utf-8")
    assert made_on.client_secret not in saved.read_text(encoding="utf-8")
    other.reset_stats()
    result = cli("apply", saved, "--auto-approve", env=other.env())
    assert result.code == 1, result.err
    error = [line for line in result.err.splitlines() if line.startswith("Error")]
    assert len(error) == 1, result.err
    assert f"made against the store at {made_on.base_url} (client id sha256" in error[0]
    assert f"would write to the store at {other.base_url}" in error[0]
    assert other.stats()["total"] == 0
    assert cli("apply", saved, "--auto-approve", env=made_on.env()).code == 0


def test_a_version_4_plan_without_its_store_is_malformed(
    cli: Any, local_store: LocalStore, tmp_path: Path
) -> None:
    saved = tmp_path / "plan.json"
    data = save_plan(cli, write(tmp_path / "schema.yaml", CUSTOMERS), saved, local_store.env())
    del data["store"]
    result = apply_edited(cli, local_store, data, saved)
    assert result.code == 1
    assert "malformed plan: `store` is required in a format_version 4 plan" in result.err
    assert local_store.stats()["total"] == 0


def test_a_plan_of_an_environment_says_to_apply_it_there_and_nowhere_else(
    cli: Any,
    local_store_factory: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    staging: LocalStore = local_store_factory()
    production: LocalStore = local_store_factory()
    variables = staging_production_project(tmp_path, staging, production)
    write(tmp_path / "flows" / "schema.yaml", CUSTOMERS)
    monkeypatch.chdir(tmp_path)
    planned = cli("plan", "--env", "staging", "--out", "st2.json", env=variables)
    assert planned.code == 0, planned.err
    assert "apply it with `provisioner apply st2.json --env staging`" in planned.err
    # Exactly the command of the old hint, no variables: the embedded store is refused, and
    # its database is not even created.
    staging.reset_stats()
    result = cli("apply", "st2.json", "--auto-approve")
    assert result.code == 1, result.err
    assert f"made against the store at {staging.base_url}" in result.err
    assert "would write to the embedded local store at" in result.err
    assert not (tmp_path / ".provisioner").exists()
    assert staging.stats()["total"] == 0
    applied = cli("apply", "st2.json", "--env", "staging", "--auto-approve", env=variables)
    assert applied.code == 0, applied.err


# --------------------------------------------------------------------------- F4: output files


def test_plan_out_through_a_symlink_writes_its_target_and_keeps_the_link(
    cli: Any, local_store: LocalStore, tmp_path: Path
) -> None:
    schema = write(tmp_path / "schema.yaml", CUSTOMERS)
    (tmp_path / "plans").mkdir()
    target = tmp_path / "plans" / "real.json"
    target.write_text("old", encoding="utf-8")
    link = tmp_path / "plan.json"
    link.symlink_to(target)
    result = cli("plan", schema, "--out", link, env=local_store.env())
    assert result.code == 0, result.err
    assert link.is_symlink()
    assert json.loads(target.read_text(encoding="utf-8"))["format_version"] == 4
    assert sorted(p.name for p in (tmp_path / "plans").iterdir()) == ["real.json"]
    assert cli("apply", link, "--auto-approve", env=local_store.env()).code == 0


@pytest.mark.parametrize("command", ["plan", "export"])
def test_an_output_that_is_a_fifo_is_refused_never_replaced(
    command: str, cli: Any, local_store: LocalStore, tmp_path: Path
) -> None:
    schema = write(tmp_path / "schema.yaml", CUSTOMERS)
    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo)
    args = ["plan", schema, "--out", fifo] if command == "plan" else ["export", "-o", fifo]
    result = cli(*args, "--force" if command == "export" else "--no-color", env=local_store.env())
    assert result.code == 1
    errors = [line for line in result.err.splitlines() if line.startswith("Error")]
    assert errors == [
        f"Error: {fifo} is a FIFO, not a regular file: give the path of a file to"
        " write; nothing was written."
    ]
    assert "Saved" not in result.err
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    if command == "plan":  # shown before it could not be saved
        assert "to create" in result.out


def test_export_to_an_empty_output_is_one_line(
    cli: Any, local_store: LocalStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    local_store.reset_stats()
    result = cli("export", "-o", "", env=local_store.env())
    assert result.code == 1
    assert result.err.strip().splitlines() == [
        "Error: -o/--output is empty: give a file (flows.yaml) or a directory (flows/); "
        "nothing was read or written."
    ]
    assert list(here.iterdir()) == []
    assert local_store.stats()["total"] == 0


# --------------------------------------------------------------------------- F5: blank secret


@pytest.mark.parametrize("secret", ["", "  ", "\n"], ids=["empty", "spaces", "newline"])
def test_a_blank_environment_secret_is_refused_before_anything_is_read(
    secret: str, cli: Any, local_store_factory: Any, tmp_path: Path
) -> None:
    staging: LocalStore = local_store_factory()
    production: LocalStore = local_store_factory()
    variables = staging_production_project(tmp_path, staging, production)
    write(tmp_path / "flows" / "schema.yaml", CUSTOMERS)
    toml = tmp_path / "provisioner.toml"
    env = {**variables, "PROD_SECRET": secret}
    result = cli("apply", "--env", "production", "--project", toml, "--auto-approve", env=env)
    assert result.code == 1, result.err
    assert "set PROD_SECRET" in result.err
    assert result.err.rstrip().endswith("Nothing was read or applied.")
    for store in (staging, production):
        assert store.stats()["total"] == 0


# --------------------------------------------------------------------------- F6: toml `db`


@pytest.mark.parametrize("where", ["text", "under-a-file"])
def test_a_bad_db_in_the_project_file_is_blamed_on_its_line(
    where: str, cli: Any, tmp_path: Path
) -> None:
    (tmp_path / "text.sqlite").write_text("hello\n", encoding="utf-8")
    db = "text.sqlite" if where == "text" else "text.sqlite/x.sqlite"
    toml = write(
        tmp_path / "provisioner.toml",
        f'paths = ["flows/"]\n\n[environments.dev]\ndb = "{db}"\n',
    )
    write(tmp_path / "flows" / "schema.yaml", CUSTOMERS)
    result = cli("plan", "--env", "dev", "--project", toml)
    assert result.code == 1
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err  # no store line before the checks pass
    assert f"({toml}:4:1: `db` of [environments.dev])" in lines[0]
    assert "--db" not in lines[0]
    assert (tmp_path / "text.sqlite").read_text(encoding="utf-8") == "hello\n"


# --------------------------------------------------------------------------- F7: controls

EVIL = "evil \u202e txet \u001b[31m red \u0007 bell \u009b2J \u007f del"


class _EvilStore(QuietHandler):
    """A store whose every answer but the token is a 400 quoting terminal controls: what
    the local store cannot be made to say."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_json(200, TOKEN)

    def do_GET(self) -> None:
        self.send_json(400, {"errors": [{"status": 400, "title": "Bad Request", "detail": EVIL}]})


def test_a_store_message_with_terminal_controls_is_printed_escaped(
    cli: Any, tmp_path: Path
) -> None:
    with http_server(_EvilStore) as url:
        env = {"EPCC_API_BASE_URL": url, "EPCC_CLIENT_ID": "id", "EPCC_CLIENT_SECRET": "s"}
        result = cli("export", env=env)
    assert result.code == 1
    error = next(line for line in result.err.splitlines() if line.startswith("Error"))
    assert "evil \\u202e txet \\u001b[31m red \\u0007 bell \\u009b2J \\u007f del" in error
    for raw in ("\u001b", "\u0007", "\u009b", "\u007f", "\u202e"):
        assert raw not in result.err


def test_validate_of_a_saved_plan_says_to_apply_it(
    cli: Any, local_store: LocalStore, tmp_path: Path
) -> None:
    saved = tmp_path / "plan.out"
    save_plan(cli, write(tmp_path / "schema.yaml", CUSTOMERS), saved, local_store.env())
    result = cli("validate", saved)
    assert result.code == 1
    assert result.err.strip().splitlines() == [
        f"Error: {saved} is a saved plan (from `plan --out`), not YAML to validate: apply it "
        f"with `provisioner apply {saved}` (its operations are checked when it is read)."
    ]
