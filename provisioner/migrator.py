"""Running a `migrate_field` operation (issue 15 item 3), and checking a plan's migrations
against the records before anything is written.

`run_migration` reads the flow's fields, asks `migration.migration_stage` where the migration
stands, and does what is left of it (the steps are in `provisioner.migration`): nothing is
remembered anywhere but in the store, so a run killed at any moment is finished by the next.
Before its first write it reads every record and stops, writing nothing, when a value does not
convert. The copy writes the records that do not hold their converted value yet, `BATCH` at a
time (the client keeps them within its pace and in-flight bound); every record is then read
back, and the old field is deleted only when each holds its value (a record changed meanwhile
by another writer is copied again, `CHECK_ROUNDS` times at most).

`check_migrations` is the same reading at plan time: it refuses a plan whose values do not
convert (the first 20 listed with their record IDs) and states in each migration's reasons
how many records hold a value.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from provisioner.client import Client
from provisioner.client.records import read_records, update_record
from provisioner.client.responses import JsonObject
from provisioner.errors import MigrationError, NotFoundError
from provisioner.migration import (
    Stage,
    merge_conflicts_message,
    merge_copies,
    migration_stage,
    pending_copies,
    problems_message,
    rename_body,
    temp_field_body,
    temp_slug,
    value_problems,
)
from provisioner.operations import Operation, OpKind
from provisioner.plan import Plan

log = logging.getLogger(__name__)

BATCH = 256  # record writes started together (the client paces them)
CHECK_ROUNDS = 3  # copies after the first when the read-back finds records changed meanwhile


def _types(op: Operation) -> tuple[str, str]:
    return str((op.before or {}).get("field_type")), str((op.after or {}).get("field_type"))


def _holding(records: Sequence[Mapping[str, Any]], slug: str) -> int:
    return sum(1 for record in records if record.get(slug) is not None)


async def check_migrations(client: Client, plan: Plan) -> Plan:
    """Refuse `plan` (MigrationError, nothing written) when a migration's values do not
    convert; otherwise the plan with each migration's record count in its reasons."""
    operations: list[Operation] = []
    problems: list[str] = []
    for op in plan.operations:
        if op.kind is OpKind.MIGRATE_FIELD:
            try:
                op = await (_checked(client, op) if op.from_slug is None else _merge(client, op))
            except MigrationError as error:
                problems.append(str(error))  # every migration's problems in one refusal
        operations.append(op)
    if problems:
        raise MigrationError("\n".join(problems))
    return replace(plan, operations=tuple(operations))


async def _merge(client: Client, op: Operation) -> Operation:
    """A migration continued from its temporary field: when the field was created again
    meanwhile (stage MERGE), what the merge writes, or its refusal (records disagreeing)."""
    assert op.field_slug is not None
    to_type = str((op.after or {}).get("field_type"))
    slugs = {str(f.get("slug")) for f in await client.list_flow_fields(op.flow_slug)}
    if op.field_slug not in slugs:
        return op  # stage RENAME: the temporary field holds every value
    found = await all_records(client, op.flow_slug)
    pending, conflicts = merge_copies(found, op.field_slug, to_type)
    temp = temp_slug(op.field_slug, to_type)
    if conflicts:
        address = f"{op.flow_slug}.{op.field_slug}"
        raise MigrationError(merge_conflicts_message(address, temp, conflicts))
    holding = _holding(found, temp)
    count = (
        f"values kept: {holding} of {len(found)} records hold a value in {temp}, "
        f"{len(pending)} to copy into {op.field_slug}"
    )
    return replace(op, reasons=(*op.reasons, count))


async def all_records(client: Client, flow_slug: str) -> tuple[JsonObject, ...]:
    """Every record of the flow, or MigrationError: a migration that cannot read them all
    (past the `page[offset]` maximum, epcc-api.md §2.2) would lose the others' values."""
    scan = await read_records(client, flow_slug)
    if not scan.complete:
        raise MigrationError(
            f"cannot migrate a field of {flow_slug}: {scan.scanned} of its "
            f"{scan.known_total} records can be read (the API's page[offset] maximum), and a "
            "migration must copy every value; nothing was written"
        )
    return tuple(dict(record) for record in scan.records)


async def _checked(client: Client, op: Operation) -> Operation:
    assert op.field_slug is not None
    assert op.after is not None
    from_type, to_type = _types(op)
    found = await all_records(client, op.flow_slug)
    _refuse_problems(op, found, from_type)
    holding = _holding(found, op.field_slug)
    copied = holding - len(pending_copies(found, op.field_slug, from_type, to_type))
    count = f"values kept: {holding} of {len(found)} records hold a value"
    if copied and any("continues" in reason for reason in op.reasons):
        count += f", {copied} copied already"
    return replace(op, reasons=(*op.reasons, count, *_lacking(op, found, op.field_slug)))


def _lacking(op: Operation, found: Sequence[JsonObject], slug: str) -> tuple[str, ...]:
    """A migration that makes the field required: how many records lack a value (the store
    keeps them so, epcc-api.md: `required` is enforced on creates; not refused)."""
    if not (op.after or {}).get("required") or (op.before or {}).get("required"):
        return ()
    lacking = len(found) - _holding(found, slug)
    if not lacking:
        return ()
    return (f"becomes required while {lacking} of {len(found)} records hold no value",)


