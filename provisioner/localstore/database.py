"""The local store's SQLite database: schema, connections, transactions, named failures.

Each transaction runs on its own connection, so callers are safe in worker threads in parallel.
Writes start with `BEGIN IMMEDIATE`, which takes SQLite's write lock up front: a uniqueness
check and the insert that follows it cannot interleave with another writer (issue 3). A
transaction either commits everything or nothing: an exception raised half-way rolls it back
(never a partial write). SQLite's own failures that name the store's state (a full disk, a
read-only database, an I/O error) become a `StoreFailure` saying so, logged once until a write
succeeds again (issue 17.5).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import secrets
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from provisioner.localstore.errors import StoreFailure
from provisioner.localstore.extensions_storage import EXTENSIONS_SCHEMA

Record = dict[str, Any]


# The store's failures are logged under the storage module's name, as they always were.
log = logging.getLogger("provisioner.localstore.storage")
TOKEN_KEY = "token_key"  # settings key of the token-signing key
# Below this much free space, an I/O error of SQLite's is the disk being full (a WAL database
# cannot even grow its shared-memory file to read: SQLITE_IOERR_SHMSIZE).
DISK_FULL_BYTES = 256 * 1024
# What a failure of the store's own disk or database says (issue 17.5), by kind.
FAILURE_DETAILS = {
    "full": "The local store's disk is full ({where}): {error}. Nothing was written; "
    "free some space and try again.",
    "read-only": "The local store's database is read-only ({path}): {error}. "
    "Nothing was written; reads still work.",
    "io": "The local store cannot use its database ({path}): {error}.",
}


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


def now_iso() -> str:
    """ISO-8601 UTC with milliseconds, e.g. `2017-05-02T10:50:45.622Z` (2.1)."""
    now = dt.datetime.now(dt.UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def new_id() -> str:
    return str(uuid.uuid4())


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


class Database:
    """One SQLite database file holding a whole store: its connections and transactions."""

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
        kind = self._failure_kind(code)
        if kind is None:
            return None
        detail = FAILURE_DETAILS[kind].format(
            where=self.db_path.parent, path=self.db_path, error=error
        )
        with self._lock:
            first = kind not in self._reported
            self._reported.add(kind)
        if first:
            log.error("local store: %s (%s)", detail, code)
        return StoreFailure(kind, detail)

    def _failure_kind(self, code: str) -> str | None:
        """ "full", "read-only" or "io" when SQLite's error `code` is the store's own failure."""
        where = self.db_path.parent
        io = code.startswith(("SQLITE_IOERR", "SQLITE_CANTOPEN"))
        if code.startswith("SQLITE_FULL") or (io and _disk_full(where)):
            return "full"
        if code.startswith("SQLITE_READONLY") or (io and _read_only_dir(where)):
            return "read-only"
        return "io" if io else None

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
