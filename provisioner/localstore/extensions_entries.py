"""Commerce Extensions' entries in the local store's SQLite (epcc-api.md 10).

Entry values are kept by field id (a JSON object per entry), so renaming a field keeps its
values and deleting one drops them for good. What needs the stored state is checked here:
`unique` values (case-sensitively or not), `immutable` ones, `allow_null_values`, unknown keys,
the 64 KiB entry limit (413), `If-Match` (412) and upserts (`allow_upserts`).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from provisioner import custom_api_rules as rules
from provisioner.epcc import custom_apis as facts
from provisioner.localstore.errors import PreconditionFailed, TooLarge
from provisioner.localstore.extensions_storage import (
    ExtensionDefinitions,
    Record,
    bad_request,
    conflict,
    invalid,
    json_path,
    not_found,
)
from provisioner.localstore.validation import is_uuid
from provisioner.rules import Violation, describe


def etag_of(entry: Mapping[str, Any]) -> str:
    """A hash of the entry's version (SPEC meta.etag_id); the ETag header is W/"<it>"."""
    text = f"{entry['id']}:{entry['resource_version']}:{entry['updated_at']}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _casefold(value: Any) -> Any:
    return value.casefold() if isinstance(value, str) else value


class ExtensionsStorage(ExtensionDefinitions):
    """Custom APIs, fields and entries over the store's database."""

    @staticmethod
    def _entry(row: sqlite3.Row) -> Record:
        entry: Record = {
            "id": row["id"],
            "api_id": row["api_id"],
            "values": json.loads(row["data"]),
            "resource_version": row["resource_version"],
            "created_at": row["created_at"],
            "updated_at": row["updated_at"],
        }
        entry["etag_id"] = etag_of(entry)
        return entry

    # --------------------------------------------------------------------- entries

    def api_with_fields(self, key: str, *, by_slug: bool) -> tuple[Record, list[Record]]:
        with self.storage.transaction(write=False) as conn:
            api = self._find_api(conn, key, by_slug=by_slug)
            return api, self._fields_of(conn, api["id"])

    def list_entries(self, key: str, *, by_slug: bool) -> tuple[Record, list[Record], list[Record]]:
        """(api, fields, every entry in creation order): lists filter and page in memory."""
        with self.storage.transaction(write=False) as conn:
            api = self._find_api(conn, key, by_slug=by_slug)
            rows = conn.execute(
                "SELECT * FROM custom_entries WHERE api_id = ? ORDER BY seq", (api["id"],)
            ).fetchall()
            return api, self._fields_of(conn, api["id"]), [self._entry(r) for r in rows]

    def _url_slug_field(self, fields: Sequence[Record]) -> Record | None:
        return next((f for f in fields if f["use_as_url_slug"]), None)

    def _find_entry(
        self, conn: sqlite3.Connection, api_id: str, fields: Sequence[Record], key: str
    ) -> Record | None:
        """By id, or by the value of the API's `use_as_url_slug` field."""
        row = conn.execute(
            "SELECT * FROM custom_entries WHERE id = ? AND api_id = ?", (key, api_id)
        ).fetchone()
        slug_field = self._url_slug_field(fields)
        if row is None and slug_field is not None:
            row = conn.execute(
                "SELECT * FROM custom_entries WHERE api_id = ? AND json_extract(data, ?) = ?",
                (api_id, json_path(slug_field["id"]), key),
            ).fetchone()
        return None if row is None else self._entry(row)

    def _existing_entry(
        self, conn: sqlite3.Connection, api_key: str, key: str, *, by_slug: bool
    ) -> tuple[Record, list[Record], Record]:
        """(api, fields, entry) of an entry that exists (404 otherwise)."""
        api = self._find_api(conn, api_key, by_slug=by_slug)
        fields = self._fields_of(conn, api["id"])
        entry = self._find_entry(conn, api["id"], fields, key)
        if entry is None:
            raise not_found("Custom API Entry")
        return api, fields, entry

    def get_entry(
        self, api_key: str, key: str, *, by_slug: bool
    ) -> tuple[Record, list[Record], Record]:
        with self.storage.transaction(write=False) as conn:
            return self._existing_entry(conn, api_key, key, by_slug=by_slug)

    def write_entry(
        self,
        api_key: str,
        key: str | None,
        data: Mapping[str, Any],
        stamp: str,
        *,
        by_slug: bool,
        if_match: str | None,
    ) -> tuple[Record, list[Record], Record, bool]:
        """POST (`key` None) or PUT; returns (api, fields, entry, created)."""
        with self.storage.transaction(write=True) as conn:
            conn.create_function("casefold", 1, _casefold, deterministic=True)
            api = self._find_api(conn, api_key, by_slug=by_slug)
            fields = self._fields_of(conn, api["id"])
            current = None if key is None else self._find_entry(conn, api["id"], fields, key)
            slug_field = self._url_slug_field(fields)
            data = dict(data)
            if key is not None and current is None:
                if not api["allow_upserts"]:
                    raise not_found("Custom API Entry")
                if if_match is not None and if_match.strip() != "*":
                    raise PreconditionFailed("The entry does not exist.")
                if slug_field is not None and not is_uuid(key):
                    data.setdefault(slug_field["slug"], key)
                    if data[slug_field["slug"]] != key:
                        raise bad_request(
                            f"data.{slug_field['slug']}: differs from the URL's {key!r}"
                        )
            if current is not None and if_match is not None:
                check_if_match(if_match, current)
            create = current is None
            entry_id = current["id"] if current else self._new_entry_id(data, key, slug_field)
            values = entry_values(fields, data, current, create=create)
            self._check_unique(conn, api["id"], fields, values, entry_id)
            stored = dict(current["values"]) if current else {}
            stored.update(values)
            live = {f["id"] for f in fields}
            size = sum(rules.value_size(v) for k, v in stored.items() if k in live)
            if size > facts.MAX_ENTRY_BYTES:
                raise TooLarge(
                    f"Maximum entry size reached ({size} bytes; at most {facts.MAX_ENTRY_BYTES})."
                )
            text = json.dumps(stored, ensure_ascii=False, separators=(",", ":"))
            if create:
                if conn.execute(
                    "SELECT 1 FROM custom_entries WHERE id = ?", (entry_id,)
                ).fetchone():
                    raise conflict(f'an entry with id "{entry_id}" already exists')
                conn.execute(
                    "INSERT INTO custom_entries (id, api_id, data, resource_version, created_at,"
                    " updated_at) VALUES (?, ?, ?, 0, ?, ?)",
                    (entry_id, api["id"], text, stamp, stamp),
                )
            else:
                conn.execute(
                    "UPDATE custom_entries SET data = ?, resource_version = resource_version + 1,"
                    " updated_at = ? WHERE id = ?",
                    (text, stamp, entry_id),
                )
            row = conn.execute("SELECT * FROM custom_entries WHERE id = ?", (entry_id,))
            return api, fields, self._entry(row.fetchone()), create

    @staticmethod
    def _new_entry_id(data: Mapping[str, Any], key: str | None, slug_field: Record | None) -> str:
        if key is not None and is_uuid(key):
            return key  # an upsert by id creates that id
        if key is not None and slug_field is None:
            raise bad_request(f"{key!r} is not an entry id (a UUID)")
        return str(uuid.uuid4())

    def _check_unique(
        self,
        conn: sqlite3.Connection,
        api_id: str,
        fields: Sequence[Record],
        values: Mapping[str, Any],
        entry_id: str,
    ) -> None:
        """SPEC StringCustomField.unique: no two entries of the API share the value."""
        for field in fields:
            value = values.get(field["id"])
            string_rules = field["validation"].get("string") or {}
            if value is None or string_rules.get("unique") != "yes":
                continue
            if string_rules.get("unique_case_insensitivity"):
                clause = "casefold(json_extract(data, ?)) = casefold(?)"
            else:
                clause = "json_extract(data, ?) = ?"
            row = conn.execute(
                f"SELECT 1 FROM custom_entries WHERE api_id = ? AND id != ? AND {clause}",
                (api_id, entry_id, json_path(field["id"]), value),
            ).fetchone()
            if row is not None:
                raise conflict(f"custom_api_entry with the given {field['slug']} already exists")

    def delete_entry(self, api_key: str, key: str, *, by_slug: bool, if_match: str | None) -> None:
        with self.storage.transaction(write=True) as conn:
            _, _, entry = self._existing_entry(conn, api_key, key, by_slug=by_slug)
            if if_match is not None:
                check_if_match(if_match, entry)
            conn.execute("DELETE FROM custom_entries WHERE id = ?", (entry["id"],))


