"""Custom APIs (Commerce Extensions) in the domain model: desired and live, canonical forms.

`CustomApi` and `CustomField` are frozen values like `Flow` and `Field`: the same type holds
what the YAML asks for (desired) and what a store holds (live). Attributes are named as the
API names them (`epcc-api.md` section 10); their defaults are the API's
(`provisioner.epcc.custom_apis`), so a value built from sparse YAML and one read from a store
compare on equal terms through `api_attributes` / `field_attributes`, which fill every
`validation` key of the field's type (null means the default, as the store renders them).

`parent_apis` holds slugs of Custom APIs, or the API location `/v2/extensions`; the store
holds IDs, which the reader maps back to slugs. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from provisioner import custom_api_rules as rules
from provisioner.epcc import custom_apis as facts

if TYPE_CHECKING:
    from provisioner.model import Location

# The attributes we manage and compare, in the order the views print them.
API_ATTRIBUTES: tuple[str, ...] = (
    "name",
    "description",
    "api_type",
    "allow_upserts",
    "presentation",
    "parent_apis",
)
FIELD_ATTRIBUTES = facts.FIELD_ATTRIBUTES


@dataclass(frozen=True)
class CustomField:
    """A field of a Custom API. `absent` and `renamed_from` are ours (desired only)."""

    slug: str
    field_type: str = "string"
    name: str = ""
    description: str = ""
    use_as_url_slug: bool = False
    sort_order: int = facts.SORT_ORDER_DEFAULT
    validation: Mapping[str, Any] = field(default_factory=dict)
    absent: bool = False
    renamed_from: tuple[str, ...] = ()
    id: str | None = field(default=None, compare=False)
    location: Location | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class CustomApi:
    """A Custom API and its fields. `absent` and `renamed_from` are ours (desired only)."""

    slug: str
    name: str = ""
    api_type: str = ""
    description: str = ""
    allow_upserts: bool = False
    page: str | None = None
    section: str | None = None
    parent_apis: tuple[str, ...] = ()
    fields: Mapping[str, CustomField] = field(default_factory=dict)
    absent: bool = False
    renamed_from: tuple[str, ...] = ()
    id: str | None = field(default=None, compare=False)
    location: Location | None = field(default=None, compare=False, repr=False)


def canonical_validation(field_type: str, validation: Any) -> dict[str, Any]:
    """Every key of the field type's validation, defaults filled; a float field's bounds are
    floats (the API echoes 5.0 for 5)."""
    if field_type not in facts.VALIDATION:
        return {}
    full = rules.full_validation(field_type, validation)
    if field_type == "float":
        keys = full[field_type]
        for key in ("min_value", "max_value"):
            if rules.is_number(keys.get(key)):
                keys[key] = float(keys[key])
    return full


def api_attributes(api: CustomApi) -> dict[str, Any]:
    """The managed attributes of a Custom API as plain JSON values (`API_ATTRIBUTES` order)."""
    return {
        "name": api.name,
        "description": api.description,
        "api_type": api.api_type,
        "allow_upserts": api.allow_upserts,
        "presentation": {"page": api.page, "section": api.section},
        "parent_apis": sorted(api.parent_apis),
    }


def field_attributes(custom_field: CustomField) -> dict[str, Any]:
    """The managed attributes of a Custom Field as plain JSON values."""
    return {
        "name": custom_field.name,
        "description": custom_field.description,
        "field_type": custom_field.field_type,
        "use_as_url_slug": custom_field.use_as_url_slug,
        "presentation": {"sort_order": custom_field.sort_order},
        "validation": canonical_validation(custom_field.field_type, custom_field.validation),
    }


def comparable_field_attributes(attributes: Mapping[str, Any]) -> dict[str, Any]:
    """`field_attributes` with every `json_schema` text in canonical form (parsed, keys sorted,
    compact): a schema only re-formatted or re-ordered is no change (issue 14 follow-up D)."""
    validation = attributes.get("validation")
    if not isinstance(validation, Mapping):
        return dict(attributes)
    canonical = {
        field_type: (
            {**rules_of, "json_schema": canonical_json_schema(rules_of["json_schema"])}
            if isinstance(rules_of, Mapping) and rules_of.get("json_schema") is not None
            else rules_of
        )
        for field_type, rules_of in validation.items()
    }
    return {**attributes, "validation": canonical}


def canonical_json_schema(value: Any) -> Any:
    """A `json_schema` (`{version, schema: "<JSON text>"}`) with its text canonical; a text
    that is not JSON stays as it is (validate refuses it)."""
    import json

    if not isinstance(value, Mapping) or not isinstance(value.get("schema"), str):
        return value
    try:
        parsed = json.loads(value["schema"])
    except ValueError:
        return value
    text = json.dumps(_canonical_json(parsed), sort_keys=True, separators=(",", ":"))
    return {**value, "schema": text}


def _canonical_json(value: Any) -> Any:
    """Equal JSON values made equal Python values: `1.0` is `1` (JSON Schema compares numbers
    by value), booleans stay booleans."""
    if isinstance(value, dict):
        return {key: _canonical_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_canonical_json(item) for item in value]
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


class _Renamable(Protocol):
    """A declared Custom API or Custom Field, as `renamed_from` sees it."""

    @property
    def absent(self) -> bool: ...

    @property
    def renamed_from(self) -> tuple[str, ...]: ...


def continued_slugs(declared: Mapping[str, _Renamable], live: Collection[str]) -> dict[str, str]:
    """Declared slug -> the live slug it continues, for Custom APIs and a Custom API's fields
    alike (`renamed_from`): the new slug is not live, the old one is live and not declared
    (or declared `state: absent`), and no earlier slug continues it; the first that applies.
    (`validate` refuses a `renamed_from` naming a slug the files declare, absent or not.)"""
    found: dict[str, str] = {}
    for slug, item in sorted(declared.items()):
        if item.absent or slug in live:
            continue
        for old in item.renamed_from:
            other = declared.get(old)
            free = other is None or other.absent
            if old in live and free and old not in found.values():
                found[slug] = old
                break
    return found


def renamed_view(apis: Mapping[str, CustomApi], renames: Mapping[str, str]) -> dict[str, CustomApi]:
    """Live Custom APIs as a plan with `renames` (new slug -> live slug) sees them: each renamed
    API under its new slug, and every parent named by its new slug. A rename whose new slug is
    live already (another API) is left out: what holds that slug is compared as it is."""
    moves = {
        old: new for new, old in renames.items() if old in apis and new not in apis and old != new
    }
    if not moves:
        return dict(apis)
    from dataclasses import replace

    view: dict[str, CustomApi] = {}
    for slug, api in apis.items():
        parents = tuple(sorted(moves.get(p, p) for p in api.parent_apis))
        new_slug = moves.get(slug, slug)
        view[new_slug] = replace(api, slug=new_slug, parent_apis=parents)
    return view


_API_DEFAULTS: Mapping[str, Any] = {
    "description": "",
    "allow_upserts": False,
    "presentation": {"page": None, "section": None},
    "parent_apis": [],
}
_FIELD_DEFAULTS: Mapping[str, Any] = {
    "description": "",
    "use_as_url_slug": False,
    "presentation": {"sort_order": facts.SORT_ORDER_DEFAULT},
}


def sparse_validation(field_type: str, validation: Any) -> dict[str, Any]:
    """The validation keys that differ from the API's defaults (`{}` when none does)."""
    rules_of = validation.get(field_type) if isinstance(validation, Mapping) else None
    if not isinstance(rules_of, Mapping):
        return {}
    table = facts.VALIDATION.get(field_type, {})
    kept = {k: v for k, v in rules_of.items() if k not in table or v != table[k].default}
    return {field_type: kept} if kept else {}


