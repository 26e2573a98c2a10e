"""The shipped examples: valid against the JSON Schema and the full validator, the seed's
customers extension exactly as issue 2 gives it, and a richer example covering the format."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

from provisioner.config import load_desired, load_schema, validate_paths
from provisioner.epcc.custom_apis import FIELD_TYPES as CUSTOM_FIELD_TYPES
from provisioner.epcc.flows import is_core_flow
from provisioner.model import FIELD_TYPES

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
MODELINE = "# yaml-language-server: $schema=../schemas/provisioner.schema.json"

SEED_CUSTOMERS = """\
# yaml-language-server: $schema=../schemas/provisioner.schema.json
flows:
  customers:                      # a core slug: this flow extends the customers resource
    name: Customers
    description: Extends the default customer object
    fields:
      delivery_details:
        name: Delivery Details
        field_type: string
        description: customers delivery details
        required: false
        order: 1
"""


def test_there_are_examples() -> None:
    assert [p.name for p in EXAMPLES] == ["customers.yaml", "gift-registries.yaml", "store.yaml"]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_validates_against_the_json_schema(path: Path) -> None:
    validator = Draft202012Validator(load_schema())
    errors = [e.message for e in validator.iter_errors(yaml.safe_load(path.read_text("utf-8")))]
    assert errors == []


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_passes_every_check_and_has_the_modeline(path: Path) -> None:
    assert validate_paths([path]) == []
    assert path.read_text("utf-8").splitlines()[0] == MODELINE


def test_customers_example_is_the_seed_example() -> None:
    assert (ROOT / "examples" / "customers.yaml").read_text("utf-8") == SEED_CUSTOMERS


def test_readme_shows_the_seed_example() -> None:
    assert SEED_CUSTOMERS in (ROOT / "README.md").read_text("utf-8")


def test_store_example_covers_the_format() -> None:
    state = load_desired([ROOT / "examples"])
    fields = [f for flow in state.flows.values() for f in flow.fields.values()]
    assert {f.field_type for f in fields} == set(FIELD_TYPES)
    rule_types = {rule["type"] for f in fields for rule in f.validation_rules}
    assert rule_types == {"enum", "email", "slug", "uuid", "between", "one-to-one", "one-to-many"}
    wishlists = state.flows["wishlists"]
    assert not is_core_flow(wishlists.slug)
    targets = {
        rule["to"]
        for f in wishlists.fields.values()
        for rule in f.validation_rules
        if f.field_type == "relationship"
    }
    assert targets == {"customer", "product"}
    products = state.flows["products"]
    assert is_core_flow(products.slug)
    product_rules = {rule["type"] for f in products.fields.values() for rule in f.validation_rules}
    assert {"enum", "between"} <= product_rules


def test_custom_api_example_covers_every_field_type() -> None:
    state = load_desired([ROOT / "examples" / "gift-registries.yaml"])
    fields = [f for api in state.custom_apis.values() for f in api.fields.values()]
    assert {f.field_type for f in fields} == set(CUSTOM_FIELD_TYPES)
    assert state.custom_apis["registry_items"].parent_apis == ("gift_registries",)
