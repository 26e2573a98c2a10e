"""Definitions: a flow's or a field's name, slug, type and field count (2.4, 3.2, 4.2, 4.4)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from provisioner.epcc import flows as api
from provisioner.rules.validation_rules import rule_list_violations
from provisioner.rules.values import default_violations, is_blank, is_template_slug
from provisioner.rules.violation import Violation
from provisioner.rules.wording import FLOW_SLUG_ALPHABET, SLUG_ALPHABET, one_of, quote

_FIELD_SLUG = re.compile(api.FIELD_SLUG_PATTERN)
_FLOW_SLUG = re.compile(api.FLOW_SLUG_PATTERN)


def name_violations(name: Any) -> list[Violation]:
    """2.4 (REC): a blank name is no name."""
    if isinstance(name, str) and is_blank(name):
        return [
            Violation(
                ("name",),
                "is blank" if name else "is empty",
                "a non-empty display name",
                "name_blank",
            )
        ]
    return []


def flow_slug_violations(slug: str) -> list[Violation]:
    """3.2, 3.4, 2.8: the slug's alphabet and the reserved singular names."""
    if _FLOW_SLUG.fullmatch(slug) is None:
        what = (
            "names starting with `$` are not supported by the API"
            if slug.startswith("$")
            else f"{quote(slug)} is not a valid flow slug"
        )
        return [
            Violation(
                ("slug",),
                what,
                FLOW_SLUG_ALPHABET,
                "slug_pattern",
            )
        ]
    if slug in api.RESERVED_FLOW_SLUGS:
        return [
            Violation(
                ("slug",),
                f"`{slug}` is reserved by the API (a singular resource name)",
                "another slug; to extend a core resource use its plural slug, e.g. `customers`",
                "reserved_flow_slug",
            )
        ]
    return []


def field_slug_violations(slug: str, flow_slug: str | None) -> list[Violation]:
    """4.2, 2.8: the slug's alphabet, the reserved names, a core resource's own attributes."""
    if _FIELD_SLUG.fullmatch(slug) is None:
        what = (
            "names starting with `$` are not supported by the API"
            if slug.startswith("$")
            else f"{quote(slug)} is not a valid field slug"
        )
        return [Violation(("slug",), what, SLUG_ALPHABET, "slug_pattern")]
    if slug in api.RESERVED_FIELD_SLUGS:
        return [
            Violation(
                ("slug",),
                f"`{slug}` is reserved by the API",
                "a slug other than " + ", ".join(sorted(api.RESERVED_FIELD_SLUGS)),
                "reserved_field_slug",
            )
        ]
    builtin = api.CORE_RESOURCE_ATTRIBUTES.get(flow_slug or "", frozenset())
    if slug in builtin:
        return [
            Violation(
                ("slug",),
                f"`{slug}` collides with the built-in `{slug}` attribute of {flow_slug}",
                "a slug other than " + ", ".join(sorted(builtin)),
                "builtin_attribute",
            )
        ]
    return []


def flow_violations(attrs: Mapping[str, Any]) -> list[Violation]:
    """A flow's name and slug (3.2); the attribute types are the request parser's business."""
    found = name_violations(attrs.get("name"))
    if isinstance(attrs.get("slug"), str):
        found += flow_slug_violations(attrs["slug"])
    return found


def field_count_violations(count: int) -> list[Violation]:
    """4.2: at most 100 fields per flow."""
    if count <= api.MAX_FIELDS_PER_FLOW:
        return []
    return [
        Violation(
            ("fields",),
            f"{count} fields in one flow",
            f"at most {api.MAX_FIELDS_PER_FLOW} fields per flow, the API's limit",
            "too_many_fields",
        )
    ]


def field_violations(
    attrs: Mapping[str, Any],
    flow_slug: str | None,
    flows: Mapping[str, bool] | None,
) -> list[Violation]:
    """Everything about one field's definition (4.2, 4.4, 4.5), in a fixed order.

    `flows` maps the flow slugs a relationship may name to whether they are kept (False: about
    to be deleted); None skips the relationship target check.
    """
    found = name_violations(attrs.get("name"))
    if isinstance(attrs.get("slug"), str):
        found += field_slug_violations(attrs["slug"], flow_slug)
    field_type = attrs.get("field_type")
    found += field_type_violations(field_type, flow_slug, attrs.get("required"))
    if not isinstance(field_type, str) or field_type not in api.FIELD_TYPES_TABLE:
        return found
    rules_found, rules = rule_list_violations(field_type, attrs.get("validation_rules"), flows)
    found += rules_found
    found += default_violations(attrs.get("default"), field_type, rules)
    return found


def field_type_violations(field_type: Any, flow_slug: str | None, required: Any) -> list[Violation]:
    """4.4: a known field type; 4.2: a relationship is not required; 4.5: no relationship in a
    product template."""
    if field_type not in api.FIELD_TYPES_TABLE:
        if not isinstance(field_type, str):
            return []
        return [
            Violation(
                ("field_type",),
                f"unknown value {quote(field_type)}",
                one_of(api.FIELD_TYPES),
                "field_type_unknown",
            )
        ]
    found: list[Violation] = []
    if field_type == "relationship":
        if flow_slug is not None and is_template_slug(flow_slug):
            found.append(
                Violation(
                    ("field_type",),
                    "relationship fields cannot be used in product templates",
                    "string, integer, boolean, float or date (epcc-api.md 4.5)",
                    "template_relationship",
                )
            )
        if required is True:
            found.append(
                Violation(
                    ("required",),
                    "a relationship field cannot be required",
                    "false, which the API requires for relationships",
                    "relationship_required",
                )
            )
    return found
