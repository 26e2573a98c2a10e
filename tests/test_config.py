"""Loading desired state: files and directories, defaults, the State's exact shape, the schema."""

from __future__ import annotations

import importlib.resources
import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

from provisioner.config import (
    find_yaml_files,
    load_desired,
    load_schema,
    schema_pass,
    validate_paths,
)
from provisioner.epcc import flows as api
from provisioner.errors import ConfigError
from provisioner.model import FIELD_ATTRIBUTES, FIELD_TYPES, FLOW_ATTRIBUTES, Field, Flow, Location
from provisioner.yamlload import load_bytes

ROOT = Path(__file__).resolve().parent.parent


def _write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


# --- State -----------------------------------------------------------------------------------


def test_sparse_yaml_gets_the_api_defaults(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "flows.yaml",
        "flows:\n  wishlists:\n    name: Wishlists\n    fields:\n"
        "      title: {name: Title, field_type: string}\n",
    )
    state = load_desired([path])
    assert state.flows == {
        "wishlists": Flow(
            slug="wishlists",
            name="Wishlists",
            fields={"title": Field(slug="title", field_type="string", name="Title")},
        )
    }
    flow = state.flows["wishlists"]
    assert (flow.description, flow.enabled, flow.prune, flow.absent) == ("", True, False, False)
    field = flow.fields["title"]
    assert field.attributes() == {
        "name": "Title",
        "description": "",
        "field_type": "string",
        "required": False,
        "unique": False,
        "default": None,
        "enabled": True,
        "order": None,
        "omit_null": False,
        "validation_rules": [],
    }
    assert flow.location == Location(str(path), 2, 3)
    assert field.location == Location(str(path), 5, 7)


def test_every_attribute_is_carried_into_the_state(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "flows.yaml",
        """\
flows:
  products:
    name: Products
    description: Extra
    enabled: false
    prune: true
    fields:
      mass_kg:
        name: Weight
        description: kg
        field_type: float
        required: true
        unique: true
        default: 5
        enabled: false
        order: 7
        omit_null: true
        renamed_from: [mass, products.heft, wishlists.mass_kg]
        validation_rules:
          - {type: between, options: {from: 1, to: 5}}
          - {type: enum, options: [1, 2.5, 5]}
      gone: {state: absent}
  old_flow:
    state: absent
""",
    )
    state = load_desired([path])
    products = state.flows["products"]
    assert products.attributes() == {"name": "Products", "description": "Extra", "enabled": False}
    assert products.prune is True
    weight = products.fields["mass_kg"]
    assert weight.attributes() == {
        "name": "Weight",
        "description": "kg",
        "field_type": "float",
        "required": True,
        "unique": True,
        "default": 5.0,
        "enabled": False,
        "order": 7,
        "omit_null": True,
        "validation_rules": [
            {"type": "between", "options": {"from": 1.0, "to": 5.0}},
            {"type": "enum", "options": [1.0, 2.5, 5.0]},
        ],
    }
    # Values of a float field are floats, so they compare equal in type to what the API echoes.
    assert isinstance(weight.default, float)
    assert all(isinstance(v, float) for v in weight.validation_rules[1]["options"])
    # `products.heft` names this very flow: it is a plain rename.
    assert weight.renamed_from == ("mass", "heft", "wishlists.mass_kg")
    assert products.fields["gone"] == Field(slug="gone", absent=True)
    assert state.flows["old_flow"] == Flow(slug="old_flow", absent=True)
    assert state.field_count() == 2


def test_state_attributes_match_the_model_vocabulary() -> None:
    state = load_desired([ROOT / "examples"])
    for flow in state.flows.values():
        assert tuple(flow.attributes()) == FLOW_ATTRIBUTES
        for field in flow.fields.values():
            assert tuple(field.attributes()) == FIELD_ATTRIBUTES
            json.dumps(field.attributes())  # plain JSON values only


