"""Drift for Custom APIs (issue 14): the digests of the declared Custom APIs and fields.

`drift` records and judges them as it does flows and fields: a planned operation on a Custom
API or field whose desired form is the one recorded at the last apply undoes a change made in
the store behind the files' back. A JSON Schema is digested in canonical form (one only
re-formatted in the files is no change to the store either). Pure: no I/O.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from provisioner.custom_api_model import (
    CustomApi,
    CustomField,
    api_attributes,
    comparable_field_attributes,
    field_attributes,
)
from provisioner.keys import custom_api_key, custom_field_key
from provisioner.model import State
from provisioner.plan import Operation

ABSENT = "absent"


def _digest(attributes: Mapping[str, Any]) -> str:
    text = json.dumps(attributes, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def _api_digest(api: CustomApi) -> str:
    return ABSENT if api.absent else _digest(api_attributes(api))


def _field_digest(custom_field: CustomField) -> str:
    if custom_field.absent:
        return ABSENT
    return _digest(comparable_field_attributes(field_attributes(custom_field)))


def custom_digests(desired: State) -> dict[str, str]:
    """`custom_api:S` and `custom_field:S.F` -> the digest of each declared one."""
    digests: dict[str, str] = {}
    for api_slug, api in desired.custom_apis.items():
        digests[custom_api_key(api_slug)] = _api_digest(api)
        for field_slug, custom_field in api.fields.items():
            digests[custom_field_key(api_slug, field_slug)] = _field_digest(custom_field)
    return digests


def custom_wanted(desired: State, op: Operation) -> str | None:
    """The desired digest of the Custom API or field `op` leaves; None when not declared."""
    api = desired.custom_apis.get(op.flow_slug)
    if api is None:
        return None
    if op.field_slug is None:
        return _api_digest(api)
    custom_field = api.fields.get(op.field_slug)
    return None if custom_field is None else _field_digest(custom_field)
