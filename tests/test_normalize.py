"""normalize: the API's objects into the model, and the canonical form both sides compare in."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from provisioner.model import FIELD_ATTRIBUTES, Field, Flow, State
from provisioner.normalize import (
    attributes_create_body,
    create_body,
    field_attributes,
    field_fingerprint,
    field_from_api,
    flow_attributes,
    flow_fingerprint,
    flow_from_api,
    live_fingerprint,
    relationship_targets,
    state_from_api,
    update_body,
)
from provisioner.plan import AttributeChange, Operation, OpKind

# 3.3 and 4.3: response objects as the docs show them, server keys and all.
API_FLOW: dict[str, Any] = {
    "id": "6d320b42",
    "type": "flow",
    "name": "Customers",
    "slug": "customers",
    "description": "Extends the default customer object",
    "enabled": True,
    "links": {"self": "https://example.test/v2/flows/6d320b42"},
    "relationships": {},
    "meta": {
        "owner": "organization",
        "timestamps": {"created_at": "2018-05-10T18:04:26.623Z", "updated_at": "x"},
    },
}
API_FIELD: dict[str, Any] = {
    "id": "102b2087",
    "type": "field",
    "field_type": "integer",
    "slug": "product-rating",
    "name": "Product Rating",
    "description": "Average rating as given by our users",
    "required": False,
    "default": None,
    "enabled": True,
    "validation_rules": [{"options": {"to": 5, "from": 1}, "type": "between"}],
    "order": 1,
    "omit_null": False,
    "links": {"self": "https://example.test/v2/flows/6d320b42/fields/102b2087"},
    "relationships": {"flow": {"data": {"id": "6d320b42", "type": "flow"}}},
    "meta": {"owner": "organization", "timestamps": {"created_at": "x", "updated_at": "y"}},
}


def test_flow_from_api_keeps_id_and_drops_server_keys() -> None:
    flow = flow_from_api(API_FLOW)
    assert flow == Flow(
        slug="customers", name="Customers", description="Extends the default customer object"
    )
    assert flow.id == "6d320b42"
    assert flow_attributes(flow) == {
        "name": "Customers",
        "description": "Extends the default customer object",
        "enabled": True,
    }


def test_field_from_api_fills_api_defaults_for_missing_keys() -> None:
    # 4.3 REC: an old server omits `unique`/`omit_null`; nulls where the docs promise values.
    sparse = {"id": "f1", "slug": "note", "field_type": "string", "name": "Note"}
    field = field_from_api({**sparse, "description": None, "enabled": None})
    assert field == Field(slug="note", name="Note")
    assert field.id == "f1"


def test_state_from_api_attaches_fields_by_flow_id_and_sorts() -> None:
    other_flow = {**API_FLOW, "id": "f-2", "slug": "wishlists", "name": "Wishlists"}
    fields = [
        {**API_FIELD, "slug": "zeta", "id": "z"},
        API_FIELD,
        {**API_FIELD, "slug": "items", "id": "i", "relationships": _flow_link("f-2")},
        {**API_FIELD, "slug": "orphan", "id": "o", "relationships": _flow_link("gone")},
        {**API_FIELD, "slug": "no-link", "id": "n", "relationships": {}},
    ]
    state = state_from_api([other_flow, API_FLOW], fields)
    assert list(state.flows) == ["customers", "wishlists"]
    assert list(state.flows["customers"].fields) == ["product-rating", "zeta"]
    assert list(state.flows["wishlists"].fields) == ["items"]
    assert state.flows["wishlists"].id == "f-2"
    assert state.field_count() == 3


def test_canonical_field_attributes_fill_defaults_and_order_rule_keys() -> None:
    attributes = field_attributes(field_from_api(API_FIELD))
    assert tuple(attributes) == FIELD_ATTRIBUTES
    assert attributes["unique"] is False
    rule = attributes["validation_rules"][0]
    assert list(rule) == ["type", "options"]
    assert list(rule["options"]) == ["from", "to"]


def test_empty_default_is_null_like_the_api_stores_it() -> None:
    # 4.3 REC: a request with "default": "" came back with "default": null.
    assert field_attributes(Field("x", default=""))["default"] is None
    assert field_attributes(Field("x", default=0))["default"] == 0  # the seed's own quirk


def test_float_fields_compare_numbers_as_floats() -> None:
    yaml_side = Field(
        "rating",
        field_type="float",
        default=1,
        validation_rules=({"type": "between", "options": {"from": 0, "to": 5}},),
    )
    api_side = field_from_api(
        {
            "slug": "rating",
            "field_type": "float",
            "default": 1.0,
            "validation_rules": [{"type": "between", "options": {"from": 0.0, "to": 5.0}}],
        }
    )
    assert field_attributes(yaml_side) == field_attributes(api_side)
    assert field_attributes(yaml_side)["default"] == 1.0
    assert isinstance(field_attributes(yaml_side)["default"], float)
    # integers of an integer field stay integers; booleans are never numbers
    assert field_attributes(Field("n", field_type="integer", default=3))["default"] == 3
    assert field_attributes(Field("b", field_type="boolean", default=True))["default"] is True


def test_dates_are_iso_strings() -> None:
    field = Field(
        "day",
        field_type="date",
        default=dt.date(2017, 12, 25),
        validation_rules=({"type": "enum", "options": [dt.date(2017, 12, 25), "2017-12-26"]},),
    )
    attributes = field_attributes(field)
    assert attributes["default"] == "2017-12-25"
    assert attributes["validation_rules"][0]["options"] == ["2017-12-25", "2017-12-26"]


def test_description_null_is_empty_text() -> None:
    flow = flow_from_api({**API_FLOW, "description": None})
    assert flow_attributes(flow)["description"] == ""


def test_relationship_targets() -> None:
    attributes = {"validation_rules": [{"type": "one-to-many", "to": "wishlists"}]}
    assert relationship_targets(attributes) == ("wishlists",)
    assert relationship_targets(None) == ()
    assert relationship_targets({"validation_rules": [{"type": "email"}]}) == ()


def _flow_create_body(flow: Flow) -> dict[str, Any]:
    """The POST body of a flow as the applier builds it: the planner's `after`, then
    `create_body`."""
    return create_body(Operation(OpKind.CREATE_FLOW, flow.slug, after=flow_attributes(flow)))


def _field_create_body(field: Field) -> dict[str, Any]:
    after = field_attributes(field)
    return create_body(Operation(OpKind.CREATE_FIELD, "customers", field.slug, after=after))


def test_create_bodies() -> None:
    assert _flow_create_body(Flow("wishlists", name="Wishlists")) == {
        "slug": "wishlists",
        "name": "Wishlists",
        "description": "",
        "enabled": True,
    }
    body = _field_create_body(Field("note", name="Note"))
    assert body["slug"] == "note"
    assert "default" not in body  # null defaults and orders are the API's own (4.3 REC)
    assert "order" not in body
    assert _field_create_body(Field("n", field_type="integer", default=0, order=2))["default"] == 0
    assert attributes_create_body("x", {"name": "X", "order": 1})["order"] == 1


def test_update_body_sends_only_changed_top_level_attributes() -> None:
    after = field_attributes(
        Field("a", name="A", validation_rules=({"type": "enum", "options": ["x"]},))
    )
    op = Operation(
        OpKind.UPDATE_FIELD,
        "customers",
        "a",
        id="f",
        after=after,
        changes=(
            AttributeChange("name", "", "A"),
            AttributeChange("validation_rules[0].options", ["x", "y"], ["x"]),
        ),
    )
    assert update_body(op) == {"name": "A", "validation_rules": after["validation_rules"]}
    rename = Operation(
        OpKind.RENAME_FIELD,
        "customers",
        "b",
        id="f",
        after=after,
        changes=(AttributeChange("slug", "a", "b"),),
        from_slug="a",
    )
    assert update_body(rename) == {"slug": "b"}
    with pytest.raises(ValueError, match="create_field"):
        update_body(Operation(OpKind.CREATE_FIELD, "customers", "a"))


def test_live_fingerprints_follow_content_and_id() -> None:
    field = Field("note", name="Note", id="f1")
    live = State(flows={"customers": Flow("customers", id="c1", fields={"note": field})})
    assert live_fingerprint(live, "field:customers.note") == field_fingerprint(field)
    assert live_fingerprint(live, "flow:customers") == flow_fingerprint(live.flows["customers"])
    assert live_fingerprint(live, "field:customers.other") is None
    assert live_fingerprint(live, "flow:other") is None
    assert live_fingerprint(live, "field:other.note") is None
    assert field_fingerprint(Field("note", name="Note", id="f2")) != field_fingerprint(field)
    assert field_fingerprint(Field("note", name="Other", id="f1")) != field_fingerprint(field)
    with pytest.raises(ValueError, match="not an object key"):
        live_fingerprint(live, "customers")


@pytest.mark.parametrize(
    "key", ["bogus:customers", "flows:customers", "field:customers", "field:.note", "custom_api:"]
)
def test_a_key_is_read_by_object_key_alone_and_strictly(key: str) -> None:
    """`ObjectKey.parse` reads every key (issue 12: keys.py): an unknown kind, a missing slug or
    a field key without its field is not a key, whichever side it would have reached."""
    with pytest.raises(ValueError, match="not an object key"):
        live_fingerprint(State(), key)


def test_custom_api_keys_are_read_as_every_key_is() -> None:
    """A Custom API key names its API whole (`custom_api:shop.extra` is no key of `shop`,
    which the Custom API side's own `partition` used to read it as)."""
    from provisioner.custom_api_fingerprints import api_fingerprint
    from provisioner.custom_api_fingerprints import field_fingerprint as cf
    from provisioner.custom_api_model import CustomApi, CustomField

    note = CustomField("note.v2", name="Note", id="cf1")
    shop = CustomApi("shop", name="Shop", api_type="shop_ext", id="a1", fields={note.slug: note})
    live = State(custom_apis={"shop": shop})
    assert live_fingerprint(live, "custom_api:shop") == api_fingerprint(shop)
    assert live_fingerprint(live, "custom_field:shop.note.v2") == cf(note)
    assert live_fingerprint(live, "custom_api:shop.extra") is None
    assert live_fingerprint(live, "custom_entries:shop", custom_entry_counts={"shop": 4}) == "4"


def test_template_flow_slugs_split_at_the_first_dot() -> None:
    field = Field("isbn", id="f1")
    live = State(flows={"products(book)": Flow("products(book)", fields={"isbn": field})})
    assert live_fingerprint(live, "field:products(book).isbn") == field_fingerprint(field)


def _flow_link(flow_id: str) -> dict[str, Any]:
    return {"flow": {"data": {"id": flow_id, "type": "flow"}}}
