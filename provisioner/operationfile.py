"""Reading one operation of a plan file, strictly (issue 10 item 2): every required key for
its kind, no unknown kind; a malformed operation is one `PlanFormatError` naming it and the key.
Safety is never taken from the file where it can be derived.

The body a create or update would send is checked on load against the facts `validate` and the
planner use (`epcc.flows.FLOW_BODY`/`FIELD_BODY` and their required keys, the field types of
`provisioner.rules`, `custom_api_rules` for Custom APIs): a key the API requires and the client
does not fill with the API's default, a value of the wrong JSON type, an unknown field type or
`api_type` are one error before any request, never a 422 half-way (issue 10 follow-up). Other
rules (a blank name, say) stay the store's to judge, as for any plan the planner makes.
Pure."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from provisioner.attrdiff import attribute_changes
from provisioner.epcc import flows as api
from provisioner.errors import PlanFormatError
from provisioner.migration import CONVERSIONS, parse_temp_slug
from provisioner.model import FIELD_ATTRIBUTES, FLOW_ATTRIBUTES
from provisioner.operations import (
    CREATE_KINDS,
    DELETE_KINDS,
    Action,
    AttributeChange,
    Operation,
    OpKind,
    Safety,
)
from provisioner.rules import Violation, field_type_violations, has_json_type
from provisioner.rules.wording import type_words


class _OperationReader:
    """Reads one operation of a plan file; every problem names the operation (`label`)."""

    def __init__(self, index: int, data: Mapping[str, Any]) -> None:
        self.data = data
        where = f"operations[{index}]"
        kind_value = data.get("kind")
        try:
            self.kind = OpKind(str(kind_value))
        except ValueError:
            known = ", ".join(k.value for k in OpKind)
            raise PlanFormatError(
                f"malformed plan: {where}: unknown kind {kind_value!r} (expected one of {known})"
            ) from None
        owner_key = "custom_api" if self.kind.custom else "flow"
        flow_slug = data.get(owner_key)
        if not isinstance(flow_slug, str) or not flow_slug:
            raise PlanFormatError(
                f"malformed plan: {where} ({self.kind.value}): `{owner_key}` must be a slug"
            )
        self.flow_slug = flow_slug
        field_slug = data.get("field")
        named = f".{field_slug}" if isinstance(field_slug, str) and field_slug else ""
        self.label = f"{where} ({self.kind.value} {flow_slug}{named})"

    @property
    def slug_key(self) -> str:
        """The key naming the object an operation creates or changes."""
        return "field" if self.kind.on_field else ("custom_api" if self.kind.custom else "flow")

    def fail(self, message: str) -> PlanFormatError:
        return PlanFormatError(f"malformed plan: {self.label}: {message}")

    def text(self, key: str, *, required: bool) -> str | None:
        value = self.data.get(key)
        if value is None and not required:
            return None
        if not isinstance(value, str) or not value:
            raise self.fail(f"`{key}` must be a non-empty string (got {json.dumps(value)})")
        return value

    def attributes(self, key: str, *, required: bool) -> Mapping[str, Any] | None:
        value = self.data.get(key)
        if value is None and not required:
            return None
        if not isinstance(value, dict):
            raise self.fail(f"`{key}` must be an object of attributes (got {json.dumps(value)})")
        return value

    def check_shape(self) -> None:
        """The field a field operation names, the action matching the kind."""
        kind = self.kind
        if kind.on_field:
            self.text("field", required=True)
        elif self.data.get("field") is not None:
            raise self.fail("`field` must be null for a flow operation")
        action = self.data.get("action")
        if action is not None and action != kind.action.value:
            raise self.fail(
                f"`action` {action!r} does not match the kind (expected {kind.action.value!r})"
            )

    def after(self) -> Mapping[str, Any] | None:
        kind = self.kind
        after = self.attributes("after", required=kind not in DELETE_KINDS)
        if kind in (
            OpKind.CREATE_FIELD,
            OpKind.REPLACE_FIELD,
            OpKind.MIGRATE_FIELD,
            OpKind.CREATE_CUSTOM_FIELD,
            OpKind.REPLACE_CUSTOM_FIELD,
        ):
            assert after is not None
            field_type = after.get("field_type")
            if not isinstance(field_type, str) or not field_type:
                raise self.fail("`after.field_type` is required to create a field")
        return after

    def check_body(self, after: Mapping[str, Any] | None) -> None:
        """What the create or update would send, against the API's facts (module docstring)."""
        kind = self.kind
        if after is None or kind in DELETE_KINDS:
            return
        if kind.custom:
            self.check_custom_body(after)
            return
        field_slug = self.data.get("field")
        if kind.on_field:
            body = {"slug": field_slug, **after}
            for key in ("default", "order"):  # not sent when null (`attributes_create_body`)
                if body.get(key) is None:
                    body.pop(key, None)
            table, required = api.FIELD_BODY, api.FIELD_CREATE_REQUIRED
            defaults: Mapping[str, Any] = api.FIELD_SERVER_DEFAULTS
        else:
            body = {"slug": self.flow_slug, **after}
            table, required = api.FLOW_BODY, api.FLOW_CREATE_REQUIRED
            defaults = api.FLOW_SERVER_DEFAULTS
        if kind in _SENT_AS_CREATE:
            what = "a field" if kind.on_field else "a flow"
            for key in required:
                if key not in body and key not in defaults and key in _ATTRIBUTE_NAMES:
                    raise self.fail(f"`after.{key}` is required to create {what}")
        for attribute in table:
            if attribute.name in body and not has_json_type(
                body[attribute.name], attribute.json_types
            ):
                raise self.fail(
                    f"`after.{attribute.name}` must be {type_words(attribute.json_types)} "
                    f"(got {json.dumps(body[attribute.name])})"
                )
        if kind.on_field:
            self.check_field_type(body.get("field_type"))

    def check_field_type(self, field_type: Any) -> None:
        """An enumerated value: a field type the API knows (4.4), as `validate` words it."""
        found = field_type_violations(field_type, self.flow_slug, False)
        unknown = [v for v in found if v.code == "field_type_unknown"]
        if unknown:
            raise self.fail(_worded(unknown[0], self.slug_key))

    def check_custom_body(self, after: Mapping[str, Any]) -> None:
        """A Custom API operation's body against `custom_api_rules`, as the store judges it."""
        from provisioner import custom_api_rules
        from provisioner.custom_api_model import API_ATTRIBUTES, FIELD_ATTRIBUTES

        kind, create = self.kind, self.kind in _SENT_AS_CREATE
        slug = self.data.get("field") if kind.on_field else self.flow_slug
        if kind.on_field:
            keys = [k for k in FIELD_ATTRIBUTES if create or k not in _CREATE_ONLY]
            body = {k: after[k] for k in keys if k in after}
            found = custom_api_rules.custom_field_violations(
                {"slug": slug, **body} if create else body, create=create
            )
        else:
            keys = [k for k in API_ATTRIBUTES if k != "parent_apis" and (create or k != "api_type")]
            body = {k: after[k] for k in keys if k in after}
            found = custom_api_rules.custom_api_violations(
                {"slug": slug, **body} if create else body, create=create
            )
        # What the file must get right (the rest is the store's to judge, as for flows): the
        # keys the API requires, the enumerated values (field type, api_type), known keys.
        found = [v for v in found if v.code in _CUSTOM_CODES or v.what == "is required"]
        if found:
            raise self.fail(_worded(found[0], self.slug_key))

    def check_migration(
        self, before: Mapping[str, Any] | None, after: Mapping[str, Any], from_slug: str | None
    ) -> None:
        """A `migrate_field` converts what `migration.CONVERSIONS` converts (the table the
        migration itself uses): `before.field_type -> after.field_type` is one of its pairs;
        a migration continued from its temporary field (`from_slug`) names the temporary
        field of this field and of `after.field_type`."""
        if before is None:
            raise self.fail("`before` is required for a migrate_field (the field's old type)")
        rules = after.get("validation_rules")
        if rules is not None and not (
            isinstance(rules, list)
            and all(isinstance(r, Mapping) and isinstance(r.get("type"), str) for r in rules)
        ):
            # The migration checks every value against them before its first write.
            raise self.fail("`after.validation_rules` must be a list of rules, each with a `type`")
        old, new = before.get("field_type"), after.get("field_type")
        if from_slug is None:
            if (old, new) not in CONVERSIONS:
                pairs = ", ".join(f"{a} -> {b}" for a, b in CONVERSIONS)
                raise self.fail(
                    f"`before.field_type` -> `after.field_type` ({json.dumps(old)} -> "
                    f"{json.dumps(new)}) is not a conversion a migration makes ({pairs})"
                )
            return
        if parse_temp_slug(from_slug) != (self.data.get("field"), new) or old != new:
            raise self.fail(
                f"`from_slug` {json.dumps(from_slug)} is not the temporary field of a "
                f"migration of `field` to `after.field_type` {json.dumps(new)} (of that type)"
            )

    def changes(self) -> tuple[AttributeChange, ...]:
        raw_changes = self.data.get("changes", [])
        if not isinstance(raw_changes, list) or not all(
            isinstance(c, Mapping) and isinstance(c.get("path"), str) for c in raw_changes
        ):
            raise self.fail("`changes` must be a list of {path, before, after}")
        updates = (OpKind.UPDATE_FLOW, OpKind.UPDATE_FIELD, OpKind.UPDATE_CUSTOM_API)
        if self.kind in (*updates, OpKind.UPDATE_CUSTOM_FIELD) and not raw_changes:
            raise self.fail("an update must list its `changes`")
        return tuple(
            AttributeChange(path=str(c["path"]), before=c.get("before"), after=c.get("after"))
            for c in raw_changes
        )

    def attribute_names(self) -> tuple[str, ...]:
        """The attributes `before` and `after` may hold, in the order the planner diffs them."""
        if self.kind.custom:
            from provisioner import custom_api_model

            return (
                custom_api_model.FIELD_ATTRIBUTES
                if self.kind.on_field
                else custom_api_model.API_ATTRIBUTES
            )
        return FIELD_ATTRIBUTES if self.kind.on_field else FLOW_ATTRIBUTES

    def check_known_keys(self, key: str, attributes: Mapping[str, Any] | None) -> None:
        """No attribute the planner never writes: it would be shown, never sent."""
        known = self.attribute_names()
        unknown = [name for name in (attributes or {}) if name not in known]
        if unknown:
            what = "field" if self.kind.on_field else "Custom API" if self.kind.custom else "flow"
            raise self.fail(
                f"`{key}.{unknown[0]}` is not an attribute of a {what} "
                f"(expected one of {', '.join(known)})"
            )

    def check_changes(
        self,
        before: Mapping[str, Any] | None,
        after: Mapping[str, Any] | None,
        changes: tuple[AttributeChange, ...],
        from_slug: str | None,
    ) -> None:
        """What a plan shows of an update, rename or replace is its `changes`; what it writes
        comes from `after`. They must be one: `changes` is exactly the difference of `before`
        and `after` the planner computes (`attrdiff.attribute_changes`, the one rule), after a
        rename's `slug` change if listed (the header names both slugs). A create or a delete
        shows no changes, so lists none."""
        action = self.kind.action
        if action in (Action.CREATE, Action.DELETE):
            if changes:
                raise self.fail(f"`changes` must be empty for a {action.name.lower()}")
            return
        if before is None or after is None:
            raise self.fail("`before` and `after` are required to check the `changes`")
        old, new = before, after
        if self.kind.custom and self.kind.on_field:
            from provisioner.custom_api_model import comparable_field_attributes

            old, new = comparable_field_attributes(before), comparable_field_attributes(after)
        expected = attribute_changes(old, new, self.attribute_names())
        accepted = [expected]
        if from_slug is not None:  # the header names both slugs; the list may say it too
            slug = self.data.get("field") if self.kind.on_field else self.flow_slug
            accepted.append((AttributeChange("slug", from_slug, slug), *expected))
        if not any(_same_changes(changes, option) for option in accepted):
            raise self.fail(
                "`changes` do not match the difference of `before` and `after` "
                f"(expected {_listed(accepted[-1])}; the file lists {_listed(changes)})"
            )
        for change in changes:
            if change.attribute != "slug" and change.attribute not in after:
                raise self.fail(
                    f"`changes` names `{change.attribute}`, which `after` does not hold"
                )

    def reasons(self) -> tuple[str, ...]:
        reasons = self.data.get("reasons", [])
        if not isinstance(reasons, list) or not all(isinstance(r, str) for r in reasons):
            raise self.fail("`reasons` must be a list of strings")
        return tuple(reasons)

    def safety(self) -> Safety:
        try:
            safety = Safety(self.data.get("safety", "safe"))
        except ValueError:
            raise self.fail(f"unknown safety {self.data.get('safety')!r}") from None
        # Derived from the kind, whatever the file says.
        return Safety.DESTRUCTIVE if self.kind.destructive else safety

    def parent_ids(self) -> dict[str, str]:
        """A Custom API operation's parents by slug -> live ID."""
        parent_ids = self.data.get("parent_ids", {}) if self.kind.custom else {}
        if not isinstance(parent_ids, dict) or not all(
            isinstance(v, str) and v for v in parent_ids.values()
        ):
            raise self.fail("`parent_ids` must map parent slugs to IDs")
        return {str(k): v for k, v in parent_ids.items()}