def shown_custom_attributes(is_api: bool, after: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """What a view shows of a created Custom API or field: what differs from the defaults."""
    defaults = _API_DEFAULTS if is_api else _FIELD_DEFAULTS
    shown = []
    for name, value in after.items():
        if name == "validation":
            value = sparse_validation(str(after.get("field_type")), value)
            if value:
                shown.append((name, value))
        elif name not in defaults or value != defaults[name]:
            shown.append((name, value))
    return shown


# -- from the API's JSON ----------------------------------------------------------------------


def parent_refs(data: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """`relationships.parent_apis.data` of an API's JSON (empty when absent)."""
    relationships = data.get("relationships")
    parents = relationships.get("parent_apis") if isinstance(relationships, Mapping) else None
    refs = parents.get("data") if isinstance(parents, Mapping) else None
    return [ref for ref in refs if isinstance(ref, Mapping)] if isinstance(refs, list) else []


def field_from_api(data: Mapping[str, Any]) -> CustomField:
    """A live Custom Field from its JSON (SPEC CustomField)."""
    field_type = str(data.get("field_type") or "string")
    presentation = data.get("presentation")
    sort_order = (
        presentation.get("sort_order") if isinstance(presentation, Mapping) else None
    ) or facts.SORT_ORDER_DEFAULT
    return CustomField(
        slug=str(data.get("slug", "")),
        field_type=field_type,
        name=str(data.get("name") or ""),
        description=str(data.get("description") or ""),
        use_as_url_slug=bool(data.get("use_as_url_slug", False)),
        sort_order=int(sort_order),
        validation=canonical_validation(field_type, data.get("validation")),
        id=str(data["id"]) if data.get("id") is not None else None,
    )


def api_from_api(
    data: Mapping[str, Any],
    fields: Sequence[Mapping[str, Any]],
    slug_by_id: Mapping[str, str],
) -> CustomApi:
    """A live Custom API from its JSON and its fields' JSON; parents by slug (an unknown ID
    stays an ID, and the API location is `/v2/extensions`)."""
    presentation = data.get("presentation")
    presentation = presentation if isinstance(presentation, Mapping) else {}
    parents = []
    for ref in parent_refs(data):
        ref_id = str(ref.get("id", ""))
        parents.append(
            ref_id if ref.get("type") != "custom_api" else slug_by_id.get(ref_id, ref_id)
        )
    built = [field_from_api(f) for f in fields]
    return CustomApi(
        slug=str(data.get("slug", "")),
        name=str(data.get("name") or ""),
        api_type=str(data.get("api_type") or ""),
        description=str(data.get("description") or ""),
        allow_upserts=bool(data.get("allow_upserts", False)),
        page=presentation.get("page"),
        section=presentation.get("section"),
        parent_apis=tuple(sorted(parents)),
        fields={f.slug: f for f in built},
        id=str(data["id"]) if data.get("id") is not None else None,
    )


# -- to the API's JSON ------------------------------------------------------------------------


def parent_data(parent_apis: Sequence[str], ids: Mapping[str, str]) -> list[dict[str, str]]:
    """`relationships.parent_apis.data` for parents by slug; `ids` maps slugs to live IDs."""
    data = []
    for parent in parent_apis:
        if parent == facts.API_LOCATION_ID:
            data.append({"type": "api_location", "id": parent})
        else:
            data.append({"type": "custom_api", "id": ids.get(parent, parent)})
    return data


def api_body(
    slug: str | None, attributes: Mapping[str, Any], ids: Mapping[str, str], keys: Sequence[str]
) -> dict[str, Any]:
    """A create (a slug, `keys` = every attribute) or update body of a Custom API."""
    body: dict[str, Any] = {} if slug is None else {"slug": slug}
    for key in keys:
        if key == "parent_apis":
            parents = parent_data(attributes.get("parent_apis") or [], ids)
            body["relationships"] = {"parent_apis": {"data": parents}}
        elif key in attributes:
            body[key] = attributes[key]
    return body


def field_body(
    slug: str | None, attributes: Mapping[str, Any], keys: Sequence[str], *, create: bool
) -> dict[str, Any]:
    """A create or update body of a Custom Field; an update leaves out the create-only
    validation keys (SPEC *UpdateCustomField lacks them)."""
    body: dict[str, Any] = {} if slug is None else {"slug": slug}
    for key in keys:
        if key not in attributes or (not create and key in ("field_type", "use_as_url_slug")):
            continue
        value = attributes[key]
        if key == "validation" and not create:
            field_type = str(attributes.get("field_type"))
            table = facts.VALIDATION.get(field_type, {})
            rules_of = value.get(field_type, {}) if isinstance(value, Mapping) else {}
            value = {field_type: {k: v for k, v in rules_of.items() if table[k].on_update}}
        body[key] = value
    return body