def check_if_match(header: str, entry: Mapping[str, Any]) -> None:
    """SPEC IfMatch: the value must be W/"<etag_id>" (a strong form and `*` also match)."""
    current = f'W/"{entry["etag_id"]}"'
    candidates = [part.strip() for part in header.split(",")]
    for candidate in candidates:
        if candidate == "*" or candidate.removeprefix("W/") == current.removeprefix("W/"):
            return
    raise PreconditionFailed(
        f"The provided ETag '{header}', does not match the current ETag '{current}'."
    )


def entry_values(
    fields: Sequence[Record],
    data: Mapping[str, Any],
    current: Record | None,
    *,
    create: bool,
) -> dict[str, Any]:
    """The body's values by field id, checked against the fields (400 naming each problem).

    On create a field left out counts as null (so `allow_null_values: false` needs a value);
    on update only the keys sent are checked, and an `immutable` field keeps its value.
    """
    by_slug = {field["slug"]: field for field in fields}
    unknown = sorted(k for k in data if k not in by_slug and k not in ("type", "id"))
    violations = [
        Violation(
            (key,),
            "is not a field of this Custom API",
            ", ".join(sorted(by_slug)),
            "unknown_attribute",
        )
        for key in unknown
    ]
    values: dict[str, Any] = {}
    for field in fields:
        slug, field_type = field["slug"], field["field_type"]
        field_rules = field["validation"][field_type]
        if slug not in data:
            if create and field_rules.get("allow_null_values", True) is False:
                violations.append(
                    Violation((slug,), "is required: null is not allowed", "", "value_null")
                )
            continue
        value = data[slug]
        violations += [
            v.at(slug) for v in rules.entry_value_violations(field_type, field_rules, value)
        ]
        url_slug = field["use_as_url_slug"] and isinstance(value, str)
        if url_slug and not rules.is_url_slug_value(value):
            violations.append(
                Violation(
                    (slug,),
                    f"{describe(value)} is used in URLs",
                    "only letters, digits, -, ., _ and ~",
                    "url_slug_value",
                )
            )
        before = None if current is None else current["values"].get(field["id"])
        if current is not None and field_rules.get("immutable") and before != value:
            violations.append(
                Violation(
                    (slug,), "is immutable: it is set when the entry is created", "", "immutable"
                )
            )
        values[field["id"]] = value
    if violations:
        raise invalid(violations)
    return values
