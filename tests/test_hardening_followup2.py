"""Issue 10 acceptance follow-up (2): what the second acceptance run found still open.

Each test drives the real CLI against the local store over HTTP, on real files; error text a
store cannot be made to send comes from a small HTTP server on an ephemeral port.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from support.seed import write
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
    saved = tmp_path / "k3.json"
    planned = cli("plan", write(tmp_path / "k3.yaml", edit), "--out", saved, env=store.env())
    assert planned.code == 0, planned.err
    data: dict[str, Any] = json.loads(saved.read_text(encoding="utf-8"))
    return data


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
    cli: Any,
    local_store: LocalStore,
    tmp_path: Path,
    edit: Callable[[dict[str, Any]], None],
    message: str,
) -> None:
    change = "description: D\n        required: true"
    data = _saved_update(cli, local_store, tmp_path, _k3("A3", change))
    edit(data)
    tampered = tmp_path / "k3_tamper.json"
    tampered.write_text(json.dumps(data), encoding="utf-8")
    local_store.reset_stats()
    result = cli("apply", tampered, "--auto-approve", env=local_store.env())
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
    cli: Any,
    local_store: LocalStore,
    tmp_path: Path,
    edit: Callable[[dict[str, Any]], None],
    message: str,
) -> None:
    saved = tmp_path / "p.json"
    schema = write(tmp_path / "k3.yaml", _k3("A2"))
    assert cli("plan", schema, "--out", saved, env=local_store.env()).code == 0
    data = json.loads(saved.read_text(encoding="utf-8"))
    edit(data)
    saved.write_text(json.dumps(data), encoding="utf-8")
    local_store.reset_stats()
    result = cli("apply", saved, "--auto-approve", env=local_store.env())
    assert result.code == 1, result.out + result.err
    assert len(result.err.strip().splitlines()) == 1, result.err
    assert message in result.err
    assert "No changes" not in result.out
    assert local_store.stats()["total"] == 0
