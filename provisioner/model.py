"""The domain model: desired and live state as frozen values.

`State` is a snapshot of flows keyed by slug, each with its fields keyed by slug. The same type
holds what the YAML files ask for (desired) and what a store holds (live); "nothing deployed yet"
is the empty `State()`. The defaults of `Flow` and `Field` are the API's own defaults
(`epcc-api.md` 4.3 and section 0), so a value built from sparse YAML and a value read from a
store compare on equal terms.

The API's fixed vocabularies (field types, core and reserved slugs, limits) are
`provisioner.epcc.flows`; the few this module names are re-exported from there.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from provisioner.epcc import flows as api

if TYPE_CHECKING:
    from provisioner.custom_api_model import CustomApi

# The API's vocabularies live in `provisioner.epcc.flows`, each with its evidence; these names
# stay importable from here for the modules that know them by this address.
FIELD_TYPES = api.FIELD_TYPES
CORE_FLOW_SLUGS = api.CORE_FLOW_SLUGS
RESERVED_FLOW_SLUGS = api.RESERVED_FLOW_SLUGS
RESERVED_FIELD_SLUGS = api.RESERVED_FIELD_SLUGS
CORE_RESOURCE_ATTRIBUTES = api.CORE_RESOURCE_ATTRIBUTES
CORE_RELATIONSHIP_TARGETS = api.CORE_RELATIONSHIP_TARGETS
MAX_FIELDS_PER_FLOW = api.MAX_FIELDS_PER_FLOW
is_core_flow = api.is_core_flow

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
    # Live only: `meta.owner` (epcc-api.md 3.3), `store` or `organization`; None if not sent.
    owner: str | None = field(default=None, compare=False)

    def attributes(self) -> dict[str, Any]:
        """The managed attributes as plain JSON values (`FIELD_ATTRIBUTES` order)."""
        values = {name: getattr(self, name) for name in FIELD_ATTRIBUTES}
        values["validation_rules"] = [plain(rule) for rule in self.validation_rules]
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
    owner: str | None = field(default=None, compare=False)  # live only, as for fields

    def attributes(self) -> dict[str, Any]:
        """The managed attributes as plain JSON values (`FLOW_ATTRIBUTES` order)."""
        return {name: getattr(self, name) for name in FLOW_ATTRIBUTES}


@dataclass(frozen=True)
class State:
    """A snapshot of flows keyed by slug: desired (from YAML) or live (from a store).

    `custom_apis` (issue 14) holds Custom APIs keyed by slug (`provisioner.custom_api_model`);
    empty when the files declare none or the store was not asked for them.
    """

    flows: Mapping[str, Flow] = field(default_factory=dict)
    custom_apis: Mapping[str, CustomApi] = field(default_factory=dict)

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


def renamed_source(flow_slug: str, item: str) -> tuple[str, str]:
    """A `renamed_from` item of a field of `flow_slug` as (flow slug, field slug): `old_slug`
    names a field of the same flow, `other_flow.old_slug` one of another flow (slugs hold no
    `.`: epcc-api.md 2.8, 3.4)."""
    if "." in item:
        other, _, old = item.partition(".")
        return other, old
    return flow_slug, item


def renamed_item(flow_slug: str, source: tuple[str, str]) -> str:
    """The `renamed_from` item naming `source` from a field of `flow_slug` (the shortest)."""
    other, old = source
    return old if other == flow_slug else f"{other}.{old}"


def desired_only_keys(renamed_from: Sequence[str], absent: bool) -> dict[str, Any]:
    """A declared field's keys that are ours, not the API's (flows' and Custom APIs' alike), as
    the files write them: `renamed_from`, then `state: absent`, each only when set. Desired
    state only (a live store never sets them); exported so that any State round-trips."""
    document: dict[str, Any] = {}
    if renamed_from:
        document["renamed_from"] = list(renamed_from)
    if absent:
        document["state"] = "absent"
    return document


def plain(value: Any, *, as_float: bool = False) -> Any:
    """A JSON-plain deep copy: mappings to dicts, sequences to lists, dates to the ISO strings
    the API holds (4.4); with `as_float`, integers to floats (a float field's values, 4.3)."""
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return value  # the common case, without the abstract-class checks below
    if kind is dict or isinstance(value, Mapping):
        return {str(k): plain(v, as_float=as_float) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v, as_float=as_float) for v in value]
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if as_float and isinstance(value, int):
        return float(value)
    return value


def ordered(values: Mapping[str, Any], first: tuple[str, ...]) -> dict[str, Any]:
    """`values` with the keys of `first` first (in that order), then the others sorted."""
    keys = [k for k in first if k in values] + sorted(k for k in values if k not in first)
    return {k: values[k] for k in keys}