# The kinds whose `after` is sent whole as a POST (a replace and a migration create anew).
_SENT_AS_CREATE = frozenset(
    {
        OpKind.CREATE_FLOW,
        OpKind.CREATE_FIELD,
        OpKind.REPLACE_FIELD,
        OpKind.MIGRATE_FIELD,
        OpKind.CREATE_CUSTOM_API,
        OpKind.REPLACE_CUSTOM_API,
        OpKind.CREATE_CUSTOM_FIELD,
        OpKind.REPLACE_CUSTOM_FIELD,
    }
)
# The body keys a plan's `after` holds (`type` and `relationships` are the client's).
_ATTRIBUTE_NAMES = frozenset(a.name for a in (*api.FLOW_BODY, *api.FIELD_BODY))
# The Custom API violations a plan file is refused for on load (`custom_api_rules` codes).
_CUSTOM_CODES = frozenset({"field_type_invalid", "api_type_invalid", "unknown_attribute"})
# A Custom Field's attributes an update never sends (`custom_api_model.field_body`).
_CREATE_ONLY = ("field_type", "use_as_url_slug")


def _same_changes(
    found: tuple[AttributeChange, ...], expected: tuple[AttributeChange, ...]
) -> bool:
    """Equal as JSON (so `1`, `1.0` and `true` stay apart, as the store keeps them)."""
    return _changes_json(found) == _changes_json(expected)


