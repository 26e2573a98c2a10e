"""`--migrate` in a plan (issue 15 item 3): field replaces whose values convert become
`migrate_field` operations, and migrations a killed run left half-way are picked up. Pure.

`with_migrations(plan, live)` takes the planner's plan and:

- turns each replace of a field in its own flow (no rename, no move) whose type change
  converts (`migration.CONVERSIONS`) into `migrate_field`: risky, not destructive (the values
  are kept), with the steps in its reason; a replace that does not convert stays a destructive
  replace, and says why it is not migrated;
- finds the temporary fields (`<slug>__migrating_to_<type>`) a stopped migration left: with
  the old field still there, the migration continues (the copy writes only what is missing);
  with the old field gone (the planner then plans a create), it is a `migrate_field` from the
  temporary field, which renames it (`from_slug` is the temporary slug); with the field
  created again meanwhile (of the new type: by hand, or a plain apply of an older version), it
  is a `migrate_field` from the temporary field that merges its values into the field;
- takes those temporary fields out of `unmanaged`, and out of a `prune: true` flow's deletes.

Entries of custom flows are migrated, and the customers flow's (its records are the
customers); other core flows' records are not read here, so their replaces stay replaces.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from provisioner.attrdiff import attribute_changes
from provisioner.impact import annotate
from provisioner.keys import field_key
from provisioner.migration import convertible, parse_temp_slug, temp_slug
from provisioner.model import FIELD_ATTRIBUTES, Field, State
from provisioner.normalize import field_attributes, field_fingerprint
from provisioner.operations import AttributeChange, Operation, OpKind, Safety
from provisioner.plan import Plan
from provisioner.records import readable_flow

_Temps = Mapping[tuple[str, str, str], Field]  # (flow, migrated slug, new type) -> temp field


def _live_temps(live: State) -> _Temps:
    found: dict[tuple[str, str, str], Field] = {}
    for flow_slug, flow in live.flows.items():
        for slug, field in flow.fields.items():
            parsed = parse_temp_slug(slug)
            if parsed is not None and parsed[1] == field.field_type:
                found[(flow_slug, *parsed)] = field
    return found


def _types(op: Operation) -> tuple[str, str]:
    return str((op.before or {}).get("field_type")), str((op.after or {}).get("field_type"))


def _not_migrated(op: Operation) -> str | None:
    """Why a replace stays a replace under --migrate (None: it is migrated)."""
    if op.from_flow_slug is not None or op.from_slug is not None:
        return "not migrated: --migrate converts a field in place (no rename, no move)"
    from_type, to_type = _types(op)
    if (op.before or {}).get("enabled") is False:
        return "not migrated: the field is disabled, so its values cannot be read"
    if not convertible(from_type, to_type):
        return f"not migrated: {from_type} values do not convert to {to_type}"
    if not readable_flow(op.flow_slug):
        return f"not migrated: the records of core flow {op.flow_slug} are not read"
    return None


class _Migrations:
    def __init__(self, plan: Plan, live: State) -> None:
        self.live = live
        self.temps = _live_temps(live)
        self.fingerprints: dict[str, str | None] = dict(plan.fingerprints)
        self.used: set[str] = set()  # keys of the temporary fields a migration continues

    def replace_op(self, op: Operation) -> Operation:
        why_not = _not_migrated(op)
        if why_not is not None:
            return replace(op, reasons=(*op.reasons, why_not))
        from_type, to_type = _types(op)
        assert op.field_slug is not None
        temp = temp_slug(op.field_slug, to_type)
        reasons = [
            f"field_type changes {from_type} -> {to_type}: migrated, values kept: copied, "
            f"converted, into {temp}, which replaces the field once every value is there "
            "(a new field ID)"
        ]
        live_temp = self.temps.get((op.flow_slug, op.field_slug, to_type))
        if live_temp is not None:
            self.use(op.flow_slug, live_temp)
            reasons.append(f"continues a stopped migration: {temp} exists")
        migrate = replace(op, kind=OpKind.MIGRATE_FIELD, safety=Safety.RISKY, reasons=())
        return annotate(replace(migrate, reasons=tuple(reasons)))

    def create_op(self, op: Operation) -> Operation:
        """A create of a field whose migration stopped after deleting the old field."""
        to_type = str((op.after or {}).get("field_type"))
        assert op.field_slug is not None
        assert op.after is not None
        live_temp = self.temps.get((op.flow_slug, op.field_slug, to_type))
        flow = self.live.flows.get(op.flow_slug)
        if live_temp is None or flow is None:
            return op
        self.use(op.flow_slug, live_temp)
        before = field_attributes(live_temp)
        changes = (
            AttributeChange("slug", live_temp.slug, op.field_slug),
            *attribute_changes(before, op.after, FIELD_ATTRIBUTES),
        )
        return annotate(
            Operation(
                OpKind.MIGRATE_FIELD,
                op.flow_slug,
                op.field_slug,
                id=live_temp.id,
                flow_id=flow.id,
                before=before,
                after=op.after,
                changes=changes,
                safety=Safety.RISKY,
                reasons=(
                    f"continues a stopped migration: {live_temp.slug} holds the converted values "
                    f"and the old field is deleted; renamed {op.field_slug}",
                ),
                from_slug=live_temp.slug,
            )
        )

    def merge_ops(self, operations: list[Operation], unmanaged: set[str]) -> list[Operation]:
        """Stopped migrations whose field was created again (of the new type) after the old
        one's delete: a `migrate_field` from the temporary field that copies its values into
        the field where it holds none, then deletes it (stage MERGE). It takes the place of the
        field's update, if any; a field the files do not declare is left as it is."""
        by_key = {op.key: index for index, op in enumerate(operations)}
        for (flow_slug, slug, to_type), temp in self.temps.items():
            key = field_key(flow_slug, slug)
            flow = self.live.flows.get(flow_slug)
            field = None if flow is None else flow.fields.get(slug)
            if flow is None or field is None or field.field_type != to_type or key in unmanaged:
                continue
            index = by_key.get(key)
            current = None if index is None else operations[index]
            if current is not None and current.kind is not OpKind.UPDATE_FIELD:
                continue
            before = field_attributes(field)
            after = before if current is None or current.after is None else current.after
            self.use(flow_slug, temp)
            self.fingerprints[key] = field_fingerprint(field)
            op = Operation(
                OpKind.MIGRATE_FIELD,
                flow_slug,
                slug,
                id=temp.id,  # the live object it starts from (`from_slug`), as a rename's
                flow_id=flow.id,
                before=before,
                after=after,
                changes=attribute_changes(before, after, FIELD_ATTRIBUTES),
                safety=Safety.RISKY,
                reasons=(
                    f"continues a stopped migration: {temp.slug} holds the converted values "
                    f"and {slug} was created again after the old field's delete: its values "
                    f"are copied into {slug} where it holds none, then {temp.slug} is deleted",
                ),
                from_slug=temp.slug,
            )
            op = annotate(op)
            if index is None:
                operations.append(op)
            else:
                operations[index] = op
        return operations

    def use(self, flow_slug: str, temp: Field) -> None:
        key = field_key(flow_slug, temp.slug)
        self.used.add(key)
        self.fingerprints[key] = field_fingerprint(temp)


