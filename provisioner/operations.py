"""The operations of a Plan: a closed vocabulary named verb + noun (`OpKind`).

Each operation carries the live object's ID where one exists, the normalised attributes before
and after, the attribute changes that caused it, its safety class and the reasons for that
class. `Action` values are the symbols the views print. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from provisioner.keys import custom_api_key, custom_field_key, field_key, flow_key


class Action(StrEnum):
    """What happens to an object; the value is the symbol the views print."""

    CREATE = "+"
    UPDATE = "~"
    RENAME = "~>"
    REPLACE = "-/+"
    DELETE = "-"


class OpKind(StrEnum):
    """The closed vocabulary of operations."""

    CREATE_FLOW = "create_flow"
    UPDATE_FLOW = "update_flow"
    DELETE_FLOW = "delete_flow"
    CREATE_FIELD = "create_field"
    UPDATE_FIELD = "update_field"
    RENAME_FIELD = "rename_field"
    REPLACE_FIELD = "replace_field"
    DELETE_FIELD = "delete_field"
    # Issue 15: a field replace whose values convert, run as a migration that keeps them
    # (`apply --migrate`, provisioner.migration).
    MIGRATE_FIELD = "migrate_field"
    # Custom APIs (issue 14): `flow_slug` holds the Custom API's slug, `flow_id` its ID.
    CREATE_CUSTOM_API = "create_custom_api"
    UPDATE_CUSTOM_API = "update_custom_api"
    RENAME_CUSTOM_API = "rename_custom_api"
    REPLACE_CUSTOM_API = "replace_custom_api"
    DELETE_CUSTOM_API = "delete_custom_api"
    CREATE_CUSTOM_FIELD = "create_custom_field"
    UPDATE_CUSTOM_FIELD = "update_custom_field"
    RENAME_CUSTOM_FIELD = "rename_custom_field"
    REPLACE_CUSTOM_FIELD = "replace_custom_field"
    DELETE_CUSTOM_FIELD = "delete_custom_field"

    @property
    def custom(self) -> bool:
        """An operation on a Custom API or one of its fields."""
        return self.value.endswith(("_custom_api", "_custom_field"))

    @property
    def action(self) -> Action:
        return _ACTIONS[self]

    @property
    def destructive(self) -> bool:
        """Deletes and replaces lose data, whatever a plan file says about them."""
        return self in _DESTRUCTIVE_KINDS

    @property
    def on_field(self) -> bool:
        return self in _FIELD_KINDS


_ACTIONS = {
    OpKind.CREATE_FLOW: Action.CREATE,
    OpKind.UPDATE_FLOW: Action.UPDATE,
    OpKind.DELETE_FLOW: Action.DELETE,
    OpKind.CREATE_FIELD: Action.CREATE,
    OpKind.UPDATE_FIELD: Action.UPDATE,
    OpKind.RENAME_FIELD: Action.RENAME,
    OpKind.REPLACE_FIELD: Action.REPLACE,
    OpKind.DELETE_FIELD: Action.DELETE,
    OpKind.MIGRATE_FIELD: Action.REPLACE,
    OpKind.CREATE_CUSTOM_API: Action.CREATE,
    OpKind.UPDATE_CUSTOM_API: Action.UPDATE,
    OpKind.RENAME_CUSTOM_API: Action.RENAME,
    OpKind.REPLACE_CUSTOM_API: Action.REPLACE,
    OpKind.DELETE_CUSTOM_API: Action.DELETE,
    OpKind.CREATE_CUSTOM_FIELD: Action.CREATE,
    OpKind.UPDATE_CUSTOM_FIELD: Action.UPDATE,
    OpKind.RENAME_CUSTOM_FIELD: Action.RENAME,
    OpKind.REPLACE_CUSTOM_FIELD: Action.REPLACE,
    OpKind.DELETE_CUSTOM_FIELD: Action.DELETE,
}


_DESTRUCTIVE_KINDS = frozenset(
    {
        OpKind.DELETE_FLOW,
        OpKind.DELETE_FIELD,
        OpKind.REPLACE_FIELD,
        OpKind.DELETE_CUSTOM_API,
        OpKind.REPLACE_CUSTOM_API,
        OpKind.DELETE_CUSTOM_FIELD,
        OpKind.REPLACE_CUSTOM_FIELD,
    }
)
_FIELD_KINDS = frozenset(
    {
        OpKind.CREATE_FIELD,
        OpKind.UPDATE_FIELD,
        OpKind.RENAME_FIELD,
        OpKind.REPLACE_FIELD,
        OpKind.DELETE_FIELD,
        OpKind.MIGRATE_FIELD,
        OpKind.CREATE_CUSTOM_FIELD,
        OpKind.UPDATE_CUSTOM_FIELD,
        OpKind.RENAME_CUSTOM_FIELD,
        OpKind.REPLACE_CUSTOM_FIELD,
        OpKind.DELETE_CUSTOM_FIELD,
    }
)
CREATE_KINDS = frozenset(
    {OpKind.CREATE_FLOW, OpKind.CREATE_FIELD, OpKind.CREATE_CUSTOM_API, OpKind.CREATE_CUSTOM_FIELD}
)
DELETE_KINDS = frozenset(
    {OpKind.DELETE_FLOW, OpKind.DELETE_FIELD, OpKind.DELETE_CUSTOM_API, OpKind.DELETE_CUSTOM_FIELD}
)


class Safety(StrEnum):
    """How dangerous an operation is to the store's data; ordered safe < risky < destructive."""

    SAFE = "safe"
    RISKY = "risky"
    DESTRUCTIVE = "destructive"

    @property
    def rank(self) -> int:
        return ("safe", "risky", "destructive").index(self.value)


