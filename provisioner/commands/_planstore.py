"""Which store a saved plan belongs to (issue 10 follow-up): `plan --out` records it, `apply`
refuses the plan against another store before any request. The embedded database's absolute
path, or the redacted URL and a digest of the client id (stores of one region share their URL;
the id itself is never written, nor any secret)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import TYPE_CHECKING

from provisioner.commands._target import Target
from provisioner.errors import TargetError

if TYPE_CHECKING:
    from provisioner.client import Client


def store_identity(target: Target, client: Client | None) -> dict[str, str]:
    """Which store `client` talks to, as a saved plan records it (issue 10 follow-up): the
    embedded database's absolute path, or the redacted URL and a digest of the client id
    (stores of one region share their URL; the id itself is never written). The embedded
    store's needs no client (it is known before the database is opened)."""
    if target.embedded:
        return {"embedded": str(target.db.resolve())}
    assert client is not None
    from provisioner.client import display_url

    digest = hashlib.sha256(client.config.client_id.encode("utf-8")).hexdigest()[:12]
    return {"url": display_url(client.config.base_url), "client_id_sha256": digest}


def describe_store(store: Mapping[str, str]) -> str:
    """A recorded store for people: `the store at URL (client id sha256 ...)`."""
    from provisioner.printable import escape_controls

    if "embedded" in store:
        return escape_controls(f"the embedded local store at {store['embedded']}")
    url = store.get("url", "an unknown URL")
    client = store.get("client_id_sha256")
    return escape_controls(
        f"the store at {url}" + (f" (client id sha256 {client})" if client else "")
    )


def check_same_store(recorded: Mapping[str, str] | None, here: Mapping[str, str]) -> None:
    """Refuse a saved plan made against another store than the one about to be written to."""
    if recorded is None or dict(recorded) == dict(here):
        return
    raise TargetError(
        f"the saved plan was made against {describe_store(recorded)}, but this apply would "
        f"write to {describe_store(here)}: apply it against the store it was planned for "
        "(the same --env, or the same EPCC_* variables), or plan again. Nothing was read or "
        "applied."
    )
