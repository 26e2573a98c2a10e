"""Overlays: per-environment YAML merged into the shared schema attribute by attribute
(issue 13.2). Every diagnostic names the file the value came from."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.seed import write

from provisioner.config import load_desired
from provisioner.errors import ConfigError
from provisioner.overlay import check_environment, load_environment

SHARED = """\
flows:
  customers:
    name: Customers
    description: shared
    fields:
      speed:
        name: Speed
        field_type: string
        description: how fast
        validation_rules:
          - type: enum
            options: [fast, slow]
      nickname:
        name: Nickname
        field_type: string
"""


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "flows" / "customers.yaml", SHARED)
    return tmp_path


def test_an_overlay_changes_attributes_and_adds_fields_and_flows(tree: Path) -> None:
    write(
        tree / "envs" / "dev" / "dev.yaml",
        """\
        flows:
          customers:
            description: dev copy
            fields:
              speed:
                validation_rules:
                  - type: enum
                    options: [fast, slow, debug]
                default: debug
              trace:
                name: Trace
                field_type: boolean
          debug_log:
            name: Debug log
            fields:
              line:
                name: Line
                field_type: string
        """,
    )
    state = load_environment([Path("flows")], [Path("envs/dev")])
    customers = state.flows["customers"]
    assert customers.name == "Customers"  # kept from the shared file
    assert customers.description == "dev copy"  # from the overlay
    speed = customers.fields["speed"]
    assert speed.description == "how fast"
    assert speed.validation_rules == ({"type": "enum", "options": ["fast", "slow", "debug"]},)
    assert speed.default == "debug"
    assert set(customers.fields) == {"speed", "nickname", "trace"}
    assert set(state.flows) == {"customers", "debug_log"}
    # Locations name the file each declaration came from.
    assert speed.location is not None
    assert speed.location.file == str(Path("flows/customers.yaml"))
    trace = customers.fields["trace"].location
    assert trace is not None
    assert (trace.file, trace.line) == (str(Path("envs/dev/dev.yaml")), 10)
    # The shared files alone are untouched by the merge.
    assert load_desired([Path("flows")]).flows["customers"].description == "shared"


def test_without_overlays_it_is_the_shared_files(tree: Path) -> None:
    assert load_environment([Path("flows")], []) == load_desired([Path("flows")])


def test_diagnostics_name_the_overlay_the_value_came_from(tree: Path) -> None:
    write(
        tree / "envs" / "dev" / "a.yaml",
        """\
        flows:
          customers:
            fields:
              speed:
                default: 3
              extra:
                name: Extra
                field_type: strin
          debug:
            name: Debug
            fields:
              x:
                name: X
                field_type: integer
                colour: red
        """,
    )
    checked = check_environment([Path("flows")], [Path("envs/dev")])
    assert checked.state is None
    overlay = str(Path("envs/dev/a.yaml"))
    assert [str(d) for d in checked.diagnostics] == [
        f"{overlay}:5:18: flows.customers.fields.speed.default: got the integer 3 "
        "(expected a string or null for a string field)",
        f'{overlay}:8:21: flows.customers.fields.extra.field_type: unknown value "strin"; '
        "did you mean `string`? (expected one of string, integer, boolean, float, date, "
        "relationship)",
        f"{overlay}:15:9: flows.debug.fields.x.colour: unknown key `colour` (expected one of "
        "default, description, enabled, field_type, name, omit_null, order, renamed_from, "
        "required, state, unique, validation_rules)",
    ]


def test_a_merged_value_that_breaks_a_shared_rule_points_at_the_overlay(tree: Path) -> None:
    write(
        tree / "envs" / "prod.yaml",
        """\
        flows:
          customers:
            fields:
              speed:
                default: medium
        """,
    )
    checked = check_environment([Path("flows")], [Path("envs/prod.yaml")])
    assert len(checked.diagnostics) == 1
    diagnostic = checked.diagnostics[0]
    assert (diagnostic.file, diagnostic.line) == (str(Path("envs/prod.yaml")), 5)
    assert diagnostic.path == "flows.customers.fields.speed.default"
    assert "medium" in diagnostic.message


def test_the_merged_result_is_checked_as_a_whole(tree: Path) -> None:
    # The overlay's relationship targets a flow only the overlay declares: valid together.
    write(
        tree / "envs" / "dev.yaml",
        """\
        flows:
          customers:
            fields:
              favourite:
                name: Favourite
                field_type: relationship
                validation_rules:
                  - type: one-to-one
                    to: wishlists
          wishlists:
            name: Wishlists
        """,
    )
    state = load_environment([Path("flows")], [Path("envs/dev.yaml")])
    assert "wishlists" in state.flows
    # And a shared field turned into something invalid by the overlay is reported.
    write(
        tree / "envs" / "bad.yaml",
        """\
        flows:
          customers:
            fields:
              speed:
                field_type: relationship
        """,
    )
    checked = check_environment([Path("flows")], [Path("envs/bad.yaml")])
    # The rules that no longer fit are the shared file's values: located there, and the
    # message names the overlay that made them wrong.
    assert [(d.file, d.line) for d in checked.diagnostics] == [
        ("flows/customers.yaml", 10),
        ("flows/customers.yaml", 11),
    ]
    assert all(
        d.message.endswith("(with the overlay applied: envs/bad.yaml sets field_type)")
        for d in checked.diagnostics
    )


def test_a_flow_in_two_overlays_is_an_error(tree: Path) -> None:
    write(tree / "envs" / "a.yaml", "flows:\n  customers:\n    description: a\n")
    write(tree / "envs" / "b.yaml", "flows:\n  customers:\n    description: b\n")
    with pytest.raises(ConfigError) as raised:
        load_environment([Path("flows")], [Path("envs")])
    assert [str(d) for d in raised.value.diagnostics] == [
        "envs/b.yaml:2:3: flows.customers: flow `customers` is also declared in the overlay "
        "envs/a.yaml:2:3 (expected each flow in at most one overlay of an environment)"
    ]


def test_a_new_flow_in_two_overlays_names_both(tree: Path) -> None:
    write(tree / "envs" / "a.yaml", "flows:\n  extra:\n    name: A\n")
    write(tree / "envs" / "b.yaml", "\n\nflows:\n  extra:\n    name: B\n")
    checked = check_environment([Path("flows")], [Path("envs")])
    assert [str(d) for d in checked.diagnostics] == [
        "envs/b.yaml:4:3: flows.extra: flow `extra` is also declared in the overlay "
        "envs/a.yaml:2:3 (expected each flow in at most one overlay of an environment)"
    ]


def test_broken_overlay_files_are_reported_and_never_merged(tree: Path) -> None:
    write(tree / "envs" / "dup.yaml", "flows:\n  customers:\n    name: A\n    name: B\n")
    write(tree / "envs" / "list.yaml", "- 1\n")
    write(tree / "envs" / "typo.yaml", "flow:\n  customers:\n    name: A\n")
    (tree / "envs" / "empty").mkdir()
    checked = check_environment([Path("flows")], [Path("envs"), Path("envs/empty"), Path("nope")])
    texts = [str(d) for d in checked.diagnostics]
    assert any(
        t.startswith("envs/dup.yaml:4:5: flows.customers.name: duplicate key") for t in texts
    )
    assert any(t.startswith("envs/list.yaml:1:1: got a list") for t in texts), texts
    assert any(t.startswith("envs/typo.yaml:1:1: flow: unknown key `flow`") for t in texts), texts
    assert any(t.startswith("envs/empty:0:0: no *.yaml") for t in texts)
    assert any(t.startswith("nope:0:0: no such file or directory") for t in texts)
    # The shared file itself is fine: nothing is blamed on it.
    assert not any(t.startswith("flows/") for t in texts)


def test_an_overlay_replacing_a_whole_field_with_garbage_is_located_in_the_overlay(
    tree: Path,
) -> None:
    write(tree / "envs" / "x.yaml", "flows:\n  customers:\n    fields:\n      speed: 5\n")
    checked = check_environment([Path("flows")], [Path("envs/x.yaml")])
    assert [d.file for d in checked.diagnostics] == ["envs/x.yaml"]
    assert checked.diagnostics[0].line == 4