def with_migrations(plan: Plan, live: State) -> Plan:
    """`plan` with its convertible replaces as migrations (see the module's docstring)."""
    migrations = _Migrations(plan, live)
    operations: list[Operation] = []
    for op in plan.operations:
        if op.kind is OpKind.REPLACE_FIELD:
            op = migrations.replace_op(op)
        elif op.kind is OpKind.CREATE_FIELD and op.flow_id is not None:
            op = migrations.create_op(op)
        operations.append(op)
    operations = migrations.merge_ops(operations, set(plan.unmanaged))
    used = migrations.used
    kept = tuple(op for op in operations if not (op.kind is OpKind.DELETE_FIELD and op.key in used))
    return Plan(
        operations=kept,
        unmanaged=tuple(key for key in plan.unmanaged if key not in used),
        fingerprints=dict(sorted(migrations.fingerprints.items())),
        owned_elsewhere=plan.owned_elsewhere,
    )


def note_stopped(plan: Plan, live: State) -> Plan:
    """Without --migrate: a create or replace of a field whose migration stopped half-way
    (its temporary field holds the values) is destructive (gated: a plain apply would leave
    the values in the temporary field), and says how to finish the migration."""
    temps = _live_temps(live)
    operations = []
    for op in plan.operations:
        to_type = str((op.after or {}).get("field_type"))
        temp = None
        if op.kind in (OpKind.CREATE_FIELD, OpKind.REPLACE_FIELD) and op.field_slug:
            temp = temps.get((op.flow_slug, op.field_slug, to_type))
        if temp is not None:
            # Created empty, the field would leave the values in the temporary field: gated
            # as destructive (exit 3), like the replace of a stopped copy.
            empty = (
                (f"created empty, {op.field_slug} would leave them in {temp.slug}",)
                if op.kind is OpKind.CREATE_FIELD
                else ()
            )
            why = (
                f"a migration of this field stopped half-way: {temp.slug} holds its values; "
                "apply --migrate finishes it"
            )
            op = replace(op, safety=Safety.DESTRUCTIVE, reasons=(*op.reasons, *empty, why))
        operations.append(op)
    return replace(plan, operations=tuple(operations))


def migrations(plan: Plan) -> tuple[Operation, ...]:
    """The `migrate_field` operations of `plan`."""
    return tuple(op for op in plan.operations if op.kind is OpKind.MIGRATE_FIELD)
