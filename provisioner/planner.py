"""The planner: `plan(desired, live) -> Plan`, where every decision is made.

Set algebra over identity keys first (design.md practice 1): flows match by slug, fields by
(flow slug, field slug), always in sorted order. Then the attributes of the matched pairs are
compared in their canonical form (normalize.py) with deepdiff, and its report is translated
into our own `AttributeChange(path, before, after)` (practice 2). Each operation is classed
safe, risky or destructive with short reasons a reviewer can read, and the plan records a
fingerprint of every live object it touches (and the absence of every object it creates) so a
saved plan can be checked for staleness before it is applied.

Decisions, in the words of the issue:

- a desired flow or field that is not live is created; one that is live and differs is updated
  (only the changed attributes are listed, and sent);
- a desired field not live whose `renamed_from` names a live slug of the same flow is renamed:
  one PUT keeps its ID and data;
- a `field_type` change (immutable, 4.6) or a `renamed_from: other_flow.slug` (a field cannot
  move between flows, 4.6) is a replace: delete + create, the data is lost;
- `state: absent` deletes a live field or non-core flow (its fields first); `prune: true`
  deletes the live fields a flow's file does not mention; without it they are `unmanaged`;
- core flows (3.4) are never deleted; undeclared live flows are ignored.

Pure: no I/O. The operations come back in dependency order (graph.py). Split by job: the
attribute differences are `attrdiff.py`, the safety of updates `safety.py`, the checks around
a plan (relationship targets, fields per flow) `planchecks.py`; their public names are
importable from here too.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from typing import Any

from provisioner.attrdiff import attribute_changes
from provisioner.gcpause import without_gc
from provisioner.graph import ordered
from provisioner.impact import annotate
from provisioner.model import (
    FIELD_ATTRIBUTES,
    FLOW_ATTRIBUTES,
    Field,
    Flow,
    State,
    is_core_flow,
    renamed_source,
)
from provisioner.normalize import (
    field_attributes,
    field_fingerprint,
    flow_attributes,
    flow_fields_fingerprint,
    flow_fingerprint,
)
from provisioner.plan import (
    AttributeChange,
    Operation,
    OpKind,
    Plan,
    PlanParts,
    Safety,
    field_key,
    fields_key,
    flow_key,
)
from provisioner.planchecks import (
    check_field_limit,
    check_relationship_targets,
    note_dangling_relationships,
    undeclared_targets,
)
from provisioner.safety import classify_field_update, classify_flow_update

__all__ = [
    "attribute_changes",
    "check_relationship_targets",
    "classify_field_update",
    "classify_flow_update",
    "plan",
    "undeclared_targets",
]


# Why a live field is deleted when its flow has `prune: true` and the files lack it.
PRUNE_REASON = "not in the configuration; the flow has prune: true"


@without_gc
def plan(desired: State, live: State, *, prune_reason: str = PRUNE_REASON) -> Plan:
    """The operations that make `live` match `desired`, in dependency order.

    `prune_reason` words why a pruned field is deleted: `diff` compares two stores, where
    "only in production" says it better than the files' `prune: true`."""
    return _Planner(desired, live, prune_reason).run()


# -- the desired side, once per desired state --------------------------------------------------


class _DesiredForms:
    """The canonical attributes of one desired state's flows and fields, made on first use.

    `plan --all` (and `apply --all`) plans one desired state against every environment's store
    (issue 13: 20 stores of 1,000 fields): each desired object is put in canonical form once,
    not once per store. A state is immutable, so its forms never go stale; they are dropped
    with the state. The dicts are shared by the plans' operations, which never change them.
    """

    def __init__(self) -> None:
        self.flows: dict[str, dict[str, Any]] = {}
        self.fields: dict[tuple[str, str], dict[str, Any]] = {}

    def flow(self, flow: Flow) -> dict[str, Any]:
        found = self.flows.get(flow.slug)
        if found is None:
            found = self.flows[flow.slug] = flow_attributes(flow)
        return found

    def field(self, flow_slug: str, field: Field) -> dict[str, Any]:
        key = (flow_slug, field.slug)
        found = self.fields.get(key)
        if found is None:
            found = self.fields[key] = field_attributes(field)
        return found


_FORMS: dict[int, _DesiredForms] = {}  # by id() of a live desired `State`


def _desired_forms(desired: State) -> _DesiredForms:
    key = id(desired)
    forms = _FORMS.get(key)
    if forms is None:
        forms = _FORMS[key] = _DesiredForms()
        weakref.finalize(desired, _FORMS.pop, key, None)  # before the id can be reused
    return forms


# -- the planner ------------------------------------------------------------------------------


# (flow slug, field slug): a place for a field in the store.
_Place = tuple[str, str]


