"""Issue 10 acceptance follow-up (2): what the second acceptance run found still open.

Each test drives the real CLI against the local store over HTTP, on real files; error text a
store cannot be made to send comes from a small HTTP server on an ephemeral port.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from support.httpstub import TOKEN, QuietHandler, http_server
from support.savedplan import apply_edited, save_plan
from support.seed import CUSTOMERS, staging_production_project, write
from support.store import LocalStore

# ------------------------------------------------- FAIL-C: a reviewed plan is what runs

K3 = """\
flows:
  k3:
    name: {name}
    fields:
      f1:
        name: F1
        field_type: string
        {extra}
"""


def _k3(name: str, extra: str = "") -> str:
    return K3.format(name=name, extra=extra)


def _saved_update(cli: Any, store: LocalStore, tmp_path: Path, edit: str) -> dict[str, Any]:
    """k3 applied with the name A2, then a plan to `edit` saved; returns the saved plan."""
    applied = cli("apply", write(tmp_path / "a.yaml", _k3("A2")), "--auto-approve", env=store.env())
    assert applied.code == 0, applied.err
    return save_plan(cli, write(tmp_path / "k3.yaml", edit), tmp_path / "k3.json", store.env())


# An edit of a saved plan (the parametrized tests below apply the edited plan).
Edit = Callable[[dict[str, Any]], None]


def _only(data: dict[str, Any], kind: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [op for op in data["operations"] if op["kind"] == kind]
    [op] = found
    return op


def _tamper_after(data: dict[str, Any]) -> None:
    _only(data, "update_flow")["after"]["name"] = "EVIL2"


def _tamper_changes(data: dict[str, Any]) -> None:
    _only(data, "update_flow")["changes"][0]["after"] = "EVIL"


def _tamper_before(data: dict[str, Any]) -> None:
    _only(data, "update_flow")["changes"][0]["before"] = "something else"


def _drop_change(data: dict[str, Any]) -> None:
    op = _only(data, "update_field")
    op["changes"] = [c for c in op["changes"] if c["path"] != "description"]


def _tamper_type(data: dict[str, Any]) -> None:
    # `true` and `1` are equal in Python, not in JSON nor in the API.
    op = _only(data, "update_field")
    next(c for c in op["changes"] if c["path"] == "required")["after"] = 1


def _unknown_in_update(data: dict[str, Any]) -> None:
    _only(data, "update_flow")["after"]["bogus"] = 1


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            _tamper_after,
            "operations[0] (update_flow k3): `changes` do not match the difference of `before` "
            'and `after` (expected name: "A2" -> "EVIL2"; the file lists name: "A2" -> "A3")',
        ),
        (
            _tamper_changes,
            "(update_flow k3): `changes` do not match the difference of `before` and `after` "
            '(expected name: "A2" -> "A3"; the file lists name: "A2" -> "EVIL")',
        ),
        (_tamper_before, "(update_flow k3): `changes` do not match"),
        (_drop_change, "(update_field k3.f1): `changes` do not match"),
        (_tamper_type, "(update_field k3.f1): `changes` do not match"),
        (_unknown_in_update, "(update_flow k3): `after.bogus` is not an attribute of a flow"),
    ],
    ids=["after", "changes", "changes-before", "dropped-change", "json-type", "unknown-key"],
)
def test_a_plan_whose_changes_disagree_with_what_it_writes_is_refused(
    cli: Any, local_store: LocalStore, tmp_path: Path, edit: Edit, message: str
) -> None:
    change = "description: D\n        required: true"
    data = _saved_update(cli, local_store, tmp_path, _k3("A3", change))
    edit(data)
    tampered = tmp_path / "k3_tamper.json"
    result = apply_edited(cli, local_store, data, tampered)
    assert result.code == 1, result.out + result.err
    assert result.err.strip().splitlines() == [
        next(line for line in result.err.splitlines() if line.startswith("Error"))
    ], result.err
    assert f"Error: {tampered}: malformed plan: operations[" in result.err
    assert message in result.err
    assert "EVIL" not in result.out
    assert local_store.stats()["total"] == 0


def test_the_untampered_update_applies_what_it_shows(
    cli: Any, local_store: LocalStore, tmp_path: Path
) -> None:
    data = _saved_update(cli, local_store, tmp_path, _k3("A3"))
    saved = tmp_path / "again.json"
    saved.write_text(json.dumps(data), encoding="utf-8")  # re-written, not re-planned
    result = cli("apply", saved, "--auto-approve", env=local_store.env())
    assert result.code == 0, result.err
    assert 'name: "A2" -> "A3"' in result.out
    export = cli("export", env=local_store.env())
    assert "name: A3" in export.out


def _unknown_in_create(data: dict[str, Any]) -> None:
    _only(data, "create_field")["after"]["bogus"] = 1


def _changes_on_create(data: dict[str, Any]) -> None:
    _only(data, "create_field")["changes"] = [{"path": "name", "before": None, "after": "X"}]


def _summary_of_removed_operations(data: dict[str, Any]) -> None:
    data["operations"] = []


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            _unknown_in_create,
            "operations[1] (create_field k3.f1): `after.bogus` is not an attribute of a field "
            "(expected one of name, description, field_type",
        ),
        (_changes_on_create, "(create_field k3.f1): `changes` must be empty for a create"),
        (
            _summary_of_removed_operations,
            'malformed plan: `summary` {"create": 2, "update": 0, "replace": 0, "delete": 0} '
            'does not match the operations ({"create": 0, "update": 0, "replace": 0, '
            '"delete": 0})',
        ),
    ],
    ids=["unknown-key", "changes", "summary"],
)
def test_a_create_plan_showing_what_it_never_sends_is_refused(
    cli: Any, local_store: LocalStore, tmp_path: Path, edit: Edit, message: str
) -> None:
    saved = tmp_path / "p.json"
    data = save_plan(cli, write(tmp_path / "k3.yaml", _k3("A2")), saved, local_store.env())
    edit(data)
    result = apply_edited(cli, local_store, data, saved)
    assert result.code == 1, result.out + result.err
    assert len(result.err.strip().splitlines()) == 1, result.err
    assert message in result.err
    assert "No changes" not in result.out
    assert local_store.stats()["total"] == 0


# ------------------------------------------------- FAIL-A: a store's text in apply's lines

DETAIL = "bad \x1b[31mRED\x1b[0m bell\x07 bidi\u202eevil\u2066x\u2069 c1\x9b end\r\nsecond line"
RAW = ("\x1b", "\x07", "\u202e", "\u2066", "\u2069", "\x9b", "\r")


class _RefusingStore(QuietHandler):
    """An empty store whose every write is a 422 quoting terminal controls and a new line:
    what the local store cannot be made to say."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.startswith("/oauth"):
            self.send_json(200, TOKEN)
            return
        error = {"status": 422, "title": "Unprocessable\x1b[2J", "detail": DETAIL}
        self.send_json(422, {"errors": [error]})

    def do_GET(self) -> None:
        page = {"limit": 25, "offset": 0, "current": 1, "total": 0}
        self.send_json(200, {"data": [], "meta": {"page": page, "results": {"total": 0}}})


