"""Drift: live changes that no file asked for.

A plan says how a store differs from the files, not why: a difference is either a change in
the files not applied yet, or a change made in the store behind the files' back (drift).
Telling them apart needs to know what the files said when the store was last made to match
them. `apply --env`/`--all` therefore keep, per environment, an *applied record*: a digest of
every object's desired form at the last apply that left the store matching the files
(`record`). A planned operation is drift when the files did not change that object since
(its desired digest equals the recorded one, or, for a field the files never declared, it was
not in the record either: it appeared in the store by hand). Without a record, drift is
unknown (None). Custom APIs and their fields are recorded and judged the same way (issue 14:
`custom_api:S`, `custom_field:S.F`); a record written before they were is read as not
knowing them (their changes are pending, not drift).

Pure: no I/O; the commands read and write the record file.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from provisioner.model import Field, Flow, State
from provisioner.normalize import field_attributes, flow_attributes
from provisioner.plan import Operation, Plan, field_key, flow_key

RECORD_VERSION = 1
ABSENT = "absent"

Declared = TypeVar("Declared")  # a flow or a Custom API
Member = TypeVar("Member")  # one of its fields


def digest(attributes: Mapping[str, Any]) -> str:
    """A short digest of canonical attributes (what a record keeps of each object)."""
    text = json.dumps(attributes, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True)
class Digests(Generic[Declared, Member]):
    """How one kind of declared object (flows, Custom APIs) and its fields are keyed and
    digested: the record and the judgement of drift go through here for both kinds."""

    key: Callable[[str], str]
    field_key: Callable[[str, str], str]
    digest: Callable[[Declared], str]
    field_digest: Callable[[Member], str]
    fields: Callable[[Declared], Mapping[str, Member]]

    def of(self, declared: Mapping[str, Declared]) -> dict[str, str]:
        """Each declared object and each of its fields -> its digest."""
        digests: dict[str, str] = {}
        for slug, found in declared.items():
            digests[self.key(slug)] = self.digest(found)
            for field_slug, member in self.fields(found).items():
                digests[self.field_key(slug, field_slug)] = self.field_digest(member)
        return digests

    def wanted(self, found: Declared | None, field_slug: str | None) -> str | None:
        """The desired digest of the object or of its field `field_slug`; None when the files
        do not declare it."""
        if found is None:
            return None
        if field_slug is None:
            return self.digest(found)
        member = self.fields(found).get(field_slug)
        return None if member is None else self.field_digest(member)


def _flow_digest(flow: Flow) -> str:
    flow_digest = ABSENT if flow.absent else digest(flow_attributes(flow))
    return flow_digest + "+prune" if flow.prune else flow_digest


def _field_digest(field: Field) -> str:
    return ABSENT if field.absent else digest(field_attributes(field))


def _fields_of(flow: Flow) -> Mapping[str, Field]:
    return flow.fields


FLOWS: Digests[Flow, Field] = Digests(flow_key, field_key, _flow_digest, _field_digest, _fields_of)


def desired_digests(desired: State) -> dict[str, str]:
    """Each object the files declare -> a digest of its desired form (`absent` when marked)."""
    digests = FLOWS.of(desired.flows)
    if desired.custom_apis:
        from provisioner.drift_custom import CUSTOM_APIS

        digests.update(CUSTOM_APIS.of(desired.custom_apis))
    return dict(sorted(digests.items()))


def _wanted(desired: State, op: Operation) -> str | None:
    """The desired digest of the object `op` leaves (its `key`); None when not declared."""
    if op.kind.custom:
        from provisioner.drift_custom import CUSTOM_APIS

        return CUSTOM_APIS.wanted(desired.custom_apis.get(op.flow_slug), op.field_slug)
    return FLOWS.wanted(desired.flows.get(op.flow_slug), op.field_slug)


def record(environment: str, desired: State) -> dict[str, Any]:
    """The applied record of an environment whose store now matches `desired`."""
    return {
        "format_version": RECORD_VERSION,
        "environment": environment,
        "objects": desired_digests(desired),
    }


def recorded_objects(document: Any) -> dict[str, str] | None:
    """The objects of a record read back; None for anything that is not a record we wrote."""
    if not isinstance(document, dict) or document.get("format_version") != RECORD_VERSION:
        return None
    objects = document.get("objects")
    if not isinstance(objects, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in objects.items()
    ):
        return None
    return dict(objects)


def drifted(plan: Plan, desired: State, recorded: Mapping[str, str] | None) -> list[Operation]:
    """The operations of `plan` that undo live changes no file asked for.

    Raises nothing; with no record (`recorded` None) the answer is every operation whose
    object the files do not declare at all (a pruned field: it can only come from the store).
    """
    found: list[Operation] = []
    for op in plan.operations:  # only the planned objects' digests: a plan is usually small
        key = op.key
        wanted = _wanted(desired, op)
        if wanted is None:
            # Only `prune` deletes objects the files do not declare: unless the last apply
            # saw it, the object appeared in the store behind the files' back.
            if recorded is None or key not in recorded:
                found.append(op)
        elif recorded is not None and recorded.get(key) == wanted:
            found.append(op)
    return found


def drift_state(plan: Plan, desired: State, recorded: Mapping[str, str] | None) -> bool | None:
    """True: the store drifted; False: it did not; None: unknown (no record, no sure sign)."""
    if drifted(plan, desired, recorded):
        return True
    if recorded is None and not plan.is_empty:
        return None
    return False
