"""The canonical form of flows and fields, and the way in from the API's objects.

Both sides of a comparison pass through here before the planner looks at them
(design.md practice 2: equality is defined, not inherited):

- `flow_from_api` / `field_from_api` / `state_from_api` turn the API's raw `data` objects into
  the model, dropping the server's keys (`links`, `meta`, `relationships`, `type`, timestamps)
  and keeping the `id`.
- `flow_attributes` / `field_attributes` give the canonical attribute dict of a model value,
  whichever side it came from: API defaults filled, `description` null -> `""`, `default` `""`
  -> null (epcc-api.md 4.3 REC), numbers of float fields as floats (`1 == 1.0`), dates as ISO
  strings, rule keys in a fixed order.
- `create_body` / `update_body` give the attribute dicts the applier sends for an operation
  (the client adds `type`, `id` and `relationships`).
- `flow_fingerprint` / `field_fingerprint` / `flow_fields_fingerprint` / `live_fingerprint`
  digest a live object (or what a flow deletion destroys) for saved plans (plan.py).

Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from provisioner.keys import ENTRIES, FIELD, FIELDS, FLOW, ObjectKey
from provisioner.model import FIELD_ATTRIBUTES, FLOW_ATTRIBUTES, Field, Flow, State, ordered, plain
from provisioner.plan import Operation, OpKind, fingerprint

# The order in which rule keys are written (4.5 shapes); unknown keys follow, sorted.
RULE_KEY_ORDER = ("type", "options", "to")
RANGE_KEY_ORDER = ("from", "to")


# -- from the API -----------------------------------------------------------------------------


def flow_from_api(data: Mapping[str, Any]) -> Flow:
    """A live `Flow` (without fields) from an API flow object (3.3)."""
    return Flow(
        slug=str(data["slug"]),
        name=_text_or_empty(data.get("name")),
        description=_text_or_empty(data.get("description")),
        enabled=_flag(data.get("enabled"), default=True),
        id=_optional_str(data.get("id")),
        owner=_owner(data),
    )


def field_from_api(data: Mapping[str, Any]) -> Field:
    """A live `Field` from an API field object (4.3); absent keys take the API's defaults."""
    # Called for every live field of every plan (20,000 in `plan --all` over 20 stores): the
    # helpers are inlined, and a plain dict skips the abstract-class checks (issue 13).
    get = data.get
    rules = get("validation_rules") or ()
    order = get("order")
    name, description = get("name"), get("description")
    required, unique = get("required"), get("unique")
    enabled, omit_null = get("enabled"), get("omit_null")
    identifier = get("id")
    return Field(
        slug=str(data["slug"]),
        field_type=str(get("field_type") or "string"),
        name="" if name is None else str(name),
        description="" if description is None else str(description),
        required=False if required is None else bool(required),
        unique=False if unique is None else bool(unique),
        default=get("default"),
        enabled=True if enabled is None else bool(enabled),
        order=None if order is None else int(order),
        omit_null=False if omit_null is None else bool(omit_null),
        validation_rules=tuple(
            dict(rule) for rule in rules if type(rule) is dict or isinstance(rule, Mapping)
        )
        if rules
        else (),
        id=None if identifier is None else str(identifier),
        owner=_owner(data),
    )


def _owner(data: Mapping[str, Any]) -> str | None:
    """`meta.owner` (3.3: `store` or `organization`; absent in older answers)."""
    meta = data.get("meta")
    if type(meta) is not dict and not isinstance(meta, Mapping):
        return None
    owner = meta.get("owner")
    return None if owner is None else str(owner)


def field_flow_id(data: Mapping[str, Any]) -> str | None:
    """The ID of the flow a field object belongs to (`relationships.flow.data.id`, 4.3)."""
    relationships = data.get("relationships")
    if not isinstance(relationships, Mapping):
        return None
    flow = relationships.get("flow")
    if not isinstance(flow, Mapping):
        return None
    link = flow.get("data")
    if not isinstance(link, Mapping):
        return None
    return _optional_str(link.get("id"))