class _Planner:
    def __init__(self, desired: State, live: State, prune_reason: str = PRUNE_REASON) -> None:
        self.desired = desired
        self.live = live
        self.prune_reason = prune_reason
        self.forms = _desired_forms(desired)
        self.parts = PlanParts()
        self.flow_slugs = sorted(desired.flows)
        self.moves = self._find_moves()
        self.claimed = set(self.moves.values())

    def run(self) -> Plan:
        for flow_slug in self.flow_slugs:
            self._plan_flow(self.desired.flows[flow_slug], self.live.flows.get(flow_slug))
        parts = self.parts
        note_dangling_relationships(self.live, parts.operations)
        check_field_limit(self.live, parts.operations)
        if self.desired.custom_apis:  # issue 14: Custom APIs are planned by their own module
            from provisioner.custom_api_planner import plan_custom_apis

            parts.extend(plan_custom_apis(self.desired, self.live))
        # Issue 15: the breaking-change classes that need no data (impact.py).
        operations = [annotate(op) for op in parts.operations]
        return Plan(
            operations=tuple(ordered(operations)),
            unmanaged=tuple(sorted(parts.unmanaged)),
            fingerprints=dict(sorted(parts.fingerprints.items())),
        )

    # -- renames and moves -----------------------------------------------------------------

    def _find_moves(self) -> dict[_Place, _Place]:
        """Desired fields that continue a live field: `renamed_from` items that apply.

        An item applies when the desired slug is not live in its flow, the named live field
        exists, and no desired field of its own flow declares it (present) or claims it first
        (fields are visited in sorted order).
        """
        moves: dict[_Place, _Place] = {}
        claimed: set[_Place] = set()
        for flow_slug in self.flow_slugs:
            flow = self.desired.flows[flow_slug]
            if flow.absent:
                continue
            live_flow = self.live.flows.get(flow_slug)
            for field_slug, field in sorted(flow.fields.items()):
                if field.absent or not field.renamed_from:
                    continue
                if live_flow is not None and field_slug in live_flow.fields:
                    continue
                for item in field.renamed_from:
                    source = renamed_source(flow_slug, item)
                    if source in claimed or not self._is_free_live_field(*source):
                        continue
                    moves[(flow_slug, field_slug)] = source
                    claimed.add(source)
                    break
        return moves

    def _is_free_live_field(self, flow_slug: str, field_slug: str) -> bool:
        live_flow = self.live.flows.get(flow_slug)
        if live_flow is None or field_slug not in live_flow.fields:
            return False
        desired_flow = self.desired.flows.get(flow_slug)
        if desired_flow is None or desired_flow.absent:
            return True
        declared = desired_flow.fields.get(field_slug)
        return declared is None or declared.absent

    # -- flows -----------------------------------------------------------------------------

    def _plan_flow(self, flow: Flow, live_flow: Flow | None) -> None:
        if flow.absent:
            if live_flow is not None and not is_core_flow(flow.slug):
                self._delete_flow(live_flow)
            return
        after = self.forms.flow(flow)
        if live_flow is None:
            self.parts.add(
                Operation(OpKind.CREATE_FLOW, flow.slug, after=after),
                absent=[flow_key(flow.slug)],
            )
        else:
            before = flow_attributes(live_flow)
            changes = attribute_changes(before, after, FLOW_ATTRIBUTES)
            if changes:
                safety, reasons = classify_flow_update(before, after)
                self.parts.add(
                    Operation(
                        OpKind.UPDATE_FLOW,
                        flow.slug,
                        id=live_flow.id,
                        before=before,
                        after=after,
                        changes=changes,
                        safety=safety,
                        reasons=reasons,
                    ),
                    touched={flow_key(flow.slug): flow_fingerprint(live_flow)},
                )
        self._plan_fields(flow, live_flow)

    def _delete_flow(self, live_flow: Flow) -> None:
        for field_slug, field in sorted(live_flow.fields.items()):
            if (live_flow.slug, field_slug) in self.claimed:
                continue  # moved to another flow by a replace, which deletes it
            self._delete_field(live_flow, field, "its flow is deleted")
        self.parts.add(
            Operation(
                OpKind.DELETE_FLOW,
                live_flow.slug,
                id=live_flow.id,
                before=flow_attributes(live_flow),
                safety=Safety.DESTRUCTIVE,
                reasons=("the flow and its entries are deleted (state: absent)",),
            ),
            # What the deletion destroys is part of the review: its set of fields here, its
            # entry count by the command that reads the store (`entries:SLUG`).
            touched={
                flow_key(live_flow.slug): flow_fingerprint(live_flow),
                fields_key(live_flow.slug): flow_fields_fingerprint(live_flow),
            },
        )

    # -- fields ----------------------------------------------------------------------------

    def _plan_fields(self, flow: Flow, live_flow: Flow | None) -> None:
        live_fields: Mapping[str, Field] = {} if live_flow is None else live_flow.fields
        flow_id = None if live_flow is None else live_flow.id
        for field_slug, field in sorted(flow.fields.items()):
            live_field = live_fields.get(field_slug)
            if field.absent:
                claimed = (flow.slug, field_slug) in self.claimed
                if live_field is not None and live_flow is not None and not claimed:
                    self._delete_field(live_flow, live_field, "state: absent")
                continue
            source = self.moves.get((flow.slug, field_slug))
            if source is not None:
                self._plan_change(flow, field, flow_id, source)
            elif live_field is None:
                self._create_field(flow, field, flow_id, existing_flow=live_flow is not None)
            else:
                self._plan_change(flow, field, flow_id, (flow.slug, field_slug))
        if live_flow is None:
            return
        prune = flow.prune
        for field_slug, live_field in sorted(live_fields.items()):
            if field_slug in flow.fields or (flow.slug, field_slug) in self.claimed:
                continue
            if prune:
                self._delete_field(live_flow, live_field, self.prune_reason)
            else:
                self.parts.unmanaged.append(field_key(flow.slug, field_slug))

    def _create_field(
        self, flow: Flow, field: Field, flow_id: str | None, *, existing_flow: bool
    ) -> None:
        after = self.forms.field(flow.slug, field)
        safety, reasons = Safety.SAFE, tuple[str, ...]()
        if after["required"] and existing_flow:
            # 4.9: a required field is enforced when objects are created; clients of a flow
            # that already exists do not send it yet.
            safety = Safety.RISKY
            reasons = ("new required field: creating objects without it fails",)
        self.parts.add(
            Operation(
                OpKind.CREATE_FIELD,
                flow.slug,
                field.slug,
                flow_id=flow_id,
                after=after,
                safety=safety,
                reasons=reasons,
            ),
            absent=[field_key(flow.slug, field.slug)],
        )

    def _plan_change(self, flow: Flow, field: Field, flow_id: str | None, source: _Place) -> None:
        """Compare a desired field with the live field it continues: `source` is (flow, slug)
        of that live field, the field's own place unless `renamed_from` moves or renames it.
        """
        source_flow, source_slug = source
        live_field = self.live.flows[source_flow].fields[source_slug]
        renamed, moved = source_slug != field.slug, source_flow != flow.slug
        before = field_attributes(live_field)
        after = self.forms.field(flow.slug, field)
        changes = attribute_changes(before, after, FIELD_ATTRIBUTES)
        if renamed:
            changes = (AttributeChange("slug", source_slug, field.slug), *changes)
        if not changes and not moved:
            return
        if moved:
            kind, safety = OpKind.REPLACE_FIELD, Safety.DESTRUCTIVE
            reasons: tuple[str, ...] = (
                f"moves from flow {source_flow} (a field cannot change flows): "
                "deleted there and created here, its data is lost",
            )
        elif before["field_type"] != after["field_type"]:
            kind, safety = OpKind.REPLACE_FIELD, Safety.DESTRUCTIVE
            reasons = (
                f"field_type changes {before['field_type']} -> {after['field_type']} "
                "(immutable): deleted and re-created, its data is lost",
            )
        else:
            kind = OpKind.RENAME_FIELD if renamed else OpKind.UPDATE_FIELD
            safety, reasons = classify_field_update(before, after)
            if renamed:
                reasons = (
                    f"renamed from {source_slug}: clients reading the old key lose it",
                    *reasons,
                )
                safety = max(safety, Safety.RISKY, key=lambda s: s.rank)
        self.parts.add(
            Operation(
                kind,
                flow.slug,
                field.slug,
                id=live_field.id,
                flow_id=flow_id,
                before=before,
                after=after,
                changes=changes,
                safety=safety,
                reasons=reasons,
                from_slug=source_slug if renamed else None,
                from_flow_slug=source_flow if moved else None,
            ),
            touched={field_key(source_flow, source_slug): field_fingerprint(live_field)},
            absent=[field_key(flow.slug, field.slug)] if renamed or moved else [],
        )

    def _delete_field(self, live_flow: Flow, live_field: Field, why: str) -> None:
        self.parts.add(
            Operation(
                OpKind.DELETE_FIELD,
                live_flow.slug,
                live_field.slug,
                id=live_field.id,
                flow_id=live_flow.id,
                before=field_attributes(live_field),
                safety=Safety.DESTRUCTIVE,
                reasons=(f"the field and its data are deleted ({why})",),
            ),
            touched={field_key(live_flow.slug, live_field.slug): field_fingerprint(live_field)},
        )


# -- attribute changes ------------------------------------------------------------------------
