"""The planner: `plan(desired, live, options) -> Plan`, where every decision is made.

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

Pure: no I/O. The operations come back in dependency order (graph.py).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from provisioner.errors import PlanError
from provisioner.gcpause import without_gc
from provisioner.graph import ordered
from provisioner.model import (
    CORE_RELATIONSHIP_TARGETS,
    FIELD_ATTRIBUTES,
    FLOW_ATTRIBUTES,
    MAX_FIELDS_PER_FLOW,
    Field,
    Flow,
    State,
    is_core_flow,
)
from provisioner.normalize import (
    field_attributes,
    field_fingerprint,
    flow_attributes,
    flow_fields_fingerprint,
    flow_fingerprint,
    relationship_targets,
)
from provisioner.plan import (
    AttributeChange,
    Operation,
    OpKind,
    Plan,
    Safety,
    field_key,
    fields_key,
    flow_key,
)


@dataclass(frozen=True)
class PlanOptions:
    """Knobs of a plan.

    - `prune`: treat every declared flow as `prune: true` (delete undeclared live fields).
    - `flow_slugs`: plan only these flows (None: every declared flow).
    """

    prune: bool = False
    flow_slugs: frozenset[str] | None = None


@without_gc
def plan(desired: State, live: State, options: PlanOptions = PlanOptions()) -> Plan:
    """The operations that make `live` match `desired`, in dependency order."""
    return _Planner(desired, live, options).run()


def undeclared_targets(desired: State) -> list[tuple[str, str, str]]:
    """(flow, field, target) of every relationship whose target is neither a core resource
    nor a flow declared in `desired`: a flow the live store may hold (issue 10 item 16).
    `validate` cannot check these offline; `plan` checks them against the store."""
    found = []
    for flow_slug, flow in sorted(desired.flows.items()):
        if flow.absent:
            continue
        for field_slug, field in sorted(flow.fields.items()):
            if field.absent:
                continue
            for target in _targets(field):
                if target not in CORE_RELATIONSHIP_TARGETS and target not in desired.flows:
                    found.append((flow_slug, field_slug, target))
    return found


def _targets(field: Field) -> tuple[str, ...]:
    """`relationship_targets(field_attributes(field))` without the canonical copy (a `to` is a
    string either way): 50,000 fields are checked before every plan (issue 16)."""
    return tuple(
        rule["to"]
        for rule in field.validation_rules
        if isinstance(rule, Mapping) and isinstance(rule.get("to"), str)
    )


def check_relationship_targets(desired: State, live: State) -> None:
    """Refuse relationships to flows that neither the files nor the store hold (the commands
    call it before planning files: `validate` could not check these targets offline)."""
    missing = [
        f"{flow}.{field} -> {target}"
        for flow, field, target in undeclared_targets(desired)
        if target not in live.flows
    ]
    if missing:
        raise PlanError(
            "relationship targets that are neither declared in the files nor flows of the "
            "store: " + ", ".join(missing) + ". Declare those flows, or point at a flow or a "
            "singular core resource that exists."
        )


# -- the planner ------------------------------------------------------------------------------


# (flow slug, field slug): a place for a field in the store.
_Place = tuple[str, str]


class _Planner:
    def __init__(self, desired: State, live: State, options: PlanOptions) -> None:
        self.desired = desired
        self.live = live
        self.options = options
        self.operations: list[Operation] = []
        self.fingerprints: dict[str, str | None] = {}
        self.unmanaged: list[str] = []
        self.flow_slugs = sorted(
            slug
            for slug in desired.flows
            if options.flow_slugs is None or slug in options.flow_slugs
        )
        self.moves = self._find_moves()
        self.claimed = set(self.moves.values())

    def run(self) -> Plan:
        for flow_slug in self.flow_slugs:
            self._plan_flow(self.desired.flows[flow_slug], self.live.flows.get(flow_slug))
        self._note_dangling_relationships()
        self._check_field_limit()
        return Plan(
            operations=tuple(ordered(self.operations)),
            unmanaged=tuple(sorted(self.unmanaged)),
            fingerprints=dict(sorted(self.fingerprints.items())),
        )

    def _check_field_limit(self) -> None:
        """Refuse a plan that would leave a flow with more than 100 fields (4.2).

        The API would refuse the creates one by one in the middle of an apply; unmanaged live
        fields count too, which a reviewer cannot see from the files alone.
        """
        counts = {slug: len(flow.fields) for slug, flow in self.live.flows.items()}
        for op in self.operations:
            if op.kind is OpKind.CREATE_FIELD:
                counts[op.flow_slug] = counts.get(op.flow_slug, 0) + 1
            elif op.kind is OpKind.DELETE_FIELD:
                counts[op.flow_slug] -= 1
            elif op.kind is OpKind.REPLACE_FIELD and op.from_flow_slug is not None:
                counts[op.from_flow_slug] -= 1
                counts[op.flow_slug] = counts.get(op.flow_slug, 0) + 1
        over = sorted(slug for slug, count in counts.items() if count > MAX_FIELDS_PER_FLOW)
        if over:
            raise PlanError(
                "; ".join(
                    f"flow {slug} would hold {counts[slug]} fields after this plan "
                    f"({len(self.live.flows[slug].fields) if slug in self.live.flows else 0} "
                    "in the store now, unmanaged ones included)"
                    for slug in over
                )
                + f". The API allows at most {MAX_FIELDS_PER_FLOW} fields per flow: delete "
                "fields (`state: absent`, or `prune: true` for the unmanaged ones) or declare "
                "fewer."
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
                    source = _source(flow_slug, item)
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
        after = flow_attributes(flow)
        if live_flow is None:
            self._add(
                Operation(OpKind.CREATE_FLOW, flow.slug, after=after),
                absent=[flow_key(flow.slug)],
            )
        else:
            before = flow_attributes(live_flow)
            changes = attribute_changes(before, after, FLOW_ATTRIBUTES)
            if changes:
                safety, reasons = classify_flow_update(before, after)
                self._add(
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
        self._add(
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
        prune = flow.prune or self.options.prune
        for field_slug, live_field in sorted(live_fields.items()):
            if field_slug in flow.fields or (flow.slug, field_slug) in self.claimed:
                continue
            if prune:
                self._delete_field(
                    live_flow, live_field, "not in the configuration; the flow has prune: true"
                )
            else:
                self.unmanaged.append(field_key(flow.slug, field_slug))

    def _create_field(
        self, flow: Flow, field: Field, flow_id: str | None, *, existing_flow: bool
    ) -> None:
        after = field_attributes(field)
        safety, reasons = Safety.SAFE, tuple[str, ...]()
        if after["required"] and existing_flow:
            # 4.9: a required field is enforced when objects are created; clients of a flow
            # that already exists do not send it yet.
            safety = Safety.RISKY
            reasons = ("new required field: creating objects without it fails",)
        self._add(
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
        after = field_attributes(field)
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
        self._add(
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
        self._add(
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

    def _note_dangling_relationships(self) -> None:
        """Say so when a deleted flow stays the target of live relationship fields.

        Only fields the plan leaves alone qualify (undeclared, or in undeclared flows): a
        declared field cannot point at an absent flow (config.py), so it has its own operation.
        """
        if not any(op.kind is OpKind.DELETE_FLOW for op in self.operations):
            return
        handled = {
            field_key(op.from_flow_slug or op.flow_slug, op.from_slug or op.field_slug)
            for op in self.operations
            if op.field_slug is not None
        }
        for index, op in enumerate(self.operations):
            if op.kind is not OpKind.DELETE_FLOW:
                continue
            dangling = [
                f"{live_flow.slug}.{live_field.slug}"
                for live_flow in sorted(self.live.flows.values(), key=lambda f: f.slug)
                if live_flow.slug != op.flow_slug
                for live_field in sorted(live_flow.fields.values(), key=lambda f: f.slug)
                if op.flow_slug in relationship_targets(field_attributes(live_field))
                and field_key(live_flow.slug, live_field.slug) not in handled
            ]
            if dangling:
                reason = "relationship fields left pointing at it: " + ", ".join(dangling)
                self.operations[index] = replace(op, reasons=(*op.reasons, reason))

    def _add(
        self,
        op: Operation,
        *,
        touched: Mapping[str, str] | None = None,
        absent: Sequence[str] = (),
    ) -> None:
        self.operations.append(op)
        self.fingerprints.update(touched or {})
        for key in absent:
            self.fingerprints.setdefault(key, None)


def _source(flow_slug: str, item: str) -> _Place:
    """`old_slug` (same flow) or `other_flow.old_slug` as (flow slug, field slug)."""
    if "." in item:
        source_flow, _, source_slug = item.partition(".")
        return source_flow, source_slug
    return flow_slug, item


# -- attribute changes ------------------------------------------------------------------------


def attribute_changes(
    before: Mapping[str, Any], after: Mapping[str, Any], order: Sequence[str]
) -> tuple[AttributeChange, ...]:
    """The differences of two canonical attribute dicts, as our own `AttributeChange`s.

    Paths look like `name`, `validation_rules[0].options.to`. A change inside a list of plain
    values (enum options) is reported on the whole list, which reads better than indices.
    Validation rules are matched by type (a field holds at most one rule of each type, 4.5),
    so rules in another order are no change, and a changed rule shows alone, at its index in
    the desired list (a removed one at its live index).
    """
    if _canonical_json(before) == _canonical_json(after):
        # Most compared objects are in sync; JSON text tells 1, 1.0 and true apart as DeepDiff
        # does, at a fraction of its cost (10,000 fields: BENCHMARKS.md, planner).
        return ()
    keyed_before, keyed_after = _rules_by_type(before), _rules_by_type(after)
    if keyed_before is not None and keyed_after is not None:
        old = {**before, RULES: keyed_before}
        new = {**after, RULES: keyed_after}
    else:  # a duplicated rule type (never from valid files): compare the lists as they are
        old, new = dict(before), dict(after)
    from deepdiff import DeepDiff  # only for objects that differ: `validate` never needs it

    diff = DeepDiff(old, new, view="tree")
    found: set[tuple[Any, ...]] = set()
    for report in diff.values():
        for level in report:
            path = tuple(level.path(output_format="list"))
            found.add(_collapse(path, old, new))
    rank = {name: index for index, name in enumerate(order)}
    shown = sorted(
        ((_indexed(p, before, after), p) for p in found),
        key=lambda item: (rank.get(str(item[0][0]), len(rank)), _sort_key(item[0])),
    )
    return tuple(
        AttributeChange(_format_path(display), _lookup(old, p), _lookup(new, p))
        for display, p in shown
    )


RULES = "validation_rules"


def _rules_by_type(attributes: Mapping[str, Any]) -> dict[str, Any] | None:
    """`validation_rules` keyed by rule type; None when a type repeats or a rule has none."""
    rules = attributes.get(RULES)
    if not isinstance(rules, list):
        return None
    keyed: dict[str, Any] = {}
    for rule in rules:
        kind = rule.get("type") if isinstance(rule, Mapping) else None
        if not isinstance(kind, str) or kind in keyed:
            return None
        keyed[kind] = rule
    return keyed


def _indexed(
    path: tuple[Any, ...], before: Mapping[str, Any], after: Mapping[str, Any]
) -> tuple[Any, ...]:
    """A path into type-keyed rules as the index of that rule in the desired list (or, for a
    rule the desired list no longer has, in the live list)."""
    if len(path) < 2 or path[0] != RULES or not isinstance(path[1], str):
        return path
    for side in (after, before):
        rules = side.get(RULES)
        if isinstance(rules, list):
            for index, rule in enumerate(rules):
                if isinstance(rule, Mapping) and rule.get("type") == path[1]:
                    return (RULES, index, *path[2:])
    return path


def _canonical_json(value: Mapping[str, Any]) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


_MISSING = object()


def _lookup(value: Any, path: Sequence[Any]) -> Any:
    """The value at `path`, or None where it does not exist (an added or removed item)."""
    found = _find(value, path)
    return None if found is _MISSING else found


def _find(value: Any, path: Sequence[Any]) -> Any:
    for step in path:
        in_mapping = isinstance(value, Mapping) and step in value
        in_list = isinstance(value, list) and isinstance(step, int) and 0 <= step < len(value)
        if not (in_mapping or in_list):
            return _MISSING
        value = value[step]
    return value


def _collapse(path: tuple[Any, ...], before: Any, after: Any) -> tuple[Any, ...]:
    """Cut `path` at the first list it enters that holds only plain values on both sides."""
    for depth in range(1, len(path)):
        prefix = path[:depth]
        sides = [_find(side, prefix) for side in (before, after)]
        lists = [side for side in sides if side is not _MISSING]
        if lists and all(
            isinstance(side, list) and all(_is_scalar(v) for v in side) for side in lists
        ):
            return prefix
    return path


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, Mapping | list | tuple)


def _format_path(path: Sequence[Any]) -> str:
    text = ""
    for step in path:
        if isinstance(step, int):
            text += f"[{step}]"
        else:
            text += f".{step}" if text else str(step)
    return text


def _sort_key(path: Sequence[Any]) -> tuple[tuple[int, Any], ...]:
    return tuple((0, step) if isinstance(step, int) else (1, str(step)) for step in path)


# -- safety -----------------------------------------------------------------------------------


def classify_flow_update(
    before: Mapping[str, Any], after: Mapping[str, Any]
) -> tuple[Safety, tuple[str, ...]]:
    """Disabling a flow is risky; names and descriptions are cosmetic."""
    if before.get("enabled") and not after.get("enabled"):
        return Safety.RISKY, ("flow is disabled",)
    return Safety.SAFE, ()


def classify_field_update(
    before: Mapping[str, Any], after: Mapping[str, Any]
) -> tuple[Safety, tuple[str, ...]]:
    """Risky: becoming required, disabling, a new default, narrower or new rules, a new
    relationship target, hiding nulls. The rest (name, description, order, unique, loosening)
    is safe."""
    reasons: list[str] = []
    if after["required"] and not before["required"]:
        reasons.append("becomes required: creating objects without it fails")
    if before["enabled"] and not after["enabled"]:
        reasons.append("field is disabled: its values are no longer applied or returned")
    if before["default"] != after["default"]:
        reasons.append(f"default changes: {_show(before['default'])} -> {_show(after['default'])}")
    if after["omit_null"] and not before["omit_null"]:
        reasons.append("omit_null: null values disappear from responses")
    reasons.extend(_rule_reasons(before["validation_rules"], after["validation_rules"]))
    return (Safety.RISKY if reasons else Safety.SAFE), tuple(reasons)


def _rule_reasons(before: Sequence[Any], after: Sequence[Any]) -> list[str]:
    """Rules are matched by type (4.5 allows one of each in practice)."""
    old = {str(rule.get("type")): rule for rule in before if isinstance(rule, Mapping)}
    reasons: list[str] = []
    for rule in after:
        if not isinstance(rule, Mapping):
            continue
        kind = str(rule.get("type"))
        previous = old.get(kind)
        if previous is None:
            target = f" to {rule['to']}" if "to" in rule else ""
            reasons.append(f"adds a validation rule: {kind}{target}")
        elif kind == "enum":
            reasons.extend(_enum_reasons(previous.get("options"), rule.get("options")))
        elif kind == "between":
            reasons.extend(_range_reasons(previous.get("options"), rule.get("options")))
        elif previous.get("to") != rule.get("to"):
            reasons.append(f"relationship target changes: {previous.get('to')} -> {rule.get('to')}")
    return reasons


def _enum_reasons(before: Any, after: Any) -> list[str]:
    if not isinstance(before, list) or not isinstance(after, list):
        return [] if before == after else ["enum options change"]
    lost = [value for value in before if value not in after]
    if not lost:
        return []
    return ["enum loses options: " + ", ".join(_show_plain(value) for value in lost)]


def _range_reasons(before: Any, after: Any) -> list[str]:
    if not isinstance(before, Mapping) or not isinstance(after, Mapping):
        return [] if before == after else ["range changes"]
    low_before, high_before = before.get("from"), before.get("to")
    low_after, high_after = after.get("from"), after.get("to")
    if _raises(low_before, low_after) or _raises(high_after, high_before):
        old = f"{_show_plain(low_before)}..{_show_plain(high_before)}"
        new = f"{_show_plain(low_after)}..{_show_plain(high_after)}"
        return [f"range narrows: {old} -> {new}"]
    return []


def _raises(low: Any, high: Any) -> bool:
    """True when `high` is a stricter lower bound than `low` (None means unbounded)."""
    if high is None:
        return False
    if low is None:
        return True
    try:
        return bool(high > low)
    except TypeError:
        return bool(low != high)


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _show_plain(value: Any) -> str:
    return "null" if value is None else str(value)