def state_from_api(
    flows: Iterable[Mapping[str, Any]], fields: Iterable[Mapping[str, Any]]
) -> State:
    """A live `State` from the flow and field lists; fields attach to their flow by ID.

    Fields whose flow is not in `flows` are left out: the reader may ask for some flows only,
    and a field cannot exist without its flow (3.4: deleting a flow deletes its fields).
    """
    by_id: dict[str, Flow] = {}
    for data in flows:
        flow = flow_from_api(data)
        if flow.id is not None:
            by_id[flow.id] = flow
    fields_by_flow: dict[str, dict[str, Field]] = {flow_id: {} for flow_id in by_id}
    for data in fields:
        flow_id = field_flow_id(data)
        if flow_id in fields_by_flow:
            field = field_from_api(data)
            fields_by_flow[flow_id][field.slug] = field
    result: dict[str, Flow] = {}
    for flow_id, flow in sorted(by_id.items(), key=lambda item: item[1].slug):
        attached = dict(sorted(fields_by_flow[flow_id].items()))
        result[flow.slug] = Flow(
            slug=flow.slug,
            name=flow.name,
            description=flow.description,
            enabled=flow.enabled,
            fields=attached,
            id=flow.id,
            owner=flow.owner,
        )
    return State(flows=result)


# -- canonical attributes ---------------------------------------------------------------------


def flow_attributes(flow: Flow) -> dict[str, Any]:
    """The managed attributes of a flow in canonical form (`FLOW_ATTRIBUTES` order)."""
    return {  # in `FLOW_ATTRIBUTES` order (checked below)
        "name": _text_or_empty(flow.name),
        "description": _text_or_empty(flow.description),
        "enabled": bool(flow.enabled),
    }


def field_attributes(field: Field) -> dict[str, Any]:
    """The managed attributes of a field in canonical form (`FIELD_ATTRIBUTES` order).

    - `default: ""` is null: the API stores an empty default as null (4.3 REC).
    - For `float` fields every number of the default and of the rules is a float, so `5` in
      YAML and `5.0` from the API are equal (4.5 shows both spellings).
    - Dates (YAML may parse `2024-01-01` as a date) are ISO strings, as the API returns them.
    - Rule keys are ordered `type`, `options`, `to`, then the rest sorted.
    """
    as_float = field.field_type == "float"
    default = field.default
    if default == "":
        default = None
    elif not (default is None or type(default) is bool or type(default) is str):
        default = plain(default, as_float=as_float)  # numbers, dates, lists: the rare case
    name, description, order = field.name, field.description, field.order
    rules = field.validation_rules
    return {  # in `FIELD_ATTRIBUTES` order (checked below)
        "name": "" if name is None else str(name),
        "description": "" if description is None else str(description),
        "field_type": field.field_type,
        "required": bool(field.required),
        "unique": bool(field.unique),
        "default": default,
        "enabled": bool(field.enabled),
        "order": None if order is None else int(order),
        "omit_null": bool(field.omit_null),
        "validation_rules": [_rule(rule, as_float=as_float) for rule in rules] if rules else [],
    }


def relationship_targets(attributes: Mapping[str, Any] | None) -> tuple[str, ...]:
    """The `to` of every relationship rule in canonical field attributes (4.5)."""
    if not attributes:
        return ()
    targets = []
    for rule in attributes.get("validation_rules") or ():
        if isinstance(rule, Mapping) and isinstance(rule.get("to"), str):
            targets.append(rule["to"])
    return tuple(targets)


# -- bodies for the applier -------------------------------------------------------------------


def attributes_create_body(slug: str, attributes: Mapping[str, Any]) -> dict[str, Any]:
    """Attributes of `POST /v2/fields` (4.2) from a field's canonical attributes (an
    `Operation.after`); the client adds the flow relationship.

    `default` and `order` are left out when null: the API fills null itself (4.3 REC), and a
    store that refuses null for them (undocumented) then never sees one.
    """
    body = {"slug": slug, **attributes}
    for key in ("default", "order"):
        if body.get(key) is None:
            body.pop(key, None)
    return body


def create_body(op: Operation) -> dict[str, Any]:
    """The attributes a POST of this create sends (a replace's create too): the slug and the
    operation's `after` (a flow's: all of them, 3.2; a field's: `attributes_create_body`)."""
    after = op.after or {}
    if op.kind is OpKind.CREATE_FLOW:
        return {"slug": op.flow_slug, **after}
    if op.kind in (OpKind.CREATE_FIELD, OpKind.REPLACE_FIELD):
        return attributes_create_body(str(op.field_slug), after)
    raise ValueError(f"{op.kind.value} is not sent as a POST")


