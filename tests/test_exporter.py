"""The exporter alone (pure): layout, defaults left out, order, quoting of ambiguous strings."""

from __future__ import annotations

import datetime as dt

import pytest
import yaml

from provisioner.exporter import (
    export_files,
    export_text,
    field_document,
    file_names,
    flow_document,
    is_ambiguous,
    sorted_fields,
)
from provisioner.model import Field, Flow, State

SEED = State(
    flows={
        "customers": Flow(
            slug="customers",
            name="Customers",
            description="Extends the default customer object",
            fields={
                "delivery_details": Field(
                    slug="delivery_details",
                    name="Delivery Details",
                    description="customers delivery details",
                    order=1,
                )
            },
        )
    }
)


def test_the_seed_example_reads_as_written_by_hand() -> None:
    assert export_text(SEED, "../schemas/provisioner.schema.json") == (
        "# yaml-language-server: $schema=../schemas/provisioner.schema.json\n"
        "flows:\n"
        "  customers:\n"
        "    name: Customers\n"
        "    description: Extends the default customer object\n"
        "    fields:\n"
        "      delivery_details:\n"
        "        name: Delivery Details\n"
        "        field_type: string\n"
        "        description: customers delivery details\n"
        "        order: 1\n"
    )


def test_without_a_schema_ref_there_is_no_modeline() -> None:
    assert export_text(SEED).startswith("flows:\n")


def test_api_defaults_are_left_out_but_name_and_field_type_are_always_written() -> None:
    assert field_document(Field(slug="x")) == {"name": "", "field_type": "string"}
    assert flow_document(Flow(slug="wishlists")) == {"name": ""}
    # The API returns an empty default as null (epcc-api.md 4.3 REC): the same, so left out.
    assert "default" not in field_document(Field(slug="x", name="X", default=""))


def test_every_attribute_that_differs_from_the_default_is_written() -> None:
    field = Field(
        slug="rating",
        field_type="integer",
        name="Rating",
        description="Average",
        required=True,
        unique=True,
        default=0,
        enabled=False,
        order=0,
        omit_null=True,
        validation_rules=({"type": "between", "options": {"to": 5, "from": 1}},),
    )
    assert field_document(field) == {
        "name": "Rating",
        "field_type": "integer",
        "description": "Average",
        "required": True,
        "unique": True,
        "default": 0,
        "enabled": False,
        "order": 0,
        "omit_null": True,
        "validation_rules": [{"type": "between", "options": {"from": 1, "to": 5}}],
    }
    assert flow_document(Flow(slug="w", name="W", description="d", enabled=False)) == {
        "name": "W",
        "description": "d",
        "enabled": False,
    }


def test_false_zero_and_empty_values_are_not_mistaken_for_defaults() -> None:
    # `default: false` and `default: 0` are values, not "no default" (null).
    assert field_document(Field(slug="b", field_type="boolean", default=False))["default"] is False
    assert field_document(Field(slug="f", field_type="float", default=0.0))["default"] == 0.0


def test_desired_only_attributes_are_written_too() -> None:
    field = Field(slug="new", name="New", renamed_from=("old", "other.older"), absent=True)
    assert field_document(field)["renamed_from"] == ["old", "other.older"]
    assert field_document(field)["state"] == "absent"
    flow = Flow(slug="gone", name="Gone", prune=True, absent=True)
    assert flow_document(flow) == {"name": "Gone", "prune": True, "state": "absent"}


def test_flows_sorted_by_slug_fields_by_order_then_slug_unordered_last() -> None:
    fields = {
        slug: Field(slug=slug, name=slug, order=order)
        for slug, order in [("z", 1), ("a", None), ("m", 2), ("b", 1), ("c", None), ("n", 0)]
    }
    assert [f.slug for f in sorted_fields(fields.values())] == ["n", "b", "z", "m", "a", "c"]
    state = State(
        flows={
            "wishlists": Flow(slug="wishlists", name="W", fields=fields),
            "customers": Flow(slug="customers", name="C"),
        }
    )
    loaded = yaml.safe_load(export_text(state))
    assert list(loaded["flows"]) == ["customers", "wishlists"]
    assert list(loaded["flows"]["wishlists"]["fields"]) == ["n", "b", "z", "m", "a", "c"]


def test_rules_are_written_exactly_and_readably() -> None:
    rules = (
        {"type": "enum", "options": ["fast", "slow"]},
        {"type": "email"},
        {"to": "customer", "type": "one-to-one"},
        {"type": "between", "options": {"from": 0.5, "to": 5}},
        {"type": "enum", "options": [1, 2.5, True, None]},
        {"type": "custom", "options": [{"nested": ["x"]}], "extra": 1},
    )
    text = export_text(
        State(flows={"f": Flow(slug="f", name="F", fields={"x": Field(slug="x", name="X")})})
    )
    assert "validation_rules" not in text
    document = field_document(Field(slug="x", name="X", validation_rules=rules))
    assert document["validation_rules"] == [
        {"type": "enum", "options": ["fast", "slow"]},
        {"type": "email"},
        {"type": "one-to-one", "to": "customer"},
        {"type": "between", "options": {"from": 0.5, "to": 5}},
        {"type": "enum", "options": [1, 2.5, True, None]},
        {"type": "custom", "options": [{"nested": ["x"]}], "extra": 1},
    ]
    flow = Flow(slug="f", name="F", fields={"x": Field(slug="x", name="X", validation_rules=rules)})
    text = export_text(State(flows={"f": flow}))
    assert "            options: [fast, slow]\n" in text
    assert "            options: {from: 0.5, to: 5}\n" in text
    assert "          - type: one-to-one\n            to: customer\n" in text
    loaded = yaml.safe_load(text)["flows"]["f"]["fields"]["x"]["validation_rules"]
    assert loaded == document["validation_rules"]
    # Types survive: 5 stays an int, 0.5 a float (the planner decides what is equal, not us).
    assert type(loaded[3]["options"]["to"]) is int


