"""Facts of the Flows API: flows, fields, validation rules and values.

Every public name here is listed in `SECTIONS` with the section of `../shared/epcc-api.md`
(or `spec 25.1201` for the official `epcc-openapi/flows.yaml`) that is its evidence. The checks
that use these facts are `provisioner.rules`; the JSON Schema's per-field-type and per-rule
branches are generated from them (`provisioner.schema`). Data only: no I/O, no checks.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from provisioner.epcc import Attribute, FieldType, RuleType

# --- slugs and names -------------------------------------------------------------------------

# 2.8: names prefixed with `$` are not supported; 4.5: the `slug` rule's "letters, numbers,
# hyphens and underscores only" is the alphabet of slugs.
FIELD_SLUG_PATTERN = r"^[A-Za-z0-9_-]+$"
# 3.4: PXM templates are flows with the slug `products(<template-slug>)`.
FLOW_SLUG_PATTERN = r"^[A-Za-z0-9_-]+(\([A-Za-z0-9_-]+\))?$"
TEMPLATE_SLUG_PATTERN = r"^[A-Za-z0-9_-]+\([A-Za-z0-9_-]+\)$"
# 2.4 (REC): a blank name is answered "The data.name field is required.": a name holds a
# character that is not white space.
NAME_PATTERN = r"\S"

# 3.2: singular resource names refused as flow slugs (on create and update, 3.5).
RESERVED_FLOW_SLUGS: frozenset[str] = frozenset(
    {
        "address",
        "brand",
        "cart",
        "category",
        "collection",
        "currency",
        "customer",
        "field",
        "file",
        "flow",
        "integration",
        "inventory",
        "language",
        "product",
        "order",
        "setting",
        "promotion",
    }
)

# 4.2: values refused as field slugs.
RESERVED_FIELD_SLUGS: frozenset[str] = frozenset(
    {
        "id",
        "type",
        "meta",
        "links",
        "relationships",
        "weight",
        "weights",
        "attribute",
        "attributes",
        "dimension",
        "dimensions",
    }
)

# 3.4: the core flows (a flow with this slug extends that resource and cannot be deleted: 405),
# with the singular form a relationship's `to` uses for the resource (4.5), where one exists.
CORE_FLOWS: Mapping[str, str | None] = MappingProxyType(
    {
        "accounts": "account",
        "account-members": None,
        "account-memberships": None,
        "addresses": "address",
        "authentication-realms": None,
        "carts": "cart",
        "cart_items": "cart_item",
        "customers": "customer",
        "oidc-profiles": None,
        "order_items": "order_item",
        "orders": "order",
        "password-profiles": None,
        "products": "product",
        "promotions": "promotion",
        "rule-promotions": None,
        "user-authentication-info": None,
        "user-authentication-oidc-profile-info": None,
        "user-authentication-password-profile-info": None,
        "catalogs": None,
        # legacy Moltin catalogue (3.4, OLD 2020)
        "brands": "brand",
        "collections": "collection",
        "categories": "category",
    }
)
CORE_FLOW_SLUGS: frozenset[str] = frozenset(CORE_FLOWS)

# 4.5: a relationship rule's `to` names a core resource in singular form (or a flow's slug).
SINGULAR_OF_CORE_FLOW: Mapping[str, str] = MappingProxyType(
    {plural: singular for plural, singular in CORE_FLOWS.items() if singular is not None}
)
CORE_RELATIONSHIP_TARGETS: frozenset[str] = frozenset(SINGULAR_OF_CORE_FLOW.values())

# 4.2 [INF] and 6: built-in attributes of a core resource that a field of its flow would shadow.
CORE_RESOURCE_ATTRIBUTES: Mapping[str, frozenset[str]] = MappingProxyType(
    {"customers": frozenset({"name", "email", "password", "external_ref"})}
)


def is_core_flow(flow_slug: str) -> bool:
    """True when a flow with this slug extends a core resource (3.4)."""
    return flow_slug in CORE_FLOW_SLUGS


# --- limits ----------------------------------------------------------------------------------

MAX_FIELDS_PER_FLOW = 100  # 4.2: "a hard limit of 100 fields per flow"
EXTERNAL_REF_MAX = 2048  # 6: "The maximum length is 2048 characters"

# --- values ----------------------------------------------------------------------------------

# 4.4: `YYYY-MM-DD` with an optional time `YYYY-MM-DD HH:MM:SS` (the date must exist).
DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}( [0-9]{2}:[0-9]{2}:[0-9]{2})?$"
# 5.1 [INF]: "a basic RFC-ish regex".
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
# 4.5 `uuid` rule and the ids of 3.3: the hyphenated 8-4-4-4-12 form (either case); other
# spellings `uuid.UUID` parses (braces, `urn:uuid:`, 32 bare digits) are not UUIDs here.
UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
# 4.5: the `slug` rule: "letters, numbers, hyphens and underscores only".
SLUG_VALUE_PATTERN = FIELD_SLUG_PATTERN

# --- validation rules (4.5) ------------------------------------------------------------------

RULE_TYPES: Mapping[str, RuleType] = MappingProxyType(
    {
        rule.name: rule
        for rule in (
            RuleType("enum", options="values"),
            RuleType("email"),
            RuleType("slug"),
            RuleType("uuid"),  # 4.5: undocumented in the API docs, accepted (TF, Commerce Manager)
            RuleType("between", options="range"),
            RuleType("one-to-many", target=True),
            RuleType("one-to-one", target=True),
        )
    }
)
RELATIONSHIP_RULE_TYPES: tuple[str, ...] = ("one-to-many", "one-to-one")

# --- field types (4.4, with the rules 4.5 gives each) ----------------------------------------

FIELD_TYPES_TABLE: Mapping[str, FieldType] = MappingProxyType(
    {
        field_type.name: field_type
        for field_type in (
            FieldType("string", ("string",), ("enum", "email", "slug", "uuid")),
            FieldType("integer", ("integer",), ("enum", "between")),
            FieldType("boolean", ("boolean",), ()),  # 4.5: "boolean: No validation required."
            FieldType("float", ("number",), ("enum", "between")),
            FieldType("date", ("string",), ("enum",), value_pattern=DATE_PATTERN),
            # 4.2: no value of its own (entries relate through 5.2); `required` must be false.
            FieldType("relationship", (), RELATIONSHIP_RULE_TYPES),
        )
    }
)
FIELD_TYPES: tuple[str, ...] = tuple(FIELD_TYPES_TABLE)

# --- request bodies --------------------------------------------------------------------------

# 3.2 and spec 25.1201 `FlowsRequest`: the attributes of a flow; a create must send the
# required ones (`type` too).
FLOW_BODY: tuple[Attribute, ...] = (
    Attribute("name", ("string",), required_on_create=True),
    Attribute("slug", ("string",), required_on_create=True),
    Attribute("description", ("string",), required_on_create=True),
    Attribute("enabled", ("boolean",), required_on_create=True),
)
# 4.2 and spec 25.1201 `FieldRequest` (`required` list and `relationships.flow`): the
# attributes of a field. `default` takes the field's own type (4.2): see FIELD_TYPES_TABLE.
FIELD_BODY: tuple[Attribute, ...] = (
    Attribute("name", ("string",), required_on_create=True),
    Attribute("slug", ("string",), required_on_create=True),
    Attribute("field_type", ("string",), required_on_create=True),
    Attribute("description", ("string",), required_on_create=True),
    Attribute("required", ("boolean",), required_on_create=True),
    Attribute("unique", ("boolean",)),
    Attribute("enabled", ("boolean",)),
    Attribute("omit_null", ("boolean",)),
    Attribute("order", ("integer", "null")),
    Attribute("default", ("string", "integer", "number", "boolean", "null")),
    Attribute("validation_rules", ("array",)),
)
FLOW_CREATE_REQUIRED: tuple[str, ...] = (
    "type",
    *(a.name for a in FLOW_BODY if a.required_on_create),
)
FIELD_CREATE_REQUIRED: tuple[str, ...] = (
    "type",
    *(a.name for a in FIELD_BODY if a.required_on_create),
    "relationships",
)

# 4.3 and section 0: what the server stores for a key a create leaves out (REC 2017: `enabled`
# true, `order` null, `validation_rules` []; `"default": ""` comes back null).
FLOW_SERVER_DEFAULTS: Mapping[str, Any] = MappingProxyType({"description": "", "enabled": True})
FIELD_SERVER_DEFAULTS: Mapping[str, Any] = MappingProxyType(
    {
        "description": "",
        "required": False,
        "unique": False,
        "default": None,
        "enabled": True,
        "order": None,
        "omit_null": False,
        "validation_rules": (),
    }
)

# --- where the real API is more lenient than `validate` --------------------------------------

# The violations (`provisioner.rules` codes) the real API is documented or known to accept: the
# store accepts them too, `validate` refuses them, and `export` warns when it writes one.
LENIENT: Mapping[str, str] = MappingProxyType(
    {
        # Section 0: "`default` of the wrong type (the seed's own walkthrough sends
        # `"default": 0` on a string field, and the real API accepted it)"; spec 25.1201 types
        # `FieldRequest.default` as a number whatever the field type. Stored, never applied.
        "default_number": "a number as the default of a field of another type (section 0)",
        # 4.5 [CONFLICT]: KATA's training material relates to `"to": "products"`, a core
        # flow's plural slug, against the real API.
        "target_plural": "a core flow's plural slug as a relationship's `to` (4.5, KATA)",
    }
)

SECTIONS: Mapping[str, str] = MappingProxyType(
    {
        "FIELD_SLUG_PATTERN": "2.8",
        "FLOW_SLUG_PATTERN": "3.4",
        "TEMPLATE_SLUG_PATTERN": "3.4",
        "NAME_PATTERN": "2.4",
        "RESERVED_FLOW_SLUGS": "3.2",
        "RESERVED_FIELD_SLUGS": "4.2",
        "CORE_FLOWS": "3.4",
        "CORE_FLOW_SLUGS": "3.4",
        "SINGULAR_OF_CORE_FLOW": "4.5",
        "CORE_RELATIONSHIP_TARGETS": "4.5",
        "CORE_RESOURCE_ATTRIBUTES": "6",
        "is_core_flow": "3.4",
        "MAX_FIELDS_PER_FLOW": "4.2",
        "EXTERNAL_REF_MAX": "6",
        "DATE_PATTERN": "4.4",
        "EMAIL_PATTERN": "5.1",
        "UUID_PATTERN": "4.5",
        "SLUG_VALUE_PATTERN": "4.5",
        "RULE_TYPES": "4.5",
        "RELATIONSHIP_RULE_TYPES": "4.5",
        "FIELD_TYPES_TABLE": "4.4",
        "FIELD_TYPES": "4.4",
        "FLOW_BODY": "3.2",
        "FIELD_BODY": "4.2",
        "FLOW_CREATE_REQUIRED": "7",
        "FIELD_CREATE_REQUIRED": "7",
        "FLOW_SERVER_DEFAULTS": "4.3",
        "FIELD_SERVER_DEFAULTS": "4.3",
        "LENIENT": "0",
    }
)
