"""Facts of Commerce Extensions (Custom APIs): definitions, fields, entries and their lists.

Every public name here is listed in `SECTIONS` with the section of `../shared/epcc-api.md` that
is its evidence (section 10 summarises the official `epcc-openapi/commerce-extensions.yaml`,
version 26.0608, "SPEC" below, with the schema or parameter named). Where both are silent, the
choice is marked [INF]. The checks that use these facts are `provisioner.custom_api_rules`.
Data only: no I/O, no checks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

# ------------------------------------------------------------------------------- resources

CUSTOM_API_TYPE = "custom_api"  # 10; SPEC CustomAPI.type const
CUSTOM_FIELD_TYPE = "custom_field"  # 10; SPEC BaseCustomField.type const

SETTINGS_PREFIX = "/v2/settings/extensions/custom-apis"  # 10 "Endpoints"
EXTENSIONS_PREFIX = "/v2/extensions"  # 10: entries also at /v2/extensions/{slug}

# 10; SPEC CustomAPI.slug / .api_type patterns, built from their parts: an alphabet (the body
# of a regex character class), a length (min, max) and, for api_type, a fixed suffix.
API_SLUG_CHARACTERS = "a-z0-9_-"
API_SLUG_LENGTH = (1, 63)
API_TYPE_CHARACTERS = "a-z0-9_"
API_TYPE_STEM_LENGTH = (1, 59)  # the characters before the suffix
API_TYPE_SUFFIX = "_ext"
API_SLUG_PATTERN = rf"^[{API_SLUG_CHARACTERS}]{{{API_SLUG_LENGTH[0]},{API_SLUG_LENGTH[1]}}}$"
API_TYPE_PATTERN = (
    rf"^[{API_TYPE_CHARACTERS}]{{{API_TYPE_STEM_LENGTH[0]},{API_TYPE_STEM_LENGTH[1]}}}"
    rf"{API_TYPE_SUFFIX}$"
)

# 10; SPEC CustomAPI.name / .description, BaseCustomField.name / .description / .slug.
NAME_LENGTH = (1, 255)
DESCRIPTION_LENGTH = (0, 255)
FIELD_SLUG_LENGTH = (1, 63)
# SPEC BaseCustomField.slug: "Recommended characters" (others break filtering); not enforced.
RECOMMENDED_FIELD_SLUG_PATTERN = r"^[a-z0-9_-]+$"
# SPEC CreateCustomAPI presentation.section maxLength; "Can only be set when `page` is also set".
PRESENTATION_SECTION_MAX = 64
# SPEC BaseCustomField.presentation.sort_order: 0..1000, default 0.
SORT_ORDER_RANGE = (0, 1000)
SORT_ORDER_DEFAULT = 0

# 10; SPEC tag "Custom Fields", "Reserved Slugs".
RESERVED_FIELD_SLUGS: frozenset[str] = frozenset(
    {
        "slug",
        "type",
        "id",
        "meta",
        "created_at",
        "updated_at",
        "links",
        "relationships",
        "attributes",
        "attribute",
        "dimension",
        "dimensions",
        "weight",
        "weights",
    }
)

# 10; SPEC CustomAPIRelationships: parents are other Custom APIs or the API location.
PARENT_TYPES = ("custom_api", "api_location")
API_LOCATION_ID = "/v2/extensions"
# SPEC CustomAPIRelationships: "a relationship that does not have a depth exceeding 2 and does
# not result in a cycle". [INF] depth counts parent links: an API may have a parent and a
# grandparent, not a great-grandparent.
MAX_PARENT_DEPTH = 2

# The attributes a Custom API body may carry (SPEC CreateCustomAPI / UpdateCustomAPI).
API_CREATE_KEYS = frozenset(
    {"type", "name", "description", "slug", "api_type", "allow_upserts", "presentation",
     "relationships"}
)  # fmt: skip
API_REQUIRED_KEYS = ("name", "slug", "api_type")  # SPEC CreateCustomAPI required (+ type)
API_DEFAULTS: Mapping[str, object] = MappingProxyType(
    {"description": "", "allow_upserts": False}  # SPEC allow_upserts default false; [INF] ""
)
# 10: `api_type` is "not in the update body: create-only".
API_CREATE_ONLY: tuple[str, ...] = ("api_type",)

# ---------------------------------------------------------------------------------- fields

# 10; SPEC BaseCustomField.field_type (create-only: "This field cannot be updated").
FIELD_TYPES: tuple[str, ...] = ("string", "integer", "boolean", "float", "any", "list")
FIELD_CREATE_KEYS = frozenset(
    {"type", "name", "description", "slug", "field_type", "use_as_url_slug", "presentation",
     "validation"}
)  # fmt: skip
FIELD_REQUIRED_KEYS = ("name", "slug", "field_type")  # SPEC CreateCustomField required
# The attributes a field definition holds besides its slug, in the order we write them.
FIELD_ATTRIBUTES: tuple[str, ...] = (
    "name",
    "description",
    "field_type",
    "use_as_url_slug",
    "presentation",
    "validation",
)
FIELD_DEFAULTS: Mapping[str, object] = MappingProxyType(
    {"description": "", "use_as_url_slug": False}  # [INF] ""; SPEC use_as_url_slug boolean
)

# Limits on values, whatever the validation says.
STRING_MAX_CHARS = 65535  # SPEC "String Validation": "up to 65535 characters long"
INTEGER_LIMIT = 2**53 - 1  # 10; SPEC "Integer Validation": +-(2^53-1)
LIST_MAX_ELEMENTS = 1000  # 10; SPEC ListCustomField: "up to 1000 elements"
LIST_ALLOWED_TYPES: tuple[str, ...] = ("any", "string", "integer", "boolean", "float")
REGEX_MAX_LENGTH = 1024  # 10; SPEC StringCustomField regex maxLength
JSON_SCHEMA_VERSION = "2020-12"  # SPEC JSONSchemaValidation.version const
JSON_SCHEMA_MAX_BYTES = 8192  # 10; SPEC JSONSchemaValidation.schema "must not exceed 8 KiB"
UNIQUE_VALUES = ("yes", "no")  # SPEC StringCustomField.unique enum
# SPEC BaseCustomField.use_as_url_slug: values must be RFC 3986 unreserved characters.
URL_SLUG_VALUE_PATTERN = r"^[A-Za-z0-9._~-]+$"


@dataclass(frozen=True)
class ValidationKey:
    """One key of `validation.<field_type>` (10): what it holds, its range and default.

    `kind` is one of `int` (an integer or null), `number` (a number or null), `bool` (a boolean;
    null means the default), `unique` (`yes`/`no`), `regex` (RE2 text or null), `allowed_type`
    (one of LIST_ALLOWED_TYPES) or `json_schema` (`{version, schema}` or null).
    `on_update` is False for keys the update body does not carry (create-only).
    """

    kind: str
    default: object = None
    minimum: float | None = None
    maximum: float | None = None
    on_update: bool = True


_NULLS = {
    "allow_null_values": ValidationKey("bool", True),  # SPEC "Null Values": default true
    "immutable": ValidationKey("bool", False),  # SPEC "Immutable": default false
}
_JSON_SCHEMA = ValidationKey("json_schema")  # SPEC AnyCustomField / ListCustomField json_schema

# 10 "validation.<field_type>"; SPEC *CreateCustomField / *UpdateCustomField. The key order is
# the order the store renders them in.
VALIDATION: Mapping[str, Mapping[str, ValidationKey]] = MappingProxyType(
    {
        "string": MappingProxyType(
            {
                "min_length": ValidationKey("int", None, 0, STRING_MAX_CHARS),
                "max_length": ValidationKey("int", None, 0, STRING_MAX_CHARS),
                "regex": ValidationKey("regex"),
                **_NULLS,
                # SPEC StringUpdateCustomField lacks both: create-only (10).
                "unique": ValidationKey("unique", "no", on_update=False),
                "unique_case_insensitivity": ValidationKey("bool", False, on_update=False),
            }
        ),
        "integer": MappingProxyType(
            {
                "min_value": ValidationKey("int", None, -INTEGER_LIMIT, INTEGER_LIMIT),
                "max_value": ValidationKey("int", None, -INTEGER_LIMIT, INTEGER_LIMIT),
                **_NULLS,
            }
        ),
        "float": MappingProxyType(
            {"min_value": ValidationKey("number"), "max_value": ValidationKey("number"), **_NULLS}
        ),
        "boolean": MappingProxyType(dict(_NULLS)),
        "any": MappingProxyType({**_NULLS, "json_schema": _JSON_SCHEMA}),
        "list": MappingProxyType(
            {
                **_NULLS,
                "min_length": ValidationKey("int", None, 0, LIST_MAX_ELEMENTS),
                "max_length": ValidationKey("int", None, 0, LIST_MAX_ELEMENTS),
                # SPEC ListUpdateCustomField lacks it: "cannot be changed after creation".
                "allowed_type": ValidationKey("allowed_type", "any", on_update=False),
                "json_schema": _JSON_SCHEMA,
            }
        ),
    }
)

# (min key, max key) pairs per field type: `min <= max` (SPEC: "must be less than max").
MIN_MAX: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "string": ("min_length", "max_length"),
        "integer": ("min_value", "max_value"),
        "float": ("min_value", "max_value"),
        "list": ("min_length", "max_length"),
    }
)

# 10 / issue 14: a change to one of these is a replace. Paths inside the field definition.
FIELD_CREATE_ONLY: tuple[tuple[str, ...], ...] = (
    ("field_type",),
    ("use_as_url_slug",),
    ("validation", "string", "unique"),
    ("validation", "string", "unique_case_insensitivity"),
    ("validation", "list", "allowed_type"),
)

# ----------------------------------------------------------------------------------- entries

MAX_ENTRY_BYTES = 64 * 1024  # 10; SPEC 413 "must not exceed 64KB", meta.data_size
ENTRY_META_KEYS = ("timestamps", "data_size", "resource_version", "etag_id")  # SPEC meta

# ------------------------------------------------------------------------------------- lists

MAX_PAGE_LIMIT = 100  # 10; SPEC PageLimit "up to 100"
MAX_PAGE_OFFSET = 10_000  # 10; SPEC PageOffset maximum
DEFAULT_PAGE_LIMIT = 25  # SPEC PageLimit: the store's page length; 2.2 default 25
DEFAULT_SORT = "-created_at"  # SPEC *Sort default
TOTAL_METHODS = ("lower_bound", "observed")  # SPEC PageTotalMethod (entries only)
LOWER_BOUND_COUNT = 10_000  # SPEC PageTotalMethod lower_bound: "at most 10,000"

_TIME_OPS = frozenset({"lt", "le", "eq", "gt", "ge"})
_ID_OPS = _TIME_OPS | {"in"}

# SPEC ListCustomAPIs "Filtering": attribute -> operators.
API_FILTERS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "id": _ID_OPS,
        "created_at": _TIME_OPS,
        "updated_at": _TIME_OPS,
        "api_type": frozenset({"eq", "like", "in"}),
        "description": frozenset({"eq", "like"}),
        "name": frozenset({"eq", "like"}),
        "slug": frozenset({"eq", "like", "in"}),
        "presentation.page": frozenset({"ilike"}),
    }
)
# SPEC ListCustomFields "Filtering".
FIELD_FILTERS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "id": _ID_OPS,
        "created_at": _TIME_OPS,
        "updated_at": _TIME_OPS,
        "description": frozenset({"eq", "like"}),
        "field_type": frozenset({"eq", "in"}),
        "name": frozenset({"eq", "like"}),
        "slug": frozenset({"eq", "like", "in"}),
    }
)
# SPEC ListCustomAPIEntries "Filtering": every entry, then by the field's type.
ENTRY_FILTERS: Mapping[str, frozenset[str]] = MappingProxyType(
    {"id": _ID_OPS, "created_at": _TIME_OPS, "updated_at": _TIME_OPS}
)
ENTRY_FIELD_FILTERS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "string": frozenset({"lt", "le", "eq", "gt", "ge", "in", "is_null", "like"}),
        "integer": frozenset({"lt", "le", "eq", "gt", "ge", "in", "is_null"}),
        "float": frozenset({"lt", "le", "gt", "ge", "in", "is_null"}),
        "boolean": frozenset({"eq", "is_null"}),
        "list": frozenset({"contains", "contains_any", "contains_all", "is_null"}),
        "any": frozenset(),  # SPEC AnyCustomField: "Filtering is not supported"
    }
)
# SPEC ListCustomField: `field[i]` (0..999) and `field.length` on lists.
LIST_INDEX_FILTERS = frozenset({"eq", "like", "in", "is_null", "lt", "le", "gt", "ge"})
LIST_LENGTH_FILTERS = frozenset({"eq", "lt", "le", "gt", "ge", "in"})
TYPED_LIST_ONLY = frozenset({"contains_all", "lt", "le", "gt", "ge"})  # not on allowed_type any

_COMMON_SORTS = ("id", "created_at", "updated_at")
API_SORTS = frozenset({*_COMMON_SORTS, "api_type", "name", "slug"})  # SPEC CustomAPISort
FIELD_SORTS = frozenset({*_COMMON_SORTS, "field_type", "name", "slug"})  # SPEC CustomFieldSort
ENTRY_SORTS = frozenset(_COMMON_SORTS)  # SPEC CustomAPIEntrySort (plus `null`: no sort)
MAX_FILTERS = 10  # 2.3

# Each public fact and the section of ../shared/epcc-api.md that is its evidence.
SECTIONS: Mapping[str, str] = MappingProxyType(
    {
        "CUSTOM_API_TYPE": "10",
        "CUSTOM_FIELD_TYPE": "10",
        "SETTINGS_PREFIX": "10",
        "EXTENSIONS_PREFIX": "10",
        "API_SLUG_CHARACTERS": "10",
        "API_SLUG_LENGTH": "10",
        "API_TYPE_CHARACTERS": "10",
        "API_TYPE_STEM_LENGTH": "10",
        "API_TYPE_SUFFIX": "10",
        "API_SLUG_PATTERN": "10",
        "API_TYPE_PATTERN": "10",
        "NAME_LENGTH": "10",
        "DESCRIPTION_LENGTH": "10",
        "FIELD_SLUG_LENGTH": "10",
        "RECOMMENDED_FIELD_SLUG_PATTERN": "10",
        "PRESENTATION_SECTION_MAX": "10",
        "SORT_ORDER_RANGE": "10",
        "SORT_ORDER_DEFAULT": "10",
        "RESERVED_FIELD_SLUGS": "10",
        "PARENT_TYPES": "10",
        "API_LOCATION_ID": "10",
        "MAX_PARENT_DEPTH": "10",
        "API_CREATE_KEYS": "10",
        "API_REQUIRED_KEYS": "10",
        "API_DEFAULTS": "10",
        "API_CREATE_ONLY": "10",
        "FIELD_TYPES": "10",
        "FIELD_CREATE_KEYS": "10",
        "FIELD_REQUIRED_KEYS": "10",
        "FIELD_ATTRIBUTES": "10",
        "FIELD_DEFAULTS": "10",
        "STRING_MAX_CHARS": "10",
        "INTEGER_LIMIT": "10",
        "LIST_MAX_ELEMENTS": "10",
        "LIST_ALLOWED_TYPES": "10",
        "REGEX_MAX_LENGTH": "10",
        "JSON_SCHEMA_VERSION": "10",
        "JSON_SCHEMA_MAX_BYTES": "10",
        "UNIQUE_VALUES": "10",
        "URL_SLUG_VALUE_PATTERN": "10",
        "VALIDATION": "10",
        "MIN_MAX": "10",
        "FIELD_CREATE_ONLY": "10",
        "MAX_ENTRY_BYTES": "10",
        "ENTRY_META_KEYS": "10",
        "MAX_PAGE_LIMIT": "10",
        "MAX_PAGE_OFFSET": "10",
        "DEFAULT_PAGE_LIMIT": "2.2",
        "DEFAULT_SORT": "10",
        "TOTAL_METHODS": "10",
        "LOWER_BOUND_COUNT": "10",
        "API_FILTERS": "10",
        "FIELD_FILTERS": "10",
        "ENTRY_FILTERS": "10",
        "ENTRY_FIELD_FILTERS": "10",
        "LIST_INDEX_FILTERS": "10",
        "LIST_LENGTH_FILTERS": "10",
        "TYPED_LIST_ONLY": "10",
        "API_SORTS": "10",
        "FIELD_SORTS": "10",
        "ENTRY_SORTS": "10",
        "MAX_FILTERS": "2.3",
    }
)
