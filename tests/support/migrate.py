"""A flow with one field to migrate, its entries, over real HTTP (issue 15 follow-up tests)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from support import Cli
from support.store import LocalStore

START = """flows:
  wishlists:
    name: Wishlists
    fields:
      rating: {name: Rating, field_type: %s}
      note: {name: Note, field_type: string}
"""
VALUES = [5, None, -2, 7, 0, 12]


def setup(
    tmp_path: Path, cli: Cli, store: LocalStore, api: httpx.Client, from_type: str, to_type: str
) -> tuple[Path, list[str]]:
    """The flow with `rating` of `from_type`, one entry per value; the desired file."""
    start = tmp_path / "start.yaml"
    start.write_text(START % from_type)
    assert cli("apply", start, "--auto-approve", env=store.env()).code == 0
    ids = []
    for value in VALUES:
        data = {"type": "entry", "note": "n", **({} if value is None else {"rating": value})}
        if from_type == "string" and value is not None:
            data["rating"] = str(value)
        response = api.post("/v2/flows/wishlists/entries", json={"data": data})
        assert response.status_code == 201, response.text
        ids.append(response.json()["data"]["id"])
    desired = tmp_path / "desired.yaml"
    desired.write_text(START % to_type)
    store.reset_stats()
    return desired, ids


def entries(api: httpx.Client) -> dict[str, dict[str, Any]]:
    data = api.get("/v2/flows/wishlists/entries").json()["data"]
    return {entry["id"]: entry for entry in data}


def fields(api: httpx.Client) -> dict[str, dict[str, Any]]:
    return {f["slug"]: f for f in api.get("/v2/flows/wishlists/fields").json()["data"]}
