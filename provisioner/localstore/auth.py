"""Credentials and access tokens of the local store (epcc-api.md 1, 8.1-8.3).

The accepted client id and secret live in the database: given explicitly (settings, or
`EPCC_CLIENT_ID`/`EPCC_CLIENT_SECRET` read by `serve`) they replace the stored pair; otherwise
a pair is generated on first use (the only write: nothing is written when the stored pair is
already the one to use). Tokens are 40 hex characters (1.2) signed with a key derived from the
secret, carrying their grant and expiry, so that every process serving the same database
accepts them and issuing one writes nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from provisioner.localstore.storage import TOKEN_KEY, Storage

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
    """The store's pair: explicit values win (and are stored), else stored, else generated.

    Read first: a store whose pair is already the one to use is not written to, so a
    read-only database still serves (issue 17.5).
    """
    with storage.transaction(write=False) as conn:
        stored = (
            storage.get_setting(conn, CLIENT_ID_KEY),
            storage.get_setting(conn, CLIENT_SECRET_KEY),
        )
    if (
        stored[0]
        and stored[1]
        and client_id in (None, "", stored[0])
        and client_secret
        in (
            None,
            "",
            stored[1],
        )
    ):
        return Credentials(stored[0], stored[1], False)
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
    """Issues and checks bearer tokens without touching the database (issue 17.5).

    A token is 40 hex characters (1.2) that carry their own expiry and grant: `expires`
    (4 bytes) + grant (1) + nonce (5) + the first 10 bytes of an HMAC-SHA256 over those, keyed
    with the database's signing key (made with the database; a read-only database too old to
    have one falls back to a key derived from the client secret). Every process serving the
    same database accepts the others' tokens, and issuing one needs no write: `plan` and
    `export` work on a store whose database is read-only or whose disk is full.
    """

    def __init__(self, storage: Storage, ttl: int, client_secret: str | None = None) -> None:
        self.storage = storage
        self.ttl = ttl
        self._secret = client_secret
        self._signing_key: bytes | None = None
        self.cache: dict[str, tuple[str, int]] = {}

    def _key(self) -> bytes:
        """The signing key: the database's own (made with it), else one from the secret."""
        if self._signing_key is None:
            with self.storage.transaction(write=False) as conn:
                stored = self.storage.get_setting(conn, TOKEN_KEY)
                if stored is None and self._secret is None:
                    self._secret = self.storage.get_setting(conn, CLIENT_SECRET_KEY) or ""
            seed = stored if stored is not None else f"secret:{self._secret}"
            self._signing_key = hashlib.sha256(
                b"provisioner local store tokens\0" + seed.encode()
            ).digest()
        return self._signing_key

    def issue(self, identifier: str) -> dict[str, object]:
        """1.2: the top-level token response."""
        now = int(time.time())
        expires = min(now + self.ttl, 2**32 - 1)
        payload = (
            expires.to_bytes(4, "big") + bytes([_GRANTS.index(identifier)]) + secrets.token_bytes(5)
        )
        token = (payload + self._mac(payload)).hex()
        self.cache[token] = (identifier, expires)
        return {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": expires - now,
            "expires": expires,
            "identifier": identifier,
        }

    def _mac(self, payload: bytes) -> bytes:
        return hmac.new(self._key(), payload, hashlib.sha256).digest()[:10]

    def grant_of(self, token: str) -> str | None:
        """The grant (`client_credentials`/`implicit`) of a valid, unexpired token, or None."""
        found = self.cache.get(token)
        if found is None:
            found = self._verify(token)
            if found is None:
                return None
            self.cache[token] = found
        identifier, expires = found
        if time.time() >= expires:
            self.cache.pop(token, None)
            return None
        return identifier

    def _verify(self, token: str) -> tuple[str, int] | None:
        if len(token) != 40:
            return None
        try:
            raw = bytes.fromhex(token)
        except ValueError:
            return None
        payload, mac = raw[:10], raw[10:]
        if not hmac.compare_digest(mac, self._mac(payload)) or payload[4] >= len(_GRANTS):
            return None
        return _GRANTS[payload[4]], int.from_bytes(payload[:4], "big")


_GRANTS = ("client_credentials", "implicit")