def test_rules_are_fresh_plain_dicts_in_the_api_shape(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "r.yaml",
        """\
flows:
  w:
    name: W
    fields:
      tags: &t
        name: Tags
        field_type: string
        validation_rules: [{type: enum, options: [a, b]}]
      more_tags: *t
""",
    )
    fields = load_desired([path]).flows["w"].fields
    assert fields["tags"].validation_rules == ({"type": "enum", "options": ["a", "b"]},)
    assert fields["tags"].validation_rules[0] is not fields["more_tags"].validation_rules[0]


def test_yaml_scalars_resolve_like_safe_load_except_dates(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "s.yaml",
        """\
flows:
  w:
    name: "2024"
    description: 2024-01-31
    fields:
      d: {name: D, field_type: date, default: 2024-01-31 10:00:00}
      b: {name: B, field_type: boolean, default: yes}
""",
    )
    state = load_desired([path])
    assert state.flows["w"].description == "2024-01-31"
    assert state.flows["w"].name == "2024"
    assert state.flows["w"].fields["d"].default == "2024-01-31 10:00:00"
    assert state.flows["w"].fields["b"].default is True


# --- files and directories ---------------------------------------------------------------------


def test_directories_are_read_sorted_not_recursive(tmp_path: Path) -> None:
    _write(tmp_path, "b.yml", "flows:\n  b_flow: {name: B}\n")
    _write(tmp_path, "a.yaml", "flows:\n  a_flow: {name: A}\n")
    _write(tmp_path, "notes.txt", "not yaml")
    _write(tmp_path, ".hidden.yaml", "::: broken")
    (tmp_path / "sub").mkdir()
    _write(tmp_path / "sub", "c.yaml", "flows:\n  c_flow: {name: C}\n")
    files, problems = find_yaml_files([tmp_path])
    assert [f.name for f in files] == ["a.yaml", "b.yml"]
    assert problems == []
    assert list(load_desired([tmp_path]).flows) == ["a_flow", "b_flow"]


def test_a_file_given_twice_is_read_once(tmp_path: Path) -> None:
    path = _write(tmp_path, "a.yaml", "flows:\n  a_flow: {name: A}\n")
    assert validate_paths([tmp_path, path, str(path)]) == []


def test_an_explicit_file_is_read_whatever_its_suffix(tmp_path: Path) -> None:
    path = _write(tmp_path, "flows.txt", "flows:\n  a_flow: {name: A}\n")
    assert list(load_desired([path]).flows) == ["a_flow"]