def _changes_json(changes: tuple[AttributeChange, ...]) -> str:
    return json.dumps([[c.path, c.before, c.after] for c in changes], sort_keys=True)


def _listed(changes: tuple[AttributeChange, ...]) -> str:
    """`name: "A2" -> "A3", ...` (the first three), or `no change`."""
    if not changes:
        return "no change"
    shown = [
        f"{c.path}: {json.dumps(c.before, ensure_ascii=False)} -> "
        f"{json.dumps(c.after, ensure_ascii=False)}"
        for c in changes[:3]
    ]
    more = f", and {len(changes) - 3} more" if len(changes) > 3 else ""
    return ", ".join(shown) + more


def _worded(violation: Violation, slug_key: str) -> str:
    """`after.PATH`: what (expected ...); the slug is the operation's own key (`slug_key`)."""
    path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in violation.path)
    where = slug_key if violation.path == ("slug",) else f"after{path}"
    expected = f" (expected {violation.expected})" if violation.expected else ""
    separator = " " if violation.what.startswith("is ") else ": "
    return f"`{where}`{separator}{violation.what}{expected}"


def operation_from_dict(index: int, data: Any) -> Operation:
    """One operation of a plan file; `index` locates it in the error."""
    if not isinstance(data, Mapping):
        raise PlanFormatError(f"malformed plan: operations[{index}] is not an object")
    read = _OperationReader(index, data)
    kind = read.kind
    read.check_shape()
    object_id = read.text("id", required=kind not in CREATE_KINDS)
    after = read.after()
    before = read.attributes("before", required=False)
    renames = (OpKind.RENAME_FIELD, OpKind.RENAME_CUSTOM_FIELD, OpKind.RENAME_CUSTOM_API)
    from_slug = read.text("from_slug", required=kind in renames)
    if kind is OpKind.MIGRATE_FIELD:
        assert after is not None
        read.check_migration(before, after, from_slug)
    read.check_known_keys("after", after)
    read.check_known_keys("before", before)
    read.check_body(after)
    changes = read.changes()
    read.check_changes(before, after, changes, from_slug)
    reasons = read.reasons()
    safety = read.safety()
    return Operation(
        kind=kind,
        flow_slug=read.flow_slug,
        field_slug=data.get("field") if kind.on_field else None,
        id=object_id,
        flow_id=read.text("custom_api_id" if kind.custom else "flow_id", required=False),
        before=before,
        after=after,
        changes=changes,
        safety=safety,
        reasons=reasons,
        from_slug=from_slug,
        from_flow_slug=None if kind.custom else read.text("from_flow", required=False),
        parent_ids=read.parent_ids(),
    )