def update_body(op: Operation) -> dict[str, Any]:
    """The attributes a PUT of this update or rename sends: only those that change.

    PUT is partial (3.5, 4.6). A change inside `validation_rules` sends the whole list. A
    rename sends the new `slug`.
    """
    if op.kind not in (OpKind.UPDATE_FLOW, OpKind.UPDATE_FIELD, OpKind.RENAME_FIELD):
        raise ValueError(f"{op.kind.value} is not sent as a PUT")
    after = op.after or {}
    body: dict[str, Any] = {}
    for change in op.changes:
        if change.attribute in after:
            body[change.attribute] = after[change.attribute]
    if op.kind is OpKind.RENAME_FIELD:
        body["slug"] = op.field_slug
    return body


# -- fingerprints -----------------------------------------------------------------------------


def flow_fingerprint(flow: Flow) -> str:
    """Digest of a live flow: its ID, slug and canonical attributes (not its fields)."""
    return fingerprint({"id": flow.id, "slug": flow.slug, **flow_attributes(flow)})


def field_fingerprint(field: Field) -> str:
    """Digest of a live field: its ID, slug and canonical attributes."""
    return fingerprint({"id": field.id, "slug": field.slug, **field_attributes(field)})


def flow_fields_fingerprint(flow: Flow) -> str:
    """Digest of a flow's set of fields (ID and slug of each): what deleting it destroys."""
    return fingerprint(sorted([field.slug, field.id] for field in flow.fields.values()))


def entry_count_fingerprint(count: int) -> str:
    """The recorded form of a flow's entry count: the number itself, readable in the file."""
    return str(count)


def live_fingerprint(
    live: State,
    key: str,
    entry_counts: Mapping[str, int] | None = None,
    custom_entry_counts: Mapping[str, int] | None = None,
) -> str | None:
    """The fingerprint of the object `key` in `live`; None if absent.

    Keys: `flow:S`, `field:S.F`, and for a flow being deleted `fields:S` (its set of fields)
    and `entries:S` (its entry count, from `entry_counts`; None when not known or the flow is
    gone). A saved plan is stale when this differs from what `plan.fingerprints` recorded.
    """
    parsed = ObjectKey.parse(key)
    kind, name = parsed.kind, parsed.flow_slug
    if kind.startswith("custom_"):  # issue 14: Custom APIs (`custom_api:S`, ...)
        from provisioner.custom_api_fingerprints import live_fingerprint as custom_fingerprint

        return custom_fingerprint(live, parsed, custom_entry_counts)
    if kind == FLOW:
        flow = live.flows.get(name)
        return None if flow is None else flow_fingerprint(flow)
    if kind == FIELDS:
        flow = live.flows.get(name)
        return None if flow is None else flow_fields_fingerprint(flow)
    if kind == ENTRIES:
        count = None if name not in live.flows else (entry_counts or {}).get(name)
        return None if count is None else entry_count_fingerprint(count)
    if kind == FIELD:
        owner = live.flows.get(name)
        field = None if owner is None else owner.fields.get(str(parsed.field_slug))
        return None if field is None else field_fingerprint(field)
    raise ValueError(f"not an object key: {key!r}")


# -- helpers ----------------------------------------------------------------------------------


def _text_or_empty(value: Any) -> str:
    return "" if value is None else str(value)


def _flag(value: Any, *, default: bool) -> bool:
    return default if value is None else bool(value)


def _optional_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _rule(rule: Mapping[str, Any], *, as_float: bool) -> dict[str, Any]:
    built: dict[str, Any] = plain(rule, as_float=as_float)
    if tuple(built) not in _IN_RULE_ORDER:  # rules from the API are in order already
        built = ordered(built, RULE_KEY_ORDER)
    options = built.get("options")
    if isinstance(options, dict) and tuple(options) not in _IN_RANGE_ORDER:
        built["options"] = ordered(options, RANGE_KEY_ORDER)
    return built


def _in_order(first: tuple[str, ...]) -> frozenset[tuple[str, ...]]:
    """Every key sequence that `ordered(values, first)` leaves as it is: keys of `first`
    only, in its order (a subsequence of it)."""
    found: set[tuple[str, ...]] = set()
    for mask in range(1 << len(first)):
        found.add(tuple(key for bit, key in enumerate(first) if mask >> bit & 1))
    return frozenset(found)


_IN_RULE_ORDER = _in_order(RULE_KEY_ORDER)
_IN_RANGE_ORDER = _in_order(RANGE_KEY_ORDER)


# `field_attributes` and `flow_attributes` build their dicts in model order, which saves a
# copy per object (issue 16).
if (
    tuple(field_attributes(Field(slug="x"))) != FIELD_ATTRIBUTES
    or tuple(flow_attributes(Flow(slug="x"))) != FLOW_ATTRIBUTES
):
    raise AssertionError("normalize: attribute order differs from the model's")