@pytest.fixture
def refusing_store() -> Iterator[str]:
    with http_server(_RefusingStore) as url:
        yield url


def _assert_escaped(output: str, lines: list[str]) -> None:
    assert lines, output
    for raw in RAW:
        assert raw not in output, (raw, output)
    for line in lines:
        assert "\\u001b[2J" in line, line
        assert "bidi\\u202eevil\\u2066x\\u2069 c1\\u009b end\\u000d\\u000asecond line" in line
    assert not any(line.startswith("second line") for line in output.splitlines()), output


def test_apply_prints_a_store_message_escaped_in_every_line(
    cli: Any, refusing_store: str, tmp_path: Path
) -> None:
    schema = write(tmp_path / "k3.yaml", _k3("A2"))
    env = {
        "EPCC_API_BASE_URL": refusing_store,
        "EPCC_CLIENT_ID": "id",
        "EPCC_CLIENT_SECRET": "Zq9-secret",
    }
    result = cli("apply", schema, "--auto-approve", env=env)
    assert result.code == 1, result.out + result.err
    output = result.out + result.err
    failed = [line for line in output.splitlines() if "FAILED:" in line or "failed:" in line]
    assert any("create_flow k3 ... FAILED: " in line for line in failed), output
    assert any(line.startswith("  failed:  + create_flow k3: ") for line in failed), output
    _assert_escaped(output, failed)


