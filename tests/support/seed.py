"""YAML documents several tests start from, and `write` to put one on disk."""

from __future__ import annotations

import textwrap
from pathlib import Path

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