def _refuse_problems(op: Operation, found: Sequence[JsonObject], from_type: str) -> None:
    assert op.field_slug is not None
    assert op.after is not None
    problems = value_problems(found, op.field_slug, from_type, op.after)
    if problems:
        address = f"{op.flow_slug}.{op.field_slug}"
        raise MigrationError(problems_message(address, problems, len(found)))


# -- running one migration --------------------------------------------------------------------


class _Migration:
    def __init__(self, client: Client, op: Operation) -> None:
        assert op.field_slug is not None
        assert op.after is not None
        self.client = client
        self.op = op
        self.flow = op.flow_slug
        self.slug = op.field_slug
        self.after = op.after
        self.to_type = str(op.after["field_type"])
        self.temp = temp_slug(self.slug, self.to_type)
        self.address = f"{self.flow}.{self.slug}"

    async def fields(self) -> tuple[JsonObject | None, JsonObject | None]:
        fields = {str(f.get("slug")): f for f in await self.client.list_flow_fields(self.flow)}
        return fields.get(self.slug), fields.get(self.temp)

    async def run(self) -> None:
        old, temp = await self.fields()
        old_type = None if old is None else str(old.get("field_type"))
        temp_type = None if temp is None else str(temp.get("field_type"))
        stage = migration_stage(self.address, old_type, temp_type, self.to_type)
        log.info("migrate %s: %s", self.address, stage.value)
        if stage is Stage.DONE:
            return
        if stage is Stage.MERGE:
            assert old is not None
            assert temp is not None
            await self.merge(old, temp)
            return
        if stage is not Stage.RENAME:
            assert old is not None
            assert old_type is not None
            temp = await self.copy(old, old_type, temp)
        assert temp is not None
        await self.client.update_field(str(temp["id"]), rename_body(self.slug, self.after))

    async def copy(self, old: JsonObject, from_type: str, temp: JsonObject | None) -> JsonObject:
        """Stages START and COPY: the values copied and checked, then the old field deleted."""
        if old.get("enabled") is False:
            raise MigrationError(
                f"cannot migrate {self.address}: the field is disabled, so its values are "
                "not readable; enable it first"
            )
        found = await all_records(self.client, self.flow)
        _refuse_problems(self.op, found, from_type)  # before this migration's first write
        if temp is None:
            flow_id = self.op.flow_id
            if flow_id is None:
                raise RuntimeError(f"{self.address}: the plan carries no flow ID")
            temp = await self.client.create_field(flow_id, temp_field_body(self.slug, self.after))
        rounds = 0
        while pending := pending_copies(found, self.slug, from_type, self.to_type):
            if rounds > CHECK_ROUNDS:
                raise MigrationError(
                    f"{self.address}: records keep changing during the copy (another writer?);"
                    " the old field is kept; run apply --migrate again"
                )
            rounds += 1
            await self.write(pending)
            found = await all_records(self.client, self.flow)  # read back: every value there?
        with contextlib.suppress(NotFoundError):  # another run deleted it: done
            await self.client.delete_field(str(old["id"]))
        return temp

    async def merge(self, field: JsonObject, temp: JsonObject) -> None:
        """Stage MERGE: the temporary field's values copied into the field created again
        where it holds none, read back, then the temporary field deleted; a record holding
        another value in each refuses the merge before any write."""
        found = await all_records(self.client, self.flow)
        pending, conflicts = merge_copies(found, self.slug, self.to_type)
        if conflicts:
            raise MigrationError(merge_conflicts_message(self.address, self.temp, conflicts))
        rounds = 0
        while pending:
            if rounds > CHECK_ROUNDS:
                raise MigrationError(
                    f"{self.address}: records keep changing during the copy (another writer?);"
                    f" {self.temp} is kept; run apply --migrate again"
                )
            rounds += 1
            await self.write(pending, self.slug)
            found = await all_records(self.client, self.flow)
            pending, conflicts = merge_copies(found, self.slug, self.to_type)
            if conflicts:
                raise MigrationError(merge_conflicts_message(self.address, self.temp, conflicts))
        with contextlib.suppress(NotFoundError):
            await self.client.delete_field(str(temp["id"]))
        if any(change.path not in ("slug", "field_type") for change in self.op.changes):
            await self.client.update_field(str(field["id"]), rename_body(self.slug, self.after))

    async def write(self, pending: Sequence[tuple[str, Any]], target: str | None = None) -> None:
        slug = target or self.temp
        for start in range(0, len(pending), BATCH):
            batch = pending[start : start + BATCH]
            outcomes = await asyncio.gather(
                *(update_record(self.client, self.flow, rid, {slug: v}) for rid, v in batch),
                return_exceptions=True,
            )
            errors = [o for o in outcomes if isinstance(o, BaseException)]
            if errors:
                raise errors[0]


async def run_migration(client: Client, op: Operation) -> None:
    """Do what is left of the migration `op` describes (see the module's docstring)."""
    await _Migration(client, op).run()