@dataclass(frozen=True)
class AttributeChange:
    """One attribute that differs: `path` is e.g. `name` or `validation_rules[0].options.to`."""

    path: str
    before: Any
    after: Any

    @property
    def attribute(self) -> str:
        """The top-level attribute the change is in: `validation_rules` for
        `validation_rules[0].options.to` (an update sends that attribute whole)."""
        return self.path.split(".", 1)[0].split("[", 1)[0]


@dataclass(frozen=True)
class Operation:
    """One change to the store.

    - `flow_slug`/`field_slug` name the object as it will be after the operation; for a rename
      `from_slug` is the live slug, for a replace that moves a field `from_flow_slug` is the
      flow it leaves.
    - `id` is the live object's ID (None for creates); `flow_id` the live ID of the field's flow
      (None when that flow is created in the same run: the applier resolves it).
    - `before`/`after` are normalised attribute dicts (None where the object does not exist).
    - `changes` lists the attributes that differ; `safety` and `reasons` say why it is classed so.
    """

    kind: OpKind
    flow_slug: str
    field_slug: str | None = None
    id: str | None = None
    flow_id: str | None = None
    before: Mapping[str, Any] | None = None
    after: Mapping[str, Any] | None = None
    changes: tuple[AttributeChange, ...] = ()
    safety: Safety = Safety.SAFE
    reasons: tuple[str, ...] = ()
    from_slug: str | None = None
    from_flow_slug: str | None = None
    # Custom API operations: the live IDs of the parent Custom APIs `after` names, by slug
    # (a parent created by the same plan is resolved by apply).
    parent_ids: Mapping[str, str] = field(default_factory=dict)

    @property
    def action(self) -> Action:
        return self.kind.action

    @property
    def key(self) -> str:
        """Identity of the object after the operation (`flow:x`, `field:x.y`, and for Custom
        APIs `custom_api:x`, `custom_field:x.y`)."""
        if self.kind.custom:
            if self.field_slug is None:
                return custom_api_key(self.flow_slug)
            return custom_field_key(self.flow_slug, self.field_slug)
        if self.field_slug is None:
            return flow_key(self.flow_slug)
        return field_key(self.flow_slug, self.field_slug)

    @property
    def address(self) -> str:
        """Human name: `customers` or `customers.delivery_details` (with the old name if any)."""
        if self.field_slug is None:
            # A renamed Custom API (issue 14): `old -> new`.
            old = self.from_slug
            return self.flow_slug if old is None else f"{old} -> {self.flow_slug}"
        name = f"{self.flow_slug}.{self.field_slug}"
        # A replace may both move the field (from_flow_slug) and rename it (from_slug).
        old = f"{self.from_flow_slug or self.flow_slug}.{self.from_slug or self.field_slug}"
        return name if old == name else f"{old} -> {name}"

    def describe(self) -> str:
        """One line: `+ create_field customers.delivery_details`."""
        return f"{self.action.value} {self.kind.value} {self.address}"
