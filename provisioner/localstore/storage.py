"""The local store's data in SQLite: schema, transactions and every read and write.

Each public method is one transaction on its own connection, so methods are safe to call from
worker threads in parallel. Writes start with `BEGIN IMMEDIATE`, which takes SQLite's write
lock up front: a uniqueness check and the insert that follows it cannot interleave with another
writer, so parallel requests cannot create two flows with one slug or a 101st field (issue 3).
UNIQUE constraints back the checks up. A method either commits everything or nothing: a
domain error (`localstore.errors`) raised half-way rolls the transaction back (never a partial
write); the app says it in the API's words.

Values of custom fields (entries and extended customers) live in one table keyed by owner id
and field id, with `ON DELETE CASCADE` from the field: deleting a field deletes its values for
good, and recreating the slug makes a new field id, so old values never reappear
(epcc-api.md section 0, 4.8).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import secrets
import sqlite3
import threading
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from provisioner.epcc.flows import (
    CORE_FLOW_SLUGS,
    CORE_RESOURCE_ATTRIBUTES,
    FIELD_BODY,
    MAX_FIELDS_PER_FLOW,
)
from provisioner.localstore.errors import Conflict, NotAllowed, NotFound, StoreFailure
from provisioner.localstore.extensions_storage import EXTENSIONS_SCHEMA
from provisioner.localstore.validation import check_field, failed

Record = dict[str, Any]

log = logging.getLogger(__name__)
TOKEN_KEY = "token_key"  # settings key of the token-signing key
# Below this much free space, an I/O error of SQLite's is the disk being full (a WAL database
# cannot even grow its shared-memory file to read: SQLITE_IOERR_SHMSIZE).
DISK_FULL_BYTES = 256 * 1024


def _code(error: sqlite3.Error) -> str:
    return str(getattr(error, "sqlite_errorname", "") or "")


def _has_schema(conn: sqlite3.Connection) -> bool:
    row = conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'flows'").fetchone()
    return bool(row[0])


def _read_only_dir(path: Path) -> bool:
    """True when nothing can be created in `path` (a read-only mount, or no permission)."""
    try:
        if os.statvfs(path).f_flag & os.ST_RDONLY:
            return True
    except OSError:
        return False
    return not os.access(path, os.W_OK)


def _disk_full(path: Path) -> bool:
    try:
        stats = os.statvfs(path)
    except OSError:
        return False
    return stats.f_bavail * stats.f_frsize < DISK_FULL_BYTES


SCHEMA = """
CREATE TABLE IF NOT EXISTS settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tokens (
    token TEXT PRIMARY KEY,
    identifier TEXT NOT NULL,
    expires INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS flows (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    enabled INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS fields (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    flow_id TEXT NOT NULL REFERENCES flows(id) ON DELETE CASCADE,
    slug TEXT NOT NULL,
    attributes TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (flow_id, slug)
);
CREATE TABLE IF NOT EXISTS entries (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    flow_id TEXT NOT NULL REFERENCES flows(id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS entries_flow ON entries (flow_id, seq);
CREATE TABLE IF NOT EXISTS customers (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    email TEXT NOT NULL,
    password_hash TEXT,
    external_ref TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS field_values (
    owner_id TEXT NOT NULL,
    field_id TEXT NOT NULL REFERENCES fields(id) ON DELETE CASCADE,
    value TEXT NOT NULL,
    PRIMARY KEY (owner_id, field_id)
);
CREATE INDEX IF NOT EXISTS field_values_field ON field_values (field_id);
"""

# The attributes of a field kept in its JSON column (4.2, 4.3): every body key but the slug.
FIELD_KEYS: tuple[str, ...] = tuple(a.name for a in FIELD_BODY if a.name != "slug")

# 2.3 / 6: customer filters: attribute -> allowed operators.
CUSTOMER_FILTERS: Mapping[str, frozenset[str]] = {
    "email": frozenset({"eq", "like"}),
    "name": frozenset({"eq", "like"}),
    "id": frozenset({"eq", "ge", "gt", "le", "lt"}),
    "created_at": frozenset({"eq", "ge", "gt", "le", "lt"}),
    "updated_at": frozenset({"eq", "ge", "gt", "le", "lt"}),
    "external_ref": frozenset({"eq"}),
}
CUSTOMER_SORTS = frozenset({"created_at", "email", "id", "name", "updated_at"})
SQL_OPERATORS = {"eq": "=", "ge": ">=", "gt": ">", "le": "<=", "lt": "<"}


def now_iso() -> str:
    """ISO-8601 UTC with milliseconds, e.g. `2017-05-02T10:50:45.622Z` (2.1)."""
    now = dt.datetime.now(dt.UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def new_id() -> str:
    return str(uuid.uuid4())


def hash_password(password: str) -> str:
    salt = secrets.token_hex(8)
    digest = hashlib.sha256((salt + password).encode("utf-8")).hexdigest()
    return f"{salt}${digest}"


OWNERS = ("store", "organization")


def _add_owner_columns(conn: sqlite3.Connection) -> None:
    """`owner` of flows and fields (epcc-api.md 3.3 `meta.owner`), added to databases made
    before it existed; every object a store makes itself is `store`-owned."""
    for table in ("flows", "fields"):
        columns = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
        if "owner" in columns:
            continue
        try:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN owner TEXT NOT NULL DEFAULT 'store'")
        except sqlite3.OperationalError as error:  # another process added it just now
            if "duplicate column" not in str(error):
                raise


class Storage:
    """One SQLite database file holding a whole store."""

    def __init__(self, db_path: str | Path) -> None:
        self.db_path = Path(db_path)
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        self._reported: set[str] = set()  # store failures logged since the last good write
        self._lock = threading.Lock()
        with self._connection() as conn:
            try:
                conn.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
                conn.executescript(SCHEMA + EXTENSIONS_SCHEMA)
                _add_owner_columns(conn)
                # The key that signs this store's tokens (auth.Tokens), made once.
                conn.execute(
                    "INSERT OR IGNORE INTO settings (key, value) VALUES (?, ?)",
                    (TOKEN_KEY, secrets.token_hex(32)),
                )
            except sqlite3.OperationalError as error:
                # A read-only database that already holds the schema still serves reads.
                if not (_code(error).startswith("SQLITE_READONLY") and _has_schema(conn)):
                    raise

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        conn = self._open()
        try:
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA busy_timeout=30000")
            # With WAL, NORMAL still survives a crash of the process (only an OS crash may lose
            # the last commits) and saves an fsync per write: 12-27 ms each here (BENCHMARKS.md).
            conn.execute("PRAGMA synchronous=NORMAL")
            yield conn
        finally:
            conn.close()

    def _open(self) -> sqlite3.Connection:
        """A connection; on a read-only file system, an immutable read-only one.

        A WAL database needs its `-shm` file even to read, and it cannot be created where
        nothing can be written: SQLite then says "unable to open database file". Where the
        directory is read-only nobody can be writing, so the file is opened as immutable.
        """
        conn = sqlite3.connect(
            self.db_path, timeout=30.0, isolation_level=None, check_same_thread=False
        )
        try:
            conn.execute("PRAGMA schema_version").fetchone()
        except sqlite3.OperationalError as error:
            if not (
                _code(error).startswith("SQLITE_CANTOPEN")
                and self.db_path.is_file()
                and _read_only_dir(self.db_path.parent)
            ):
                conn.close()
                raise
            conn.close()
            uri = f"{self.db_path.resolve().as_uri()}?mode=ro&immutable=1"
            conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
        return conn

    @contextmanager
    def transaction(self, *, write: bool) -> Iterator[sqlite3.Connection]:
        """One transaction: committed when the block ends, rolled back if it raises.

        SQLite's own failures that name the store's state (a full disk, a read-only
        database, an I/O error) become a `StoreFailure` saying so (507 or 503), logged once until
        a write succeeds again (issue 17.5).
        """
        try:
            with self._connection() as conn:
                conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                try:
                    yield conn
                except BaseException:
                    with suppress(sqlite3.Error):  # SQLite may have rolled back already
                        conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
        except StoreFailure:
            raise
        except sqlite3.OperationalError as error:
            problem = self._problem(error)
            if problem is None:
                raise
            raise problem from error
        if write and self._reported:
            with self._lock:
                self._reported.clear()

    def _problem(self, error: sqlite3.OperationalError) -> StoreFailure | None:
        """The `StoreFailure` naming a failure of the store's own disk or database, if any."""
        code = _code(error)
        where = self.db_path.parent
        if code.startswith("SQLITE_FULL") or (
            code.startswith(("SQLITE_IOERR", "SQLITE_CANTOPEN")) and _disk_full(where)
        ):
            kind = "full"
            detail = (
                f"The local store's disk is full ({where}): {error}. Nothing was written; "
                "free some space and try again."
            )
        elif code.startswith("SQLITE_READONLY") or (
            code.startswith(("SQLITE_IOERR", "SQLITE_CANTOPEN")) and _read_only_dir(where)
        ):
            kind = "read-only"
            detail = (
                f"The local store's database is read-only ({self.db_path}): {error}. "
                "Nothing was written; reads still work."
            )
        elif code.startswith(("SQLITE_IOERR", "SQLITE_CANTOPEN")):
            kind = "io"
            detail = f"The local store cannot use its database ({self.db_path}): {error}."
        else:
            return None
        with self._lock:
            first = kind not in self._reported
            self._reported.add(kind)
        if first:
            log.error("local store: %s (%s)", detail, code)
        return StoreFailure(kind, detail)

    # ------------------------------------------------------------------------- settings

    def get_setting(self, conn: sqlite3.Connection, key: str) -> str | None:
        row = conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row["value"])

    def set_setting(self, conn: sqlite3.Connection, key: str, value: str) -> None:
        conn.execute(
            "INSERT INTO settings (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

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

    def _flow_row(self, conn: sqlite3.Connection, flow_id: str) -> Record:
        row = conn.execute("SELECT * FROM flows WHERE id = ?", (flow_id,)).fetchone()
        if row is None:
            raise NotFound("flow")
        return self._flow(row)

    def _flow_by_slug(self, conn: sqlite3.Connection, slug: str) -> Record:
        row = conn.execute("SELECT * FROM flows WHERE slug = ?", (slug,)).fetchone()
        if row is None:
            raise NotFound("flow")
        return self._flow(row)

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

    # --------------------------------------------------------------------- field values

    @staticmethod
    def _values(conn: sqlite3.Connection, owner_ids: Sequence[str]) -> dict[str, Record]:
        """Stored values by owner id, then field id."""
        result: dict[str, Record] = {owner: {} for owner in owner_ids}
        if not owner_ids:
            return result
        marks = ",".join("?" for _ in owner_ids)
        rows = conn.execute(
            f"SELECT owner_id, field_id, value FROM field_values WHERE owner_id IN ({marks})",
            tuple(owner_ids),
        ).fetchall()
        for row in rows:
            result[row["owner_id"]][row["field_id"]] = json.loads(row["value"])
        return result

    @staticmethod
    def _set_values(conn: sqlite3.Connection, owner_id: str, values: Mapping[str, Any]) -> None:
        for field_id, value in values.items():
            if value is None:
                conn.execute(
                    "DELETE FROM field_values WHERE owner_id = ? AND field_id = ?",
                    (owner_id, field_id),
                )
            else:
                conn.execute(
                    "INSERT INTO field_values (owner_id, field_id, value) VALUES (?, ?, ?)"
                    " ON CONFLICT (owner_id, field_id) DO UPDATE SET value = excluded.value",
                    (owner_id, field_id, json.dumps(value)),
                )

    def _extension_fields(self, conn: sqlite3.Connection, core_slug: str) -> list[Record]:
        """The fields of the flow that currently extends a core resource (3.4), if any."""
        row = conn.execute("SELECT id FROM flows WHERE slug = ?", (core_slug,)).fetchone()
        return [] if row is None else self._fields_of(conn, row["id"])

    # -------------------------------------------------------------------------- entries

    @staticmethod
    def _entry(row: sqlite3.Row, values: Record) -> Record:
        return {
            "id": row["id"],
            "created_at": row["created_at"],
            "updated_at": row["updated_at"],
            "values": values,
        }

    def _entry_row(self, conn: sqlite3.Connection, flow_id: str, entry_id: str) -> Record:
        row = conn.execute(
            "SELECT * FROM entries WHERE id = ? AND flow_id = ?", (entry_id, flow_id)
        ).fetchone()
        if row is None:
            raise NotFound("entry")
        return self._entry(row, self._values(conn, [entry_id])[entry_id])

    def list_entries(
        self, flow_slug: str, limit: int, offset: int
    ) -> tuple[Record, list[Record], list[Record], int]:
        """(flow, fields, entries of the page, total)."""
        with self.transaction(write=False) as conn:
            flow = self._flow_by_slug(conn, flow_slug)
            fields = self._fields_of(conn, flow["id"])
            total = conn.execute(
                "SELECT COUNT(*) FROM entries WHERE flow_id = ?", (flow["id"],)
            ).fetchone()[0]
            rows = conn.execute(
                "SELECT * FROM entries WHERE flow_id = ? ORDER BY seq LIMIT ? OFFSET ?",
                (flow["id"], limit, offset),
            ).fetchall()
            values = self._values(conn, [row["id"] for row in rows])
        entries = [self._entry(row, values[row["id"]]) for row in rows]
        return flow, fields, entries, int(total)

    def get_entry(self, flow_slug: str, entry_id: str) -> tuple[Record, list[Record], Record]:
        with self.transaction(write=False) as conn:
            flow = self._flow_by_slug(conn, flow_slug)
            entry = self._entry_row(conn, flow["id"], entry_id)
            return flow, self._fields_of(conn, flow["id"]), entry

    def write_entry(
        self,
        flow_slug: str,
        entry_id: str | None,
        data: Mapping[str, Any],
        values_of: Any,
        *,
        create: bool,
    ) -> tuple[Record, list[Record], Record]:
        """Create (entry_id may be chosen by the client, 5.1) or update an entry.

        `values_of(fields, data, create=...)` checks the body against the flow's fields inside
        the transaction, so the fields it is checked against are the ones it is stored under.
        """
        with self.transaction(write=True) as conn:
            flow = self._flow_by_slug(conn, flow_slug)
            fields = self._fields_of(conn, flow["id"])
            values = values_of(fields, data, create=create)
            stamp = now_iso()
            if create:
                entry_id = entry_id or new_id()
                if conn.execute("SELECT 1 FROM entries WHERE id = ?", (entry_id,)).fetchone():
                    raise Conflict(f'An entry with id "{entry_id}" already exists.')
                conn.execute(
                    "INSERT INTO entries (id, flow_id, created_at, updated_at) VALUES (?, ?, ?, ?)",
                    (entry_id, flow["id"], stamp, stamp),
                )
            else:
                assert entry_id is not None
                self._entry_row(conn, flow["id"], entry_id)
                conn.execute("UPDATE entries SET updated_at = ? WHERE id = ?", (stamp, entry_id))
            self._set_values(conn, entry_id, values)
            return flow, fields, self._entry_row(conn, flow["id"], entry_id)

    def delete_entry(self, flow_slug: str, entry_id: str) -> None:
        with self.transaction(write=True) as conn:
            flow = self._flow_by_slug(conn, flow_slug)
            self._entry_row(conn, flow["id"], entry_id)
            conn.execute("DELETE FROM field_values WHERE owner_id = ?", (entry_id,))
            conn.execute("DELETE FROM entries WHERE id = ?", (entry_id,))

    def change_relationships(
        self,
        flow_slug: str,
        entry_id: str,
        field_slug: str,
        items: list[dict[str, str]] | None,
        mode: str,
    ) -> list[dict[str, str]]:
        """5.2: `add` (POST), `replace` (PUT) or `remove` (DELETE; None removes all)."""
        with self.transaction(write=True) as conn:
            flow = self._flow_by_slug(conn, flow_slug)
            entry = self._entry_row(conn, flow["id"], entry_id)
            field = next(
                (f for f in self._fields_of(conn, flow["id"]) if f["slug"] == field_slug), None
            )
            if field is None:
                raise NotFound("field")
            if field["field_type"] != "relationship":
                raise failed(f'{field_slug}: "{field_slug}" is not a relationship field.')
            current: list[dict[str, str]] = list(entry["values"].get(field["id"]) or [])
            if mode == "add":
                current += [item for item in items or [] if item not in current]
            elif mode == "replace":
                current = list(items or [])
            elif items is None:
                current = []
            else:
                current = [item for item in current if item not in items]
            kinds = {rule.get("type") for rule in field["validation_rules"] or []}
            if "one-to-one" in kinds and len(current) > 1:
                raise failed(f"{field_slug}: Invalid Value (a one-to-one field holds one item)")
            conn.execute("UPDATE entries SET updated_at = ? WHERE id = ?", (now_iso(), entry_id))
            self._set_values(conn, entry_id, {field["id"]: current or None})
            return current

    # ------------------------------------------------------------------------ customers

    @staticmethod
    def _customer(row: sqlite3.Row, values: Record) -> Record:
        return {
            "id": row["id"],
            "name": row["name"],
            "email": row["email"],
            "password": row["password_hash"] is not None,
            "external_ref": row["external_ref"],
            "created_at": row["created_at"],
            "updated_at": row["updated_at"],
            "values": values,
        }

    def _customer_row(self, conn: sqlite3.Connection, customer_id: str) -> Record:
        row = conn.execute("SELECT * FROM customers WHERE id = ?", (customer_id,)).fetchone()
        if row is None:
            raise NotFound("customer")
        return self._customer(row, self._values(conn, [customer_id])[customer_id])

    def list_customers(
        self,
        filters: Sequence[tuple[str, str, str]],
        sort: str,
        limit: int,
        offset: int,
    ) -> tuple[list[Record], list[Record], int]:
        """(extension fields, customers of the page, total after filters)."""
        clauses, args = [], []
        for op, attribute, value in filters:
            if op == "like":
                escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                clauses.append(f"{attribute} LIKE ? ESCAPE '\\'")
                args.append(escaped.replace("*", "%"))
            else:
                clauses.append(f"{attribute} {SQL_OPERATORS[op]} ?")
                args.append(value)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        descending = sort.startswith("-")
        column = sort.lstrip("-")
        direction = "DESC" if descending else "ASC"
        order = f"{column} {direction}, seq {direction}"
        with self.transaction(write=False) as conn:
            fields = self._extension_fields(conn, "customers")
            total = conn.execute(f"SELECT COUNT(*) FROM customers {where}", args).fetchone()[0]
            rows = conn.execute(
                f"SELECT * FROM customers {where} ORDER BY {order} LIMIT ? OFFSET ?",
                (*args, limit, offset),
            ).fetchall()
            values = self._values(conn, [row["id"] for row in rows])
        return fields, [self._customer(row, values[row["id"]]) for row in rows], int(total)

    def get_customer(self, customer_id: str) -> tuple[list[Record], Record]:
        with self.transaction(write=False) as conn:
            return self._extension_fields(conn, "customers"), self._customer_row(conn, customer_id)

    def write_customer(
        self,
        customer_id: str | None,
        attrs: Mapping[str, Any],
        data: Mapping[str, Any],
        values_of: Any,
    ) -> tuple[list[Record], Record]:
        """Create (customer_id None) or partially update a customer and its custom values."""
        create = customer_id is None
        with self.transaction(write=True) as conn:
            fields = self._extension_fields(conn, "customers")
            values = values_of(fields, data, create=create)
            stamp = now_iso()
            password = attrs.get("password")
            if customer_id is None:
                customer_id = new_id()
                conn.execute(
                    "INSERT INTO customers (id, name, email, password_hash, external_ref,"
                    " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        customer_id,
                        attrs["name"],
                        attrs["email"],
                        hash_password(password) if password else None,
                        attrs.get("external_ref"),
                        stamp,
                        stamp,
                    ),
                )
            else:
                self._customer_row(conn, customer_id)
                sets: list[str] = ["updated_at = ?"]
                args: list[str | None] = [stamp]
                for key in ("name", "email", "external_ref"):
                    if key in attrs:
                        sets.append(f"{key} = ?")
                        args.append(attrs[key])
                if "password" in attrs:
                    sets.append("password_hash = ?")
                    args.append(hash_password(password) if password else None)
                conn.execute(
                    f"UPDATE customers SET {', '.join(sets)} WHERE id = ?", (*args, customer_id)
                )
            self._set_values(conn, customer_id, values)
            return fields, self._customer_row(conn, customer_id)

    def delete_customer(self, customer_id: str) -> None:
        with self.transaction(write=True) as conn:
            self._customer_row(conn, customer_id)
            conn.execute("DELETE FROM field_values WHERE owner_id = ?", (customer_id,))
            conn.execute("DELETE FROM customers WHERE id = ?", (customer_id,))
