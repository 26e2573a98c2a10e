"""Credentials and access tokens of the local store (epcc-api.md 1, 8.1-8.3).

The accepted client id and secret live in the database: given explicitly (settings, or
`EPCC_CLIENT_ID`/`EPCC_CLIENT_SECRET` read by `serve`) they replace the stored pair; otherwise
a pair is generated on first use. Tokens are 40 hex characters (1.2), stored with their grant
and expiry so that every process serving the same database accepts them.
"""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from provisioner.localstore.storage import Storage

CLIENT_ID_KEY = "client_id"
CLIENT_SECRET_KEY = "client_secret"


@dataclass(frozen=True)
class Credentials:
    client_id: str
    client_secret: str
    generated: bool  # True when this call created the pair (serve prints it then, once)

    def __repr__(self) -> str:  # the secret never appears in a repr
        return f"Credentials(client_id={self.client_id!r}, generated={self.generated})"


def ensure_credentials(
    storage: Storage, client_id: str | None = None, client_secret: str | None = None
) -> Credentials:
    """The store's pair: explicit values win (and are stored), else stored, else generated."""
    with storage.transaction(write=True) as conn:
        stored_id = storage.get_setting(conn, CLIENT_ID_KEY)
        stored_secret = storage.get_setting(conn, CLIENT_SECRET_KEY)
        new_id = client_id or stored_id or secrets.token_hex(20)
        if client_secret:
            new_secret = client_secret
        elif stored_secret and new_id == stored_id:
            new_secret = stored_secret
        else:
            new_secret = secrets.token_hex(20)
        generated = stored_id is None and not (client_id and client_secret)
        if (new_id, new_secret) != (stored_id, stored_secret):
            storage.set_setting(conn, CLIENT_ID_KEY, new_id)
            storage.set_setting(conn, CLIENT_SECRET_KEY, new_secret)
    return Credentials(new_id, new_secret, generated)


def local_credentials(
    db_path: str | Path, client_id: str | None = None, client_secret: str | None = None
) -> tuple[str, str]:
    """The (client_id, client_secret) a store at `db_path` accepts, creating them if needed."""
    credentials = ensure_credentials(Storage(db_path), client_id, client_secret)
    return credentials.client_id, credentials.client_secret


def same(a: str | None, b: str | None) -> bool:
    """Constant-time comparison of two secrets."""
    if a is None or b is None:
        return False
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


class Tokens:
    """Issues and checks bearer tokens; a memory cache in front of the tokens table."""

    def __init__(self, storage: Storage, ttl: int) -> None:
        self.storage = storage
        self.ttl = ttl
        self.cache: dict[str, tuple[str, int]] = {}

    def issue(self, identifier: str) -> dict[str, object]:
        """1.2: the top-level token response."""
        token = secrets.token_hex(20)
        now = int(time.time())
        expires = now + self.ttl
        with self.storage.transaction(write=True) as conn:
            conn.execute("DELETE FROM tokens WHERE expires <= ?", (now,))
            conn.execute(
                "INSERT INTO tokens (token, identifier, expires) VALUES (?, ?, ?)",
                (token, identifier, expires),
            )
        self.cache[token] = (identifier, expires)
        return {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": self.ttl,
            "expires": expires,
            "identifier": identifier,
        }

    def grant_of(self, token: str) -> str | None:
        """The grant (`client_credentials`/`implicit`) of a valid, unexpired token, or None."""
        found = self.cache.get(token)
        if found is None:
            with self.storage.transaction(write=False) as conn:
                row = conn.execute(
                    "SELECT identifier, expires FROM tokens WHERE token = ?", (token,)
                ).fetchone()
            if row is None:
                return None
            found = (str(row["identifier"]), int(row["expires"]))
            self.cache[token] = found
        identifier, expires = found
        if time.time() >= expires:
            self.cache.pop(token, None)
            return None
        return identifier
