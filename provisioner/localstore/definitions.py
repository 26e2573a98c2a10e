"""Flows and fields in the local store's database (epcc-api.md 3, 4 and section 0).

Each public method is one transaction (`Database.transaction`). Slugs are checked inside the
write transaction and backed by UNIQUE constraints, so parallel requests cannot create two flows
with one slug, two fields with one slug in a flow, or a 101st field. Whole fields are judged by
`validation.check_field` (the same rules as `validate`) with the store's flows at hand.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from typing import Any

from provisioner.epcc.flows import (
    CORE_FLOW_SLUGS,
    CORE_RESOURCE_ATTRIBUTES,
    FIELD_BODY,
    MAX_FIELDS_PER_FLOW,
)
from provisioner.localstore.database import OWNERS, Database, Record, new_id, now_iso
from provisioner.localstore.errors import NotAllowed, NotFound
from provisioner.localstore.validation import check_field, failed

# The attributes of a field kept in its JSON column (4.2, 4.3): every body key but the slug.
FIELD_KEYS: tuple[str, ...] = tuple(a.name for a in FIELD_BODY if a.name != "slug")


class Definitions(Database):
    """The flows and fields of a store (and, for tests, who owns them)."""

    # ---------------------------------------------------------------------------- owners

    def set_owner(self, kind: str, object_id: str, owner: str) -> None:
        """Local store only: make a flow or field `organization`- or `store`-owned (the
        `meta.owner` of epcc-api.md 3.3), so tests can hold organization-owned flows. The
        API has no such call: organization flows are made with an organization token."""
        if kind not in ("flow", "field") or owner not in OWNERS:
            raise ValueError(f"kind must be flow or field and owner one of {OWNERS}")
        table = "flows" if kind == "flow" else "fields"
        with self.transaction(write=True) as conn:
            changed = conn.execute(
                f"UPDATE {table} SET owner = ? WHERE id = ?", (owner, object_id)
            ).rowcount
        if not changed:
            raise NotFound(kind)

    # ---------------------------------------------------------------------------- flows

    @staticmethod
    def _flow(row: sqlite3.Row) -> Record:
        return {
            "id": row["id"],
            "slug": row["slug"],
            "name": row["name"],
            "description": row["description"],
            "enabled": bool(row["enabled"]),
            "created_at": row["created_at"],
            "updated_at": row["updated_at"],
            "owner": row["owner"],
        }

    def _flow_row(self, conn: sqlite3.Connection, flow_id: str, *, by: str = "id") -> Record:
        """The flow whose `by` column ("id" or "slug") is `flow_id` (404 when none)."""
        column = {"id": "id", "slug": "slug"}[by]
        row = conn.execute(f"SELECT * FROM flows WHERE {column} = ?", (flow_id,)).fetchone()
        if row is None:
            raise NotFound("flow")
        return self._flow(row)

    def _flow_by_slug(self, conn: sqlite3.Connection, slug: str) -> Record:
        return self._flow_row(conn, slug, by="slug")

    def list_flows(self, limit: int, offset: int) -> tuple[list[Record], int]:
        with self.transaction(write=False) as conn:
            total = conn.execute("SELECT COUNT(*) FROM flows").fetchone()[0]
            rows = conn.execute(
                "SELECT * FROM flows ORDER BY seq LIMIT ? OFFSET ?", (limit, offset)
            ).fetchall()
        return [self._flow(row) for row in rows], int(total)

    def get_flow(self, flow_id: str) -> Record:
        with self.transaction(write=False) as conn:
            return self._flow_row(conn, flow_id)

    def get_flow_by_slug(self, slug: str) -> Record:
        with self.transaction(write=False) as conn:
            return self._flow_by_slug(conn, slug)

    def _check_flow_slug_free(self, conn: sqlite3.Connection, slug: str, flow_id: str) -> None:
        row = conn.execute(
            "SELECT id FROM flows WHERE slug = ? AND id != ?", (slug, flow_id)
        ).fetchone()
        if row is not None:  # section 0: duplicate flow slug -> 422 naming the slug
            raise failed(f'data.slug "{slug}" must be unique: a flow with this slug exists.')

    def create_flow(self, attrs: Mapping[str, Any]) -> Record:
        flow_id, stamp = new_id(), now_iso()
        with self.transaction(write=True) as conn:
            self._check_flow_slug_free(conn, attrs["slug"], flow_id)
            try:
                conn.execute(
                    "INSERT INTO flows (id, slug, name, description, enabled, created_at,"
                    " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        flow_id,
                        attrs["slug"],
                        attrs["name"],
                        attrs["description"],
                        int(attrs["enabled"]),
                        stamp,
                        stamp,
                    ),
                )
            except sqlite3.IntegrityError as error:  # the UNIQUE backstop
                raise failed(f'data.slug "{attrs["slug"]}" must be unique.') from error
            return self._flow_row(conn, flow_id)

    def update_flow(self, flow_id: str, attrs: Mapping[str, Any]) -> Record:
        with self.transaction(write=True) as conn:
            flow = self._flow_row(conn, flow_id)
            if not attrs:  # spec: "If the attributes section is empty, the flow is not updated"
                return flow
            new_slug = attrs.get("slug", flow["slug"])
            if new_slug != flow["slug"]:
                self._check_flow_slug_free(conn, new_slug, flow_id)
                shadowed = CORE_RESOURCE_ATTRIBUTES.get(new_slug, frozenset())
                for field in self._fields_of(conn, flow_id):
                    if field["slug"] in shadowed:
                        raise failed(
                            f'data.slug "{new_slug}": field "{field["slug"]}" would shadow a '
                            f"built-in attribute of {new_slug}."
                        )
            merged = {**flow, **attrs}
            try:
                conn.execute(
                    "UPDATE flows SET slug = ?, name = ?, description = ?, enabled = ?,"
                    " updated_at = ? WHERE id = ?",
                    (
                        merged["slug"],
                        merged["name"],
                        merged["description"],
                        int(merged["enabled"]),
                        now_iso(),
                        flow_id,
                    ),
                )
            except sqlite3.IntegrityError as error:
                raise failed(f'data.slug "{new_slug}" must be unique.') from error
            return self._flow_row(conn, flow_id)

    def delete_flow(self, flow_id: str) -> None:
        with self.transaction(write=True) as conn:
            flow = self._flow_row(conn, flow_id)
            if flow["slug"] in CORE_FLOW_SLUGS:  # 3.4: core flows cannot be deleted
                raise NotAllowed(
                    f'The core flow "{flow["slug"]}" cannot be deleted; rename its slug first.'
                )
            # Section 0: a non-core flow takes its fields, entries and their values with it.
            conn.execute(
                "DELETE FROM field_values WHERE owner_id IN"
                " (SELECT id FROM entries WHERE flow_id = ?)",
                (flow_id,),
            )
            conn.execute("DELETE FROM flows WHERE id = ?", (flow_id,))

    # --------------------------------------------------------------------------- fields

    @staticmethod
    def _field(row: sqlite3.Row) -> Record:
        attributes = json.loads(row["attributes"])
        record: Record = {"id": row["id"], "flow_id": row["flow_id"], "slug": row["slug"]}
        record.update({key: attributes.get(key) for key in FIELD_KEYS})
        record["created_at"] = row["created_at"]
        record["updated_at"] = row["updated_at"]
        record["owner"] = row["owner"]
        return record

    def _field_row(self, conn: sqlite3.Connection, field_id: str) -> Record:
        row = conn.execute("SELECT * FROM fields WHERE id = ?", (field_id,)).fetchone()
        if row is None:
            raise NotFound("field")
        return self._field(row)

    def _fields_of(self, conn: sqlite3.Connection, flow_id: str) -> list[Record]:
        rows = conn.execute(
            "SELECT * FROM fields WHERE flow_id = ? ORDER BY seq", (flow_id,)
        ).fetchall()
        return [self._field(row) for row in rows]

    def list_fields(
        self, limit: int, offset: int, flow_slug: str | None = None
    ) -> tuple[list[Record], int]:
        with self.transaction(write=False) as conn:
            args: tuple[str, ...] = ()
            if flow_slug is None:
                where = ""
            else:
                where = "WHERE flow_id = ?"
                args = (self._flow_by_slug(conn, flow_slug)["id"],)
            total = conn.execute(f"SELECT COUNT(*) FROM fields {where}", args).fetchone()[0]
            rows = conn.execute(
                f"SELECT * FROM fields {where} ORDER BY seq LIMIT ? OFFSET ?",
                (*args, limit, offset),
            ).fetchall()
        return [self._field(row) for row in rows], int(total)

    def get_field(self, field_id: str) -> Record:
        with self.transaction(write=False) as conn:
            return self._field_row(conn, field_id)

    @staticmethod
    def _flow_slugs(conn: sqlite3.Connection) -> list[str]:
        """Every flow's slug: what a relationship rule's `to` may name besides a core resource."""
        return [row[0] for row in conn.execute("SELECT slug FROM flows")]

    def _check_field_slug_free(
        self, conn: sqlite3.Connection, flow_id: str, slug: str, field_id: str
    ) -> None:
        row = conn.execute(
            "SELECT id FROM fields WHERE flow_id = ? AND slug = ? AND id != ?",
            (flow_id, slug, field_id),
        ).fetchone()
        if row is not None:  # section 0: slugs are unique per flow
            raise failed(f'data.slug "{slug}" must be unique: the flow has a field with it.')

    def _write_field(
        self, conn: sqlite3.Connection, field_id: str, flow_id: str, attrs: Mapping[str, Any]
    ) -> None:
        stamp = now_iso()
        attributes = json.dumps({key: attrs[key] for key in FIELD_KEYS})
        try:
            conn.execute(
                "INSERT INTO fields (id, flow_id, slug, attributes, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET slug = excluded.slug,"
                " attributes = excluded.attributes, updated_at = excluded.updated_at",
                (field_id, flow_id, attrs["slug"], attributes, stamp, stamp),
            )
        except sqlite3.IntegrityError as error:
            raise failed(f'data.slug "{attrs["slug"]}" must be unique in its flow.') from error

    def create_field(self, flow_id: str, attrs: Mapping[str, Any]) -> Record:
        field_id = new_id()
        with self.transaction(write=True) as conn:
            try:
                flow = self._flow_row(conn, flow_id)
            except NotFound as error:  # 8.5: the flow relationship must point at a flow
                raise failed(f'data.relationships.flow: no flow with id "{flow_id}".') from error
            check_field(attrs, flow["slug"], self._flow_slugs(conn))
            self._check_field_slug_free(conn, flow_id, attrs["slug"], field_id)
            count = conn.execute(
                "SELECT COUNT(*) FROM fields WHERE flow_id = ?", (flow_id,)
            ).fetchone()[0]
            if count >= MAX_FIELDS_PER_FLOW:  # 4.2: "a hard limit of 100 fields per flow"
                raise failed(
                    f'The flow "{flow["slug"]}" already has {MAX_FIELDS_PER_FLOW} fields, '
                    "the most a flow can have."
                )
            self._write_field(conn, field_id, flow_id, attrs)
            return self._field_row(conn, field_id)

    def update_field(self, field_id: str, flow_id: str | None, attrs: Mapping[str, Any]) -> Record:
        with self.transaction(write=True) as conn:
            field = self._field_row(conn, field_id)
            # Section 0: a field cannot change type or move to another flow (422).
            if "field_type" in attrs and attrs["field_type"] != field["field_type"]:
                raise failed(
                    f"data.field_type is immutable: the field is a {field['field_type']}; "
                    "delete it and create a new one to change its type."
                )
            if flow_id is not None and flow_id != field["flow_id"]:
                raise failed("data.relationships.flow: a field cannot move to another flow.")
            merged = {**field, **attrs}
            flow = self._flow_row(conn, field["flow_id"])
            renamed = merged["slug"] != field["slug"]
            check_field(merged, flow["slug"], self._flow_slugs(conn), slug_changed=renamed)
            if renamed:
                self._check_field_slug_free(conn, field["flow_id"], merged["slug"], field_id)
            self._write_field(conn, field_id, field["flow_id"], merged)
            return self._field_row(conn, field_id)

    def delete_field(self, field_id: str) -> None:
        with self.transaction(write=True) as conn:
            self._field_row(conn, field_id)
            conn.execute("DELETE FROM fields WHERE id = ?", (field_id,))  # values cascade
