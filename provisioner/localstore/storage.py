"""The local store's data: flows and fields (`definitions`), plus entries, customers and the
values of custom fields.

Values of custom fields (entries and extended customers) live in one table keyed by owner id
and field id, with `ON DELETE CASCADE` from the field: deleting a field deletes its values for
good, and recreating the slug makes a new field id, so old values never reappear
(epcc-api.md section 0, 4.8). Each public method is one transaction; a domain error
(`localstore.errors`) raised half-way rolls it back, and the app says it in the API's words.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

from provisioner.localstore.database import TOKEN_KEY, Record, new_id, now_iso
from provisioner.localstore.definitions import Definitions
from provisioner.localstore.errors import Conflict, NotFound
from provisioner.localstore.validation import failed

__all__ = [
    "CUSTOMER_FILTERS",
    "CUSTOMER_SORTS",
    "TOKEN_KEY",
    "Record",
    "Storage",
    "hash_password",
    "new_id",
    "now_iso",
]

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


def hash_password(password: str) -> str:
    salt = secrets.token_hex(8)
    digest = hashlib.sha256((salt + password).encode("utf-8")).hexdigest()
    return f"{salt}${digest}"


def _with_values(row: sqlite3.Row, values: Record, **attributes: Any) -> Record:
    """An entry or customer: its id, `attributes`, timestamps and custom values by field id."""
    return {
        "id": row["id"],
        **attributes,
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
        "values": values,
    }


class Storage(Definitions):
    """One SQLite database file holding a whole store."""

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
        return _with_values(row, values)

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
        return _with_values(
            row,
            values,
            name=row["name"],
            email=row["email"],
            password=row["password_hash"] is not None,  # whether there is one, never it
            external_ref=row["external_ref"],
        )

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
