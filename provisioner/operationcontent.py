"""The content of a plan file's operation, checked on load (issue 10 item 2 and its
follow-ups): the body a create or update would send against the API's facts
(`epcc.flows.FLOW_BODY`/`FIELD_BODY` and their required keys, the field types of
`provisioner.rules`, `custom_api_rules` for Custom APIs), the attributes `before` and `after`
may hold, a migration's conversion, and `changes` equal to the difference of `before` and
`after` the planner computes (what a plan shows is what it writes). `operationfile` reads the
operation's shape and mixes these checks in. Pure."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from provisioner.attrdiff import attribute_changes
from provisioner.epcc import flows as api
from provisioner.errors import PlanFormatError
from provisioner.migration import CONVERSIONS, parse_temp_slug
from provisioner.model import FIELD_ATTRIBUTES, FLOW_ATTRIBUTES
from provisioner.operations import DELETE_KINDS, Action, AttributeChange, OpKind
from provisioner.rules import Violation, field_type_violations, has_json_type
from provisioner.rules.wording import type_words

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


class ContentChecks:
    """The checks of an operation's content; `operationfile._OperationReader` provides the
    operation (`kind`, `data`, `flow_slug`, `slug_key`) and how a problem is reported (`fail`)."""

    kind: OpKind
    data: Mapping[str, Any]
    flow_slug: str

    @property
    def slug_key(self) -> str:
        raise NotImplementedError

    def fail(self, message: str) -> PlanFormatError:
        raise NotImplementedError

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
