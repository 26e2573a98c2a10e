"""YAML documents several tests start from, and `write` to put one on disk."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

# The customers flow extended with one string field: the smallest schema that plans a change.
CUSTOMERS = """\
flows:
  customers:
    name: Customers
    fields:
      nickname:
        name: Nickname
        field_type: string
"""

# A Custom API with one string field (issue 14).
WISHLISTS = """\
custom_apis:
  wishlists:
    name: Wishlists
    api_type: wishlist_ext
    fields:
      title: {name: Title, field_type: string}
"""

# An environments project's shared schema and dev's overlay (issue 13).
SHARED = """\
flows:
  customers:
    name: Customers
    fields:
      nickname:
        name: Nickname
        field_type: string
      speed:
        name: Speed
        field_type: string
        validation_rules:
          - type: enum
            options: [fast, slow]
"""

DEV_OVERLAY = """\
flows:
  customers:
    fields:
      speed:
        validation_rules:
          - type: enum
            options: [fast, slow, debug]
  debug_log:
    name: Debug log
    fields:
      line:
        name: Line
        field_type: string
"""


def write(path: Path, text: str) -> Path:
    """Write `text` (dedented) to `path`, creating its directories; return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def staging_production_project(
    root: Path,
    staging: Any,
    production: Any,
    *,
    paths: str = "flows/",
    dev: str | None = None,
    staging_after: str | None = None,
    keys: tuple[str, str] = ("ID", "SECRET"),
) -> dict[str, str]:
    """Write `root/provisioner.toml`: staging and production (production after staging) served
    by two local stores, and a `dev` environment (embedded; `dev` is its section's body) if
    given. Returns the variables that hold the stores' credentials (`STAGING_<key>`, ...)."""
    sections = [f'paths = ["{paths}"]\n']
    if dev is not None:
        sections.append(f"[environments.dev]\n{dev}")
    names = {}
    for env, prefix, store, after in (
        ("staging", "STAGING", staging, staging_after),
        ("production", "PROD", production, "staging"),
    ):
        id_name, secret_name = (f"{prefix}_{key}" for key in keys)
        names[id_name], names[secret_name] = store.client_id, store.client_secret
        sections.append(
            f"[environments.{env}]\n"
            f'base_url = "{store.base_url}"\n'
            f'client_id_env = "{id_name}"\n'
            f'client_secret_env = "{secret_name}"\n'
            "rate_limit = 1000\n" + (f'after = ["{after}"]\n' if after else "")
        )
    write(root / "provisioner.toml", "\n".join(sections))
    return names