TRICKY = [
    "yes",
    "no",
    "No",
    "on",
    "OFF",
    "y",
    "n",
    "true",
    "False",
    "null",
    "Null",
    "~",
    "",
    "0123",
    "123",
    "-1",
    "+1",
    "1_000",
    "0x1F",
    "0o17",
    "1e3",
    "1E-3",
    "1.5",
    ".5",
    ".inf",
    "-.Inf",
    ".nan",
    "12:30",
    "2017-12-25",
    "2017-12-25 10:00:00",
    "2001-12-14t21:59:43.10-05:00",
    "=",
    "<<",
]


@pytest.mark.parametrize("text", TRICKY)
def test_strings_yaml_would_misread_are_double_quoted(text: str) -> None:
    assert is_ambiguous(text)
    flow = Flow(slug="f", name=text, description=text)
    written = export_text(State(flows={"f": flow}))
    assert f'    name: "{text}"\n' in written
    assert yaml.safe_load(written)["flows"]["f"]["name"] == text


@pytest.mark.parametrize(
    "text",
    [
        "a: b",
        "key:",
        "x #y",
        "#x",
        "- x",
        "? x",
        "[x]",
        "{x}",
        "*x",
        "&x",
        "!x",
        "%x",
        "@x",
        "`x",
        "|",
        ">",
        "'quoted'",
        '"double"',
        " leading space",
        "trailing space ",
        "tab\tinside",
        "line\nbreak",
        "ends with newline\n",
        "\n",
        "crlf\r\n",
        "nel\x85x",
        "ls\u2028x",
        "bell\x07",
        "bom\ufeff",
        "émoji 😀",
        "1.2.3",
        "0.1.0-rc",
        "yes please",
    ],
)
def test_syntax_characters_round_trip(text: str) -> None:
    flow = Flow(slug="f", name=text, fields={"x": Field(slug="x", name="X", default=text)})
    written = export_text(State(flows={"f": flow}))
    loaded = yaml.safe_load(written)["flows"]["f"]
    assert loaded["name"] == text
    assert loaded["fields"]["x"]["default"] == text


@pytest.mark.parametrize("text", ["fast", "Delivery Details", "a-b_c", "1.2.3", "yes please"])
def test_ordinary_strings_stay_plain(text: str) -> None:
    assert not is_ambiguous(text)
    assert f"  name: {text}\n" in export_text(State(flows={"f": Flow(slug="f", name=text)}))


def test_slugs_that_look_like_other_types_are_quoted_keys() -> None:
    fields = {slug: Field(slug=slug, name="X") for slug in ("on", "123", "null", "2017-01-01")}
    state = State(flows={"yes": Flow(slug="yes", name="Y", fields=fields)})
    written = export_text(state)
    assert '  "yes":\n' in written
    assert '      "on":\n' in written
    loaded = yaml.safe_load(written)
    assert list(loaded["flows"]) == ["yes"]
    assert sorted(loaded["flows"]["yes"]["fields"]) == sorted(fields)


def test_multi_line_descriptions_are_literal_blocks() -> None:
    flow = Flow(slug="f", name="F", description="first line\nsecond: line\n")
    written = export_text(State(flows={"f": flow}))
    assert "    description: |\n      first line\n      second: line\n" in written


def test_dates_are_written_as_strings() -> None:
    field = Field(slug="d", field_type="date", name="D", default=dt.date(2017, 12, 25))
    written = export_text(State(flows={"f": Flow(slug="f", name="F", fields={"d": field})}))
    assert '        default: "2017-12-25"\n' in written


def test_one_file_per_flow_each_a_complete_document() -> None:
    state = State(
        flows={
            "wishlists": Flow(slug="wishlists", name="W"),
            "products(book)": Flow(slug="products(book)", name="Book"),
            "customers": SEED.flows["customers"],
        }
    )
    files = export_files(state, "../schemas/provisioner.schema.json")
    assert list(files) == ["customers.yaml", "products(book).yaml", "wishlists.yaml"]
    assert files["customers.yaml"] == export_text(SEED, "../schemas/provisioner.schema.json")
    assert yaml.safe_load(files["products(book).yaml"]) == {
        "flows": {"products(book)": {"name": "Book"}}
    }


def test_file_names_stay_distinct_on_case_insensitive_file_systems() -> None:
    assert file_names(["customers", "Customers", "CUSTOMERS", "b"]) == {
        "CUSTOMERS": "CUSTOMERS.yaml",
        "Customers": "Customers-2.yaml",
        "b": "b.yaml",
        "customers": "customers-3.yaml",
    }


def test_an_empty_state_is_an_empty_document() -> None:
    assert yaml.safe_load(export_text(State())) == {"flows": {}}
    assert export_files(State()) == {}
