"""Drift for Custom APIs (issue 14): the digests of the declared Custom APIs and fields.

`drift` records and judges them as it does flows and fields: a planned operation on a Custom
API or field whose desired form is the one recorded at the last apply undoes a change made in
the store behind the files' back. A JSON Schema is digested in canonical form (one only
re-formatted in the files is no change to the store either). Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping

from provisioner.custom_api_model import (
    CustomApi,
    CustomField,
    api_attributes,
    comparable_field_attributes,
    field_attributes,
)
from provisioner.drift import ABSENT, Digests, digest
from provisioner.keys import custom_api_key, custom_field_key


def _api_digest(api: CustomApi) -> str:
    return ABSENT if api.absent else digest(api_attributes(api))


def _field_digest(custom_field: CustomField) -> str:
    if custom_field.absent:
        return ABSENT
    return digest(comparable_field_attributes(field_attributes(custom_field)))


def _fields_of(api: CustomApi) -> Mapping[str, CustomField]:
    return api.fields


# `custom_api:S` and `custom_field:S.F` -> the digest of each declared one.
CUSTOM_APIS: Digests[CustomApi, CustomField] = Digests(
    custom_api_key, custom_field_key, _api_digest, _field_digest, _fields_of
)
