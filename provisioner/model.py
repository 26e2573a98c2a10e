"""The domain model: desired and live state as frozen values.

`State` is a snapshot of flows keyed by slug, each with its fields keyed by slug. The same type
holds what the YAML files ask for (desired) and what a store holds (live); "nothing deployed yet"
is the empty `State()`. The defaults of `Flow` and `Field` are the API's own defaults
(`epcc-api.md` 4.3 and section 0), so a value built from sparse YAML and a value read from a
store compare on equal terms.

This module also holds the API's fixed vocabularies (field types, core and reserved slugs),
each with the section of `../shared/epcc-api.md` that is its evidence.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

# 4.4: the six field types.
FIELD_TYPES: tuple[str, ...] = ("string", "integer", "boolean", "float", "date", "relationship")

# 3.4: slugs that make a flow "core": it extends that resource and cannot be deleted (405).
CORE_FLOW_SLUGS: frozenset[str] = frozenset(
    {
        "accounts",
        "account-members",
        "account-memberships",
        "addresses",
        "authentication-realms",
        "carts",
        "cart_items",
        "customers",
        "oidc-profiles",
        "order_items",
        "orders",
        "password-profiles",
        "products",
        "promotions",
        "rule-promotions",
        "user-authentication-info",
        "user-authentication-oidc-profile-info",
        "user-authentication-password-profile-info",
        "catalogs",
        # legacy Moltin catalogue (3.4, OLD 2020)
        "brands",
        "collections",
        "categories",
    }
)

# 3.2: singular resource names refused as flow slugs.
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

# 4.2 [INF] and 6: built-in attributes of a core resource that a field of its flow would shadow.
CORE_RESOURCE_ATTRIBUTES: Mapping[str, frozenset[str]] = MappingProxyType(
    {"customers": frozenset({"name", "email", "password", "external_ref"})}
)

# 4.5: a relationship rule's `to` names a core resource in singular form.
CORE_RELATIONSHIP_TARGETS: frozenset[str] = frozenset(
    {
        "account",
        "address",
        "brand",
        "cart",
        "cart_item",
        "category",
        "collection",
        "customer",
        "order",
        "order_item",
        "product",
        "promotion",
    }
)

MAX_FIELDS_PER_FLOW = 100  # 4.2: "a hard limit of 100 fields per flow"

# The attributes we manage and compare, in the order the views print them.
FLOW_ATTRIBUTES: tuple[str, ...] = ("name", "description", "enabled")
FIELD_ATTRIBUTES: tuple[str, ...] = (
    "name",
    "description",
    "field_type",
    "required",
    "unique",
    "default",
    "enabled",
    "order",
    "omit_null",
    "validation_rules",
)


def is_core_flow(flow_slug: str) -> bool:
    """True when a flow with this slug extends a core resource (3.4)."""
    return flow_slug in CORE_FLOW_SLUGS


@dataclass(frozen=True, order=True)
class Location:
    """Where a value was written: file and 1-based line and column."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True)
class Field:
    """A field of a flow. Defaults are the API's (4.3, section 0).

    `absent` (YAML `state: absent`) and `renamed_from` are ours and only appear in desired
    state; `id` only in live state. Neither they nor `location` take part in equality of the
    managed attributes: compare `attributes()`.
    """

    slug: str
    field_type: str = "string"
    name: str = ""
    description: str = ""
    required: bool = False
    unique: bool = False
    default: Any = None
    enabled: bool = True
    order: int | None = None
    omit_null: bool = False
    validation_rules: tuple[Mapping[str, Any], ...] = ()
    absent: bool = False
    renamed_from: tuple[str, ...] = ()
    id: str | None = field(default=None, compare=False)
    location: Location | None = field(default=None, compare=False, repr=False)

    def attributes(self) -> dict[str, Any]:
        """The managed attributes as plain JSON values (`FIELD_ATTRIBUTES` order)."""
        values = {name: getattr(self, name) for name in FIELD_ATTRIBUTES}
        values["validation_rules"] = [_plain(rule) for rule in self.validation_rules]
        return values


@dataclass(frozen=True)
class Flow:
    """A flow and its fields. `prune` and `absent` are ours (desired state only)."""

    slug: str
    name: str = ""
    description: str = ""
    enabled: bool = True
    fields: Mapping[str, Field] = field(default_factory=dict)
    prune: bool = False
    absent: bool = False
    id: str | None = field(default=None, compare=False)
    location: Location | None = field(default=None, compare=False, repr=False)

    @property
    def is_core(self) -> bool:
        return is_core_flow(self.slug)

    def attributes(self) -> dict[str, Any]:
        """The managed attributes as plain JSON values (`FLOW_ATTRIBUTES` order)."""
        return {name: getattr(self, name) for name in FLOW_ATTRIBUTES}


@dataclass(frozen=True)
class State:
    """A snapshot of flows keyed by slug: desired (from YAML) or live (from a store)."""

    flows: Mapping[str, Flow] = field(default_factory=dict)

    def field_count(self) -> int:
        return sum(len(flow.fields) for flow in self.flows.values())


# The API's default of every attribute a create may leave out (4.3, section 0), derived from
# the dataclasses above so there is one list: views show only what differs from them.
FIELD_DEFAULTS: Mapping[str, Any] = MappingProxyType(
    {k: v for k, v in Field(slug="").attributes().items() if k not in ("name", "field_type")}
)
FLOW_DEFAULTS: Mapping[str, Any] = MappingProxyType(
    {k: v for k, v in Flow(slug="").attributes().items() if k != "name"}
)


def _plain(value: Any) -> Any:
    """A deep copy of mappings/sequences as dicts/lists, for JSON and deepdiff."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