def test_apply_all_prints_a_store_message_escaped_in_every_line(
    cli: Any, refusing_store: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "flows" / "k3.yaml", _k3("A2"))
    write(
        tmp_path / "provisioner.toml",
        'paths = ["flows/"]\n[environments.e]\n'
        f'base_url = "{refusing_store}"\nclient_id_env = "E_ID"\nclient_secret_env = "E_S"\n',
    )
    monkeypatch.chdir(tmp_path)
    result = cli("apply", "--all", "--auto-approve", env={"E_ID": "id", "E_S": "Zq9-secret"})
    assert result.code == 1, result.out + result.err
    output = result.out + result.err
    failed = [line for line in output.splitlines() if "failed:" in line]
    assert any(line.startswith("[e] + create_flow k3 ... failed: ") for line in failed), output
    assert any(line.startswith("e: failed: ") for line in output.splitlines()), output
    _assert_escaped(output, [line for line in failed if "422" in line])


# ------------------------------------------------- FAIL-B: a saved plan of an environment


@pytest.fixture
def promoted(
    cli: Any, local_store_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[dict[str, str], LocalStore]:
    """staging applied; a plan of production (which comes after staging) saved as p.json."""
    staging: LocalStore = local_store_factory()
    production: LocalStore = local_store_factory()
    variables = staging_production_project(tmp_path, staging, production)
    write(tmp_path / "flows" / "schema.yaml", CUSTOMERS)
    monkeypatch.chdir(tmp_path)
    applied = cli("apply", "--env", "staging", "--auto-approve", env=variables)
    assert applied.code == 0, applied.err
    planned = cli("plan", "--env", "production", "--out", "p.json", env=variables)
    assert planned.code == 0, planned.err
    return variables, production


def test_a_saved_plan_of_an_environment_with_after_applies_there(
    cli: Any, promoted: tuple[dict[str, str], LocalStore]
) -> None:
    variables, production = promoted
    result = cli("apply", "p.json", "--env", "production", "--auto-approve", env=variables)
    assert result.code == 0, result.err
    assert "Apply complete" in result.out
    assert production.write_count() > 0


def test_a_saved_plan_of_an_environment_still_waits_for_the_one_it_comes_after(
    cli: Any, promoted: tuple[dict[str, str], LocalStore], tmp_path: Path
) -> None:
    variables, production = promoted
    # The project's files moved on and staging does not match them yet.
    write(tmp_path / "flows" / "more.yaml", _k3("A2"))
    result = cli("apply", "p.json", "--env", "production", "--auto-approve", env=variables)
    assert result.code == 3, result.out + result.err
    assert "refusing to apply production: it comes after staging" in result.err
    assert "staging is behind: 2 to create" in result.err
    assert production.write_count() == 0


SAVED_PLAN_WHERE_YAML_IS_EXPECTED = [
    (["apply", "p.json", "--all", "--auto-approve"], "not YAML to apply to every environment"),
    (["plan", "p.json"], "not YAML to plan from: apply it with `provisioner apply p.json`"),
    (
        ["plan", "p.json", "--env", "production"],
        "not YAML to plan from: apply it with `provisioner apply p.json --env production`",
    ),
    (
        ["validate", "p.json", "--env", "production"],
        "not YAML to validate: apply it with `provisioner apply p.json --env production`",
    ),
    (["validate", "p.json", "--all"], "p.json is a saved plan (from `plan --out`)"),
]


def test_a_saved_plan_where_yaml_is_expected_is_one_line(
    cli: Any, promoted: tuple[dict[str, str], LocalStore]
) -> None:
    # One project and saved plan for every command (two stores each would cost seconds).
    variables, production = promoted
    production.reset_stats()
    for args, message in SAVED_PLAN_WHERE_YAML_IS_EXPECTED:
        result = cli(*args, env=variables)
        assert result.code == 1, (args, result.out + result.err)
        assert result.err.strip().splitlines() == [
            next(line for line in result.err.splitlines() if line.startswith("Error"))
        ], (args, result.err)
        assert "Error: p.json is a saved plan (from `plan --out`), not YAML to " in result.err
        assert message in result.err, (args, result.err)
    assert production.stats()["total"] == 0


# ------------------------------------------------- minors: plan --out's hint and ''


def _hint(err: str) -> list[str]:
    line = next(line for line in err.splitlines() if line.startswith("Saved the plan to"))
    return shlex.split(line.split("apply it with `", 1)[1].rstrip(".").rstrip("`"))


def test_the_hint_after_plan_db_out_names_the_database(
    cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "k3.yaml", _k3("A2"))
    planned = cli("plan", "k3.yaml", "--db", "one.sqlite", "--out", "e.json", env={})
    assert planned.code == 0, planned.err
    hint = _hint(planned.err)
    assert hint == ["provisioner", "apply", "e.json", "--db", "one.sqlite"]
    applied = cli(*hint[1:], "--auto-approve", env={})
    assert applied.code == 0, applied.err
    assert "Apply complete: 2 operation(s) applied." in applied.out


def test_the_hint_after_plan_base_url_out_names_the_store_and_no_credential(
    cli: Any, local_store: LocalStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "k3.yaml", _k3("A2"))
    env = {k: v for k, v in local_store.env().items() if k != "EPCC_API_BASE_URL"}
    url = local_store.base_url
    planned = cli("plan", "k3.yaml", "--base-url", url, "--out", "p.json", env=env)
    assert planned.code == 0, planned.err
    hint = _hint(planned.err)
    assert hint == ["provisioner", "apply", "p.json", "--base-url", url]
    assert local_store.client_id not in planned.err
    assert local_store.client_secret not in planned.err
    applied = cli(*hint[1:], "--auto-approve", env=env)
    assert applied.code == 0, applied.err


def test_plan_out_empty_is_one_line_and_no_request(
    cli: Any, local_store: LocalStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "k3.yaml", _k3("A2"))
    local_store.reset_stats()
    result = cli("plan", "k3.yaml", "--out", "", env=local_store.env())
    assert result.code == 1, result.err
    assert result.err.strip().splitlines() == [
        "Error: --out is empty: give the file to save the plan to (plan.json); "
        "nothing was read or written."
    ]
    assert local_store.stats()["total"] == 0


class _RefusingReads(_RefusingStore):
    """Every read is a 400 quoting terminal controls and a new line."""

    def do_GET(self) -> None:
        error = {"status": 400, "title": "Bad Request\x1b[2J", "detail": DETAIL}
        self.send_json(400, {"errors": [error]})


def test_a_store_message_with_a_new_line_is_one_error_line(cli: Any, tmp_path: Path) -> None:
    with http_server(_RefusingReads) as url:
        env = {"EPCC_API_BASE_URL": url, "EPCC_CLIENT_ID": "id", "EPCC_CLIENT_SECRET": "Zq9-s"}
        result = cli("export", env=env)
    assert result.code == 1, result.err
    errors = [line for line in result.err.splitlines() if line.startswith("Error")]
    _assert_escaped(result.err, errors)
    assert len(errors) == 1, result.err
