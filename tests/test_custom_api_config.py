"""The `custom_apis:` key of the YAML (issue 14 items 1 and 2): the desired state it builds,
the JSON Schema that describes it, and validate's located checks (the invalid corpus holds the
refused shapes: tests/invalid/custom_api_*)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support import Cli

from provisioner.config import load_desired, load_schema, validate_paths
from provisioner.custom_api_model import api_attributes, field_attributes
from provisioner.epcc import custom_apis as facts
from provisioner.overlay import load_environment

WISHLISTS = """\
custom_apis:
  wishlists:
    name: Wishlists
    api_type: wishlist_ext
    parent_apis: [/v2/extensions]
    fields:
      handle:
        name: Handle
        field_type: string
        use_as_url_slug: true
        validation:
          string: {max_length: 64, unique: "yes", allow_null_values: false}
      mass: {name: Mass, field_type: float, validation: {float: {min_value: 1}}}
      gone: {state: absent}
  items:
    name: Items
    api_type: wishlist_item_ext
    parent_apis: [wishlists, live_parent]
"""


def test_custom_apis_build_a_state_with_the_api_defaults(tmp_path: Path) -> None:
    path = tmp_path / "apis.yaml"
    path.write_text(WISHLISTS, encoding="utf-8")
    state = load_desired([path])
    assert state.flows == {}
    wishlists = state.custom_apis["wishlists"]
    assert api_attributes(wishlists) == {
        "name": "Wishlists",
        "description": "",
        "api_type": "wishlist_ext",
        "allow_upserts": False,
        "presentation": {"page": None, "section": None},
        "parent_apis": ["/v2/extensions"],
    }
    handle = field_attributes(wishlists.fields["handle"])
    # Every key of the type's validation, the API's defaults filled in.
    assert handle["validation"] == {
        "string": {
            "min_length": None,
            "max_length": 64,
            "regex": None,
            "allow_null_values": False,
            "immutable": False,
            "unique": "yes",
            "unique_case_insensitivity": False,
        }
    }
    assert handle["presentation"] == {"sort_order": facts.SORT_ORDER_DEFAULT}
    # A float field's bounds are floats, as the API echoes them.
    mass = field_attributes(wishlists.fields["mass"])
    assert mass["validation"]["float"]["min_value"] == 1.0
    assert isinstance(mass["validation"]["float"]["min_value"], float)
    assert wishlists.fields["gone"].absent
    assert wishlists.location is not None
    assert wishlists.location.line == 2


def test_the_schema_describes_custom_apis_from_the_facts() -> None:
    schema = load_schema()
    assert "custom_apis" in schema["properties"]
    field = schema["$defs"]["custom_field"]
    assert field["properties"]["field_type"]["enum"] == list(facts.FIELD_TYPES)
    validation = field["properties"]["validation"]["properties"]
    assert set(validation) == set(facts.VALIDATION)
    for field_type, keys in facts.VALIDATION.items():
        assert set(validation[field_type]["properties"]) == set(keys)
    api = schema["$defs"]["custom_api"]
    assert api["properties"]["api_type"]["pattern"] == facts.API_TYPE_PATTERN


def test_a_file_may_hold_flows_and_custom_apis(tmp_path: Path) -> None:
    path = tmp_path / "both.yaml"
    path.write_text("flows:\n  customers:\n    name: Customers\n" + WISHLISTS, encoding="utf-8")
    state = load_desired([path])
    assert set(state.flows) == {"customers"}
    assert set(state.custom_apis) == {"wishlists", "items"}


def test_validate_counts_custom_apis_and_warns_about_undeclared_parents(
    cli: Cli, tmp_path: Path
) -> None:
    path = tmp_path / "apis.yaml"
    path.write_text(WISHLISTS, encoding="utf-8")
    result = cli("validate", path)
    assert result.code == 0, result.out
    assert "warning: custom_apis.items.parent_apis: `live_parent` is not declared" in result.out
    assert result.out.rstrip().endswith("0 flows, 0 fields, 2 Custom APIs (3 fields).")
    as_json = json.loads(cli("validate", path, "--format", "json").out)
    assert (as_json["custom_apis"], as_json["custom_fields"]) == (2, 3)


def test_a_regex_re2_refuses_is_located(tmp_path: Path) -> None:
    path = tmp_path / "apis.yaml"
    path.write_text(
        WISHLISTS.replace('unique: "yes"', 'unique: "yes", regex: "(?=a)b"'), encoding="utf-8"
    )
    [problem] = validate_paths([path])
    assert problem.path == "custom_apis.wishlists.fields.handle.validation.string.regex"
    assert problem.line == 12
    assert problem.message.startswith("RE2 refuses it")


def test_the_slug_wording_states_the_facts_lengths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lengths `validate` states for a Custom API slug and a field slug are the facts'
    (10): changing a fact changes the words."""
    too_long = "a" * (facts.API_SLUG_LENGTH[1] + 1)
    path = tmp_path / "apis.yaml"
    path.write_text(
        f"custom_apis:\n  {too_long}: {{name: Long, api_type: long_ext}}\n"
        "  ok:\n    name: Ok\n    api_type: ok_ext\n"
        "    fields:\n      '': {name: Empty, field_type: string}\n",
        encoding="utf-8",
    )

    def expected() -> dict[str, str]:
        return {p.path: p.expected for p in validate_paths([path])}

    found = expected()
    high = facts.API_SLUG_LENGTH[1]
    assert found[f"custom_apis.{too_long}"].endswith(f", 1 to {high} of them")
    assert found["custom_apis.ok.fields."] == f"1 to {facts.FIELD_SLUG_LENGTH[1]} characters"
    monkeypatch.setattr(facts, "API_SLUG_LENGTH", (1, 7))
    monkeypatch.setattr(facts, "FIELD_SLUG_LENGTH", (1, 9))
    found = expected()
    assert found[f"custom_apis.{too_long}"].endswith(", 1 to 7 of them")
    assert found["custom_apis.ok.fields."] == "1 to 9 characters"


def test_an_environment_with_overlays_keeps_the_shared_custom_apis(tmp_path: Path) -> None:
    shared = tmp_path / "flows"
    shared.mkdir()
    (shared / "apis.yaml").write_text(WISHLISTS, encoding="utf-8")
    overlay = tmp_path / "dev.yaml"
    overlay.write_text("flows:\n  debug_log:\n    name: Debug\n", encoding="utf-8")
    state = load_environment([shared], [overlay])
    assert set(state.custom_apis) == {"wishlists", "items"}
    assert set(state.flows) == {"debug_log"}
    location = state.custom_apis["wishlists"].location
    assert location is not None
    assert (Path(location.file).name, location.line) == ("apis.yaml", 2)


def test_validate_all_and_env_count_custom_apis(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "apis").mkdir()
    (tmp_path / "apis" / "w.yaml").write_text(WISHLISTS, encoding="utf-8")
    (tmp_path / "provisioner.toml").write_text(
        'paths = ["apis/"]\n\n[environments.staging]\n'
        'base_url = "https://staging.example.com"\n'
        'client_id_env = "S_ID"\nclient_secret_env = "S_SECRET"\n',
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    every = cli("validate", "--all")
    assert every.code == 0, every.out + every.err
    assert "Environment staging: 1 file valid: 0 flows, 0 fields, 2 Custom APIs (3 fields)." in (
        every.out
    )
    one = json.loads(cli("validate", "--env", "staging", "--format", "json").out)
    assert (one["custom_apis"], one["custom_fields"]) == (2, 3)
