"""The JSON view of a plan: `Plan.to_json()`, the versioned format documented in README.md.

The same text is what `plan --out` saves and `apply plan.json` reads back. Pure: no I/O.
"""

from __future__ import annotations

from provisioner.plan import Plan


def render_json(plan: Plan) -> str:
    """The plan as JSON text (`format_version` 1), ending with a newline."""
    return plan.to_json()