def test_missing_paths_and_empty_directories_are_diagnostics(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    lines = [str(d) for d in validate_paths([tmp_path / "empty", tmp_path / "missing.yaml"])]
    assert lines == [
        f"{tmp_path}/empty:0:0: no *.yaml or *.yml files in this directory"
        " (expected YAML files (subdirectories are not read))",
        f"{tmp_path}/missing.yaml:0:0: no such file or directory (expected a file or directory)",
    ]


def test_an_unreadable_file_is_a_diagnostic(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(tmp_path, "locked.yaml", "flows: {}\n")

    def refuse(self: Path, *args: object, **kwargs: object) -> object:
        raise PermissionError(13, "Permission denied", str(self))

    # chmod cannot stop root (CI containers), so the refusal is simulated at open().
    monkeypatch.setattr(Path, "open", refuse)
    assert [str(d) for d in validate_paths([path])] == [
        f"{path}:0:0: cannot read the file: Permission denied (expected a readable file)"
    ]


def test_an_empty_flows_mapping_is_the_empty_state(tmp_path: Path) -> None:
    path = _write(tmp_path, "none.yaml", "flows: {}\n")
    assert load_desired([path]).flows == {}


def test_config_error_lists_every_problem_sorted(tmp_path: Path) -> None:
    _write(tmp_path, "b.yaml", "flows:\n  product: {name: P}\n")
    _write(tmp_path, "a.yaml", "flows:\n  w:\n    name: W\n    fields:\n      id: {name: I}\n")
    with pytest.raises(ConfigError) as caught:
        load_desired([tmp_path])
    diagnostics = caught.value.diagnostics
    assert [(Path(d.file).name, d.line, d.path) for d in diagnostics] == [
        ("a.yaml", 5, "flows.w.fields.id"),
        ("a.yaml", 5, "flows.w.fields.id.field_type"),
        ("b.yaml", 2, "flows.product"),
    ]
    assert str(caught.value).splitlines()[-1] == "3 problems found."


def test_relationship_to_a_flow_declared_in_another_file(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "reviews.yaml",
        "flows:\n  reviews:\n    name: Reviews\n    fields:\n      wishlist:\n"
        "        name: Wishlist\n        field_type: relationship\n"
        "        validation_rules: [{type: one-to-one, to: wishlists}]\n",
    )
    _write(tmp_path, "wishlists.yaml", "flows:\n  wishlists: {name: Wishlists}\n")
    state = load_desired([tmp_path])
    rule = state.flows["reviews"].fields["wishlist"].validation_rules[0]
    assert rule == {"type": "one-to-one", "to": "wishlists"}
    # Validating the one file alone cannot see the target. It may be a flow of the live store
    # (issue 10 item 16): not an error offline; `plan` checks it against the store.
    assert validate_paths([tmp_path / "reviews.yaml"]) == []


def test_renamed_from_another_flow_is_allowed_when_the_old_slug_is_gone(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "move.yaml",
        """\
flows:
  customers:
    name: Customers
  wishlists:
    name: Wishlists
    fields:
      note:
        name: Note
        field_type: string
        renamed_from: [customers.note]
""",
    )
    assert load_desired([path]).flows["wishlists"].fields["note"].renamed_from == (
        "customers.note",
    )


def test_pxm_template_slugs_are_flows(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "book.yaml",
        "flows:\n  products(book):\n    name: Book\n    fields:\n"
        "      isbn: {name: ISBN, field_type: string}\n",
    )
    flow = load_desired([path]).flows["products(book)"]
    assert not api.is_core_flow(flow.slug)
    assert list(flow.fields) == ["isbn"]


def test_absent_fields_need_only_the_slug_but_may_keep_their_attributes(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "a.yaml",
        "flows:\n  customers:\n    name: Customers\n    fields:\n"
        "      old: {state: absent}\n"
        "      older: {state: absent, name: Older, field_type: integer}\n",
    )
    fields = load_desired([path]).flows["customers"].fields
    assert fields["old"].absent
    assert fields["older"].absent
    assert fields["older"].field_type == "integer"


def test_fields_marked_absent_do_not_count_towards_the_limit(tmp_path: Path) -> None:
    # A full flow swaps fields in one file: 100 kept + 5 going is fine, 101 kept is not.
    def flow_file(kept: int, going: int) -> Path:
        fields = [f"      f{n}: {{name: F{n}, field_type: string}}" for n in range(kept)]
        fields += [f"      old{n}: {{state: absent}}" for n in range(going)]
        text = "flows:\n  things:\n    name: Things\n    fields:\n" + "\n".join(fields) + "\n"
        return _write(tmp_path, f"things-{kept}-{going}.yaml", text)

    assert validate_paths([flow_file(100, 5)]) == []
    [problem] = validate_paths([flow_file(101, 5)])
    assert (problem.line, problem.path, problem.message) == (
        4,
        "flows.things.fields",
        "101 fields in one flow",
    )


# --- the loader ----------------------------------------------------------------------------------


def _deep_alias_chain() -> bytes:
    """Each anchor nests the previous one 40 levels down: shallow as written, deep expanded."""
    lines = ["a0: &a0 1"]
    for n in range(1, 5):
        lines.append(f"a{n}: &a{n} " + "[" * 40 + f"*a{n - 1}" + "]" * 40)
    return "\n".join(lines).encode() + b"\n"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"a: 1\nb:\n  c: 2\n  c: 3\n", "duplicate key `c` (first at line 3)"),
        (b"a: !!str 1\n", "YAML tags are not allowed (found `!!str`)"),
        (b"a: [\n", "invalid YAML: expected the node content, but found '<stream end>'"),
        (b"\xef\xbb\xbf\xff", "not UTF-8 (byte 0xff)"),
        (b"a: \x07\n", "character #x0007 is not allowed in YAML"),
        (b"[" * 100 + b"]" * 100, "nested deeper than 64 levels"),
        (b"a: &x 1\n" + b"b: [" + b"*x, " * 1001 + b"]\n", "too many aliases (more than 1000)"),
        (b"a: -.inf\n", "`-.inf` is not a finite number"),
        (_deep_alias_chain(), "nested deeper than 64 levels"),
    ],
)
def test_loader_problems(raw: bytes, message: str) -> None:
    document = load_bytes(raw)
    assert message in [p.message for p in document.problems]


