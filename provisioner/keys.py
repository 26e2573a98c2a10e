"""Object keys: how a plan names the objects it touches (`flow:S`, `field:F.S`), in one type.

A saved plan records keys as text (`fingerprints`, `unmanaged`, `owned_elsewhere`); every key is
made by `ObjectKey` and read back by `ObjectKey.parse`, nowhere else. Besides flows and fields,
a flow the plan deletes has `fields:S` (its set of fields) and `entries:S` (its entry count).
Slugs hold no `.` or `:` (epcc-api.md 2.8, 3.4), so the text form is unambiguous. Pure.
"""

from __future__ import annotations

from typing import NamedTuple

FLOW = "flow"
FIELD = "field"
FIELDS = "fields"  # a deleted flow's set of fields
ENTRIES = "entries"  # a deleted flow's entry count
# Issue 14: Custom APIs, their fields, a deleted or replaced API's set of fields and entries.
CUSTOM_API = "custom_api"
CUSTOM_FIELD = "custom_field"
CUSTOM_FIELDS = "custom_fields"
CUSTOM_ENTRIES = "custom_entries"
KINDS = frozenset(
    {FLOW, FIELD, FIELDS, ENTRIES, CUSTOM_API, CUSTOM_FIELD, CUSTOM_FIELDS, CUSTOM_ENTRIES}
)
_OF_FIELDS = (FIELD, CUSTOM_FIELD)  # keys that name a field: `F.S`


class ObjectKey(NamedTuple):
    """The kind of object, its flow's slug, and for a field the field's slug."""

    kind: str  # one of KINDS; only FIELD and CUSTOM_FIELD have a field slug
    flow_slug: str
    field_slug: str | None = None

    @property
    def address(self) -> str:
        """`customers` or `customers.delivery_details`: the object as people name it."""
        if self.field_slug is None:
            return self.flow_slug
        return f"{self.flow_slug}.{self.field_slug}"

    def __str__(self) -> str:
        return f"{self.kind}:{self.address}"

    @classmethod
    def parse(cls, text: str) -> ObjectKey:
        """The key written as `text`; ValueError when it is not one (an unknown kind, no
        slug, a field key without its field's slug)."""
        kind, _, address = text.partition(":")
        if kind not in KINDS or not address:
            raise ValueError(f"not an object key: {text!r}")
        if kind not in _OF_FIELDS:
            return cls(kind, address)
        flow_slug, _, field_slug = address.partition(".")
        if not flow_slug or not field_slug:
            raise ValueError(f"not an object key: {text!r}")
        return cls(kind, flow_slug, field_slug)


def flow_key(flow_slug: str) -> str:
    return str(ObjectKey(FLOW, flow_slug))


def field_key(flow_slug: str, field_slug: str) -> str:
    return str(ObjectKey(FIELD, flow_slug, field_slug))


def fields_key(flow_slug: str) -> str:
    """The key of a deleted flow's set of fields."""
    return str(ObjectKey(FIELDS, flow_slug))


def entries_key(flow_slug: str) -> str:
    """The key of a deleted flow's entry count."""
    return str(ObjectKey(ENTRIES, flow_slug))


def address_of(key: str) -> str:
    """The address (`customers.x`) of the object the key text names."""
    return ObjectKey.parse(key).address


def custom_api_key(api_slug: str) -> str:
    return str(ObjectKey(CUSTOM_API, api_slug))


def custom_field_key(api_slug: str, field_slug: str) -> str:
    return str(ObjectKey(CUSTOM_FIELD, api_slug, field_slug))


def custom_fields_key(api_slug: str) -> str:
    """The key of a deleted or replaced Custom API's set of fields."""
    return str(ObjectKey(CUSTOM_FIELDS, api_slug))


def custom_entries_key(api_slug: str) -> str:
    """The key of a deleted or replaced Custom API's entry count."""
    return str(ObjectKey(CUSTOM_ENTRIES, api_slug))
