"""Commerce Extensions in the local store's SQLite: the tables, Custom APIs and their fields.

`ExtensionDefinitions` wraps the store's `Storage` and uses its transactions (one per method;
writes take the write lock up front, so a uniqueness check and the insert after it cannot
interleave with another writer). The tables are created with the store's own schema
(`EXTENSIONS_SCHEMA`, appended to `database.SCHEMA`); entries are `extensions_entries`.

What a definition must look like is judged by `provisioner.custom_api_rules` before anything
here runs; this module checks what needs the stored state: duplicates (409), parents that
exist, depth and cycles, `use_as_url_slug` only while the API has no entries, create-only
attributes. Errors are domain errors (`localstore.errors`), worded by `problems.error_answer`.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from provisioner import custom_api_rules as rules
from provisioner.epcc import custom_apis as facts
from provisioner.localstore.errors import (
    Conflict,
    Invalid,
    NotFound,
)
from provisioner.rules import Violation

if TYPE_CHECKING:
    from provisioner.localstore.storage import Storage

Record = dict[str, Any]

EXTENSIONS_SCHEMA = """
CREATE TABLE IF NOT EXISTS custom_apis (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    slug TEXT NOT NULL UNIQUE,
    api_type TEXT NOT NULL UNIQUE,
    attributes TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS custom_fields (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    api_id TEXT NOT NULL REFERENCES custom_apis(id) ON DELETE CASCADE,
    slug TEXT NOT NULL,
    attributes TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (api_id, slug)
);
CREATE TABLE IF NOT EXISTS custom_entries (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    api_id TEXT NOT NULL REFERENCES custom_apis(id) ON DELETE CASCADE,
    data TEXT NOT NULL,
    resource_version INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS custom_entries_api ON custom_entries (api_id, seq);
"""

API_KEYS = ("name", "description", "allow_upserts", "presentation", "parents")
FIELD_KEYS = facts.FIELD_ATTRIBUTES


def bad_request(detail: str) -> Invalid:
    return Invalid(detail)


def invalid(violations: Sequence[Violation], *prefix: str) -> Invalid:
    """400 naming every violation (`data.<prefix>.<path>: what (expected ...)`)."""
    ordered = sorted(violations, key=lambda v: (str(v.path), v.what))
    return bad_request("; ".join(v.at(*prefix).detail() for v in ordered))


def not_found(what: str) -> NotFound:
    return NotFound(what)


def conflict(detail: str) -> Conflict:
    return Conflict(detail)


def json_path(field_id: str) -> str:
    return f'$."{field_id}"'  # field ids are UUIDs: nothing to escape


class ExtensionDefinitions:
    """Custom APIs and their fields over the store's database."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    # ------------------------------------------------------------------------- rows

    @staticmethod
    def _api(row: sqlite3.Row) -> Record:
        return _definition(row, "api_type", API_KEYS)

    @staticmethod
    def _field(row: sqlite3.Row) -> Record:
        return _definition(row, "api_id", FIELD_KEYS)

    def _api_row(self, conn: sqlite3.Connection, api_id: str) -> Record:
        row = conn.execute("SELECT * FROM custom_apis WHERE id = ?", (api_id,)).fetchone()
        if row is None:
            raise not_found("Custom API")
        return self._api(row)

    def _api_by_slug(self, conn: sqlite3.Connection, slug: str) -> Record:
        row = conn.execute("SELECT * FROM custom_apis WHERE slug = ?", (slug,)).fetchone()
        if row is None:
            raise not_found("Custom API")
        return self._api(row)

    def _find_api(self, conn: sqlite3.Connection, key: str, *, by_slug: bool) -> Record:
        return self._api_by_slug(conn, key) if by_slug else self._api_row(conn, key)

    def _all_apis(self, conn: sqlite3.Connection) -> list[Record]:
        rows = conn.execute("SELECT * FROM custom_apis ORDER BY seq").fetchall()
        return [self._api(row) for row in rows]

    def _fields_of(self, conn: sqlite3.Connection, api_id: str) -> list[Record]:
        rows = conn.execute(
            "SELECT * FROM custom_fields WHERE api_id = ? ORDER BY seq", (api_id,)
        ).fetchall()
        return [self._field(row) for row in rows]

    def _field_row(self, conn: sqlite3.Connection, api_id: str, field_id: str) -> Record:
        row = conn.execute(
            "SELECT * FROM custom_fields WHERE id = ? AND api_id = ?", (field_id, api_id)
        ).fetchone()
        if row is None:
            raise not_found("Custom Field")
        return self._field(row)

    def _entry_count(self, conn: sqlite3.Connection, api_id: str) -> int:
        row = conn.execute("SELECT COUNT(*) FROM custom_entries WHERE api_id = ?", (api_id,))
        return int(row.fetchone()[0])

    # ----------------------------------------------------------------- Custom APIs

    def list_apis(self) -> list[Record]:
        with self.storage.transaction(write=False) as conn:
            return self._all_apis(conn)

    def get_api(self, api_id: str) -> Record:
        with self.storage.transaction(write=False) as conn:
            return self._api_row(conn, api_id)

    def _check_parents(
        self, conn: sqlite3.Connection, api_id: str, parents: Sequence[Mapping[str, str]]
    ) -> None:
        """Parents exist; with them in place no API is nested deeper than 2 or in a cycle."""
        graph: dict[str, list[str]] = {}
        for api in self._all_apis(conn):
            graph[api["id"]] = [p["id"] for p in api["parents"] if p["type"] == "custom_api"]
        graph[api_id] = [p["id"] for p in parents if p["type"] == "custom_api"]
        found = rules.parent_graph_violations(graph)
        mine = [v for key, v in found if key == api_id and v.path]
        if mine:
            raise invalid(mine, "relationships", "parent_apis", "data")
        if found:
            key, violation = found[0]
            subject = "this Custom API" if key == api_id else f"the Custom API {key}"
            raise bad_request(
                f"data.relationships.parent_apis: with these parents {subject} "
                f"{violation.what} (expected {violation.expected})"
            )

    def _check_api_unique(
        self, conn: sqlite3.Connection, api_id: str, slug: str, api_type: str | None
    ) -> None:
        if api_type is not None:
            row = conn.execute(
                "SELECT 1 FROM custom_apis WHERE api_type = ? AND id != ?", (api_type, api_id)
            ).fetchone()
            if row is not None:  # SPEC ConflictError "Duplicate Custom API"
                raise conflict("custom_api with the given api_type already exists")
        row = conn.execute(
            "SELECT 1 FROM custom_apis WHERE slug = ? AND id != ?", (slug, api_id)
        ).fetchone()
        if row is not None:
            raise conflict("custom_api with the given slug already exists")

    def _write_api(self, conn: sqlite3.Connection, api: Record, *, new: bool) -> None:
        _write_definition(conn, "custom_apis", "api_type", API_KEYS, api, new=new)

    def create_api(self, api: Record) -> Record:
        """`api`: id, slug, api_type, API_KEYS and timestamps (already checked for shape)."""
        with self.storage.transaction(write=True) as conn:
            self._check_api_unique(conn, api["id"], api["slug"], api["api_type"])
            self._check_parents(conn, api["id"], api["parents"])
            self._write_api(conn, api, new=True)
            return self._api_row(conn, api["id"])

    def update_api(self, api_id: str, changes: Mapping[str, Any], stamp: str) -> Record:
        """A partial update; `changes` holds slug and API_KEYS attributes only."""
        with self.storage.transaction(write=True) as conn:
            api = self._api_row(conn, api_id)
            merged = {**api, **changes, "updated_at": stamp}
            if "presentation" in changes:
                merged["presentation"] = {**api["presentation"], **changes["presentation"]}
                violations = rules.api_presentation_violations(merged["presentation"])
                if violations:
                    raise invalid(violations, "presentation")
            self._check_api_unique(conn, api_id, merged["slug"], None)
            if "parents" in changes:
                self._check_parents(conn, api_id, merged["parents"])
            self._write_api(conn, merged, new=False)
            return self._api_row(conn, api_id)

    def delete_api(self, api_id: str) -> None:
        """Its fields and entries go with it; an API that is another's parent stays (409)."""
        with self.storage.transaction(write=True) as conn:
            self._api_row(conn, api_id)
            children = [
                api["slug"]
                for api in self._all_apis(conn)
                if any(p["type"] == "custom_api" and p["id"] == api_id for p in api["parents"])
            ]
            if children:  # [INF] the spec is silent; refusing keeps no dangling parent
                raise conflict(
                    "the Custom API is the parent of "
                    + ", ".join(sorted(children))
                    + "; change or delete those first"
                )
            conn.execute("DELETE FROM custom_apis WHERE id = ?", (api_id,))

    # ---------------------------------------------------------------------- fields

    def list_fields(self, api_id: str) -> list[Record]:
        with self.storage.transaction(write=False) as conn:
            self._api_row(conn, api_id)
            return self._fields_of(conn, api_id)

    def get_field(self, api_id: str, field_id: str) -> Record:
        with self.storage.transaction(write=False) as conn:
            self._api_row(conn, api_id)
            return self._field_row(conn, api_id, field_id)

    def _check_field_slug_free(
        self, conn: sqlite3.Connection, api_id: str, slug: str, field_id: str
    ) -> None:
        row = conn.execute(
            "SELECT 1 FROM custom_fields WHERE api_id = ? AND slug = ? AND id != ?",
            (api_id, slug, field_id),
        ).fetchone()
        if row is not None:  # SPEC ConflictError "Duplicate Custom Field"
            raise conflict("custom_field with the given slug already exists")

    def _write_field(self, conn: sqlite3.Connection, field: Record, *, new: bool) -> None:
        _write_definition(conn, "custom_fields", "api_id", FIELD_KEYS, field, new=new)

    def create_field(self, field: Record) -> Record:
        """`field`: id, api_id, slug, FIELD_KEYS (validation full) and timestamps."""
        with self.storage.transaction(write=True) as conn:
            self._api_row(conn, field["api_id"])
            self._check_field_slug_free(conn, field["api_id"], field["slug"], field["id"])
            if field["use_as_url_slug"]:
                others = {f["slug"]: f for f in self._fields_of(conn, field["api_id"])}
                violations = rules.url_slug_field_violations(
                    {**others, field["slug"]: field}, adding=field["slug"]
                )
                if violations:
                    raise invalid(
                        [
                            Violation(
                                ("use_as_url_slug",),
                                violations[0].what,
                                violations[0].expected,
                                violations[0].code,
                            )
                        ]
                    )
                if self._entry_count(conn, field["api_id"]):
                    raise invalid(
                        [
                            Violation(
                                ("use_as_url_slug",),
                                "cannot be set: the Custom API already has entries",
                                "a Custom API without entries",
                                "url_slug_with_entries",
                            )
                        ]
                    )
            self._write_field(conn, field, new=True)
            return self._field_row(conn, field["api_id"], field["id"])

    def update_field(
        self, api_id: str, field_id: str, body: Mapping[str, Any], stamp: str
    ) -> Record:
        """A partial update: named attributes replace, validation keys merge one by one."""
        with self.storage.transaction(write=True) as conn:
            self._api_row(conn, api_id)
            field = self._field_row(conn, api_id, field_id)
            changes = rules.create_only_violations(field, body, facts.FIELD_CREATE_ONLY)
            if changes:
                raise invalid(changes)
            merged = {**field, "updated_at": stamp}
            for key in ("name", "description", "slug"):
                if key in body:
                    merged[key] = body[key]
            if "presentation" in body:
                merged["presentation"] = {**field["presentation"], **body["presentation"]}
            field_type = field["field_type"]
            given = body.get("validation") or {}
            rules_given = given.get(field_type) or {}
            merged_rules = {**field["validation"][field_type], **rules_given}
            merged["validation"] = rules.full_validation(field_type, {field_type: merged_rules})
            check = {
                key: merged[key]
                for key in ("name", "description", "slug", "field_type", "use_as_url_slug")
            }
            violations = rules.custom_field_violations(
                {**check, "validation": merged["validation"]}, create=True
            )
            if violations:
                raise invalid(violations)
            if merged["slug"] != field["slug"]:
                self._check_field_slug_free(conn, api_id, merged["slug"], field_id)
            self._write_field(conn, merged, new=False)
            return self._field_row(conn, api_id, field_id)

    def delete_field(self, api_id: str, field_id: str) -> None:
        """The field's values are dropped from every entry of its API."""
        with self.storage.transaction(write=True) as conn:
            self._api_row(conn, api_id)
            self._field_row(conn, api_id, field_id)
            conn.execute(
                "UPDATE custom_entries SET data = json_remove(data, ?) WHERE api_id = ?",
                (json_path(field_id), api_id),
            )
            conn.execute("DELETE FROM custom_fields WHERE id = ?", (field_id,))


def _definition(row: sqlite3.Row, column: str, keys: Sequence[str]) -> Record:
    """A Custom API (`column` "api_type") or field (`column` "api_id") read from its row."""
    attributes = json.loads(row["attributes"])
    record: Record = {"id": row["id"], column: row[column], "slug": row["slug"]}
    record.update({key: attributes[key] for key in keys})
    record["created_at"] = row["created_at"]
    record["updated_at"] = row["updated_at"]
    return record


def _write_definition(
    conn: sqlite3.Connection,
    table: str,
    column: str,
    keys: Sequence[str],
    record: Record,
    *,
    new: bool,
) -> None:
    """Insert (`new`) or update a Custom API or field row; `keys` go in its JSON column."""
    attributes = json.dumps({key: record[key] for key in keys})
    if new:
        conn.execute(
            f"INSERT INTO {table} (id, {column}, slug, attributes, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (
                record["id"],
                record[column],
                record["slug"],
                attributes,
                record["created_at"],
                record["updated_at"],
            ),
        )
    else:
        conn.execute(
            f"UPDATE {table} SET slug = ?, attributes = ?, updated_at = ? WHERE id = ?",
            (record["slug"], attributes, record["updated_at"], record["id"]),
        )