def test_loader_marks_keys_and_values() -> None:
    document = load_bytes(b"# c\nflows:\n  w:\n    name:   Wish\n    fields: []\n")
    assert document.data == {"flows": {"w": {"name": "Wish", "fields": []}}}
    assert document.key_marks[("flows", "w", "name")] == (4, 5)
    assert document.value_marks[("flows", "w", "name")] == (4, 13)
    assert document.locate(("flows", "w")) == (3, 3)
    assert document.locate(("flows", "w", "fields", 3)) == (5, 5)
    assert document.locate_value(("flows", "w", "name")) == (4, 13)


# --- the schema ---------------------------------------------------------------------------------


def test_schema_is_valid_draft_2020_12_and_is_the_shipped_file() -> None:
    schema = load_schema()
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    shipped = json.loads((ROOT / "schemas" / "provisioner.schema.json").read_text("utf-8"))
    assert schema == shipped


def test_schema_vocabulary_matches_the_model() -> None:
    schema = load_schema()
    field = schema["$defs"]["field"]
    flow = schema["$defs"]["flow"]
    assert tuple(field["properties"]["field_type"]["enum"]) == FIELD_TYPES
    assert set(FIELD_ATTRIBUTES) <= set(field["properties"])
    assert set(FLOW_ATTRIBUTES) <= set(flow["properties"])
    assert set(field["properties"]) - set(FIELD_ATTRIBUTES) == {"state", "renamed_from"}
    assert set(flow["properties"]) - set(FLOW_ATTRIBUTES) == {"fields", "prune", "state"}
    assert tuple(schema["$defs"]["rule"]["properties"]["type"]["enum"]) == tuple(api.RULE_TYPES)
    per_type = {branch["if"]["properties"]["field_type"]["const"] for branch in field["allOf"]}
    assert per_type == set(FIELD_TYPES)


def test_every_object_in_the_schema_forbids_unknown_keys() -> None:
    # A rule's keys depend on its type: each `then` branch of the rule closes its own object.
    rule = load_schema()["$defs"]["rule"]
    assert all(branch["then"]["additionalProperties"] is False for branch in rule["allOf"])

    def walk(node: object, where: str) -> None:
        if isinstance(node, dict):
            if node.get("type") == "object" and "properties" in node and where != "#/$defs/rule":
                assert node.get("additionalProperties") is False, where
            for key, value in node.items():
                walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, f"{where}/{index}")

    walk(load_schema(), "#")


def test_load_schema_prefers_the_copy_installed_in_the_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "provisioner.schema.json").write_text('{"installed": true}')
    monkeypatch.setattr(importlib.resources, "files", lambda _package: tmp_path)
    schema_pass._schema_text.cache_clear()
    try:
        assert load_schema() == {"installed": True}
    finally:
        monkeypatch.undo()
        schema_pass._schema_text.cache_clear()
    assert "$defs" in load_schema()


def test_the_wheel_ships_the_schema_where_load_schema_looks() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    included = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["force-include"]
    assert (
        included["schemas/provisioner.schema.json"] == "provisioner/schemas/provisioner.schema.json"
    )


@pytest.mark.parametrize("module", ["provisioner.config", "provisioner.yamlload"])
def test_config_is_pure(module: str) -> None:
    forbidden = ["httpx", "click", "rich", "starlette", "uvicorn", "provisioner.localstore"]
    code = f"import sys, {module}\nprint([m for m in {forbidden!r} if m in sys.modules])"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