def check_flow_ids(operations: tuple[Operation, ...]) -> None:
    """A field created into a flow needs that flow's ID, or the flow's creation in the plan."""
    created = {op.flow_slug for op in operations if op.kind is OpKind.CREATE_FLOW}
    apis = {
        op.flow_slug
        for op in operations
        if op.kind in (OpKind.CREATE_CUSTOM_API, OpKind.REPLACE_CUSTOM_API)
    }
    for index, op in enumerate(operations):
        custom_create = op.kind in (OpKind.CREATE_CUSTOM_FIELD, OpKind.REPLACE_CUSTOM_FIELD)
        if custom_create and op.flow_id is None and op.flow_slug not in apis:
            raise PlanFormatError(
                f"malformed plan: operations[{index}] ({op.kind.value} {op.address}): "
                f"`custom_api_id` is required (the plan does not create Custom API "
                f"{op.flow_slug})"
            )
        if op.kind not in (OpKind.CREATE_FIELD, OpKind.REPLACE_FIELD, OpKind.MIGRATE_FIELD):
            continue
        if op.flow_id is None and op.flow_slug not in created:
            raise PlanFormatError(
                f"malformed plan: operations[{index}] ({op.kind.value} {op.address}): "
                f"`flow_id` is required (the plan does not create flow {op.flow_slug})"
            )
