"""Custom APIs as YAML (issue 14 item 6): the `custom_apis:` part of an exported file.

Written as people write them: `name` and `api_type` (a field's `name` and `field_type`)
always, other attributes only where they differ from the API's defaults, `validation` only
with the keys that differ from their defaults, fields by `presentation.sort_order` then slug.
What the planner compares (`custom_api_model`) is what is left out, so an export plans no
change against its store. Pure: no I/O.
"""

from __future__ import annotations

from typing import Any

from provisioner.custom_api_model import (
    CustomApi,
    CustomField,
    shown_custom_attributes,
    sparse_validation,
)
from provisioner.model import desired_only_keys


def field_document(custom_field: CustomField) -> dict[str, Any]:
    document: dict[str, Any] = {"name": custom_field.name, "field_type": custom_field.field_type}
    if custom_field.description:
        document["description"] = custom_field.description
    if custom_field.use_as_url_slug:
        document["use_as_url_slug"] = True
    if custom_field.sort_order:
        document["presentation"] = {"sort_order": custom_field.sort_order}
    validation = sparse_validation(custom_field.field_type, custom_field.validation)
    if validation:
        document["validation"] = validation
    document.update(desired_only_keys(custom_field.renamed_from, custom_field.absent))
    return document


def api_document(api: CustomApi) -> dict[str, Any]:
    if api.absent:
        return {"state": "absent"}
    from provisioner.custom_api_model import api_attributes

    document: dict[str, Any] = {"name": api.name, "api_type": api.api_type}
    shown = dict(shown_custom_attributes(True, api_attributes(api)))
    for key in ("description", "allow_upserts"):
        if key in shown:
            document[key] = shown[key]
    if "presentation" in shown:
        document["presentation"] = {k: v for k, v in shown["presentation"].items() if v}
    if api.parent_apis:
        document["parent_apis"] = list(api.parent_apis)
    fields = sorted(api.fields.values(), key=lambda f: (f.sort_order, f.slug))
    if fields:
        document["fields"] = {f.slug: field_document(f) for f in fields}
    return document


def custom_apis_document(apis: dict[str, CustomApi]) -> dict[str, Any]:
    """`{slug: {...}}` in slug order."""
    return {slug: api_document(apis[slug]) for slug in sorted(apis)}


def file_name(api_slug: str) -> str:
    """`<slug>.custom-api.yaml`: a flow slug holds no dot, so it never takes the same name."""
    return f"{api_slug}.custom-api.yaml"
