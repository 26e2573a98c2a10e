"""Plans of several environments (`plan --all`, `diff`): a matrix first, then each plan.

Text for people, Markdown for one pull-request comment (one section per environment), JSON
carrying every plan. Pure: renders values, decides nothing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from provisioner.plan import Plan
from provisioner.views.markdown import TITLE, render_markdown
from provisioner.views.text import render_text

COLUMNS = ("create", "update", "replace", "delete")
ENVIRONMENTS_FORMAT_VERSION = 1


@dataclass(frozen=True)
class EnvironmentPlan:
    """One environment's outcome: its plan, or the error that stopped it."""

    name: str
    plan: Plan | None = None
    drifted: bool | None = None
    drift: tuple[str, ...] = ()  # the drifted operations, one line each
    error: str | None = None
    store: str = ""  # the line naming its store
    extra: dict[str, Any] = field(default_factory=dict)


def _drift_word(result: EnvironmentPlan) -> str:
    if result.error is not None or result.plan is None:
        return "-"
    return {True: "drifted", False: "no", None: "unknown"}[result.drifted]


def _row(result: EnvironmentPlan) -> list[str]:
    if result.plan is None:
        return [result.name, *(["-"] * len(COLUMNS)), "-", "error"]
    counts = result.plan.counts()
    status = "in sync" if result.plan.is_empty else "changes"
    return [result.name, *(str(counts[c]) for c in COLUMNS), _drift_word(result), status]


HEADER = ["environment", *COLUMNS, "drift", "status"]


def render_matrix(results: Sequence[EnvironmentPlan]) -> str:
    """The matrix as aligned text columns."""
    rows = [HEADER, *(_row(r) for r in results)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER))]
    lines = []
    for row in rows:
        cells = [
            cell.ljust(widths[i]) if i in (0, len(row) - 2, len(row) - 1) else cell.rjust(widths[i])
            for i, cell in enumerate(row)
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines) + "\n"


def render_all_text(results: Sequence[EnvironmentPlan], color: bool = False) -> str:
    parts = [render_matrix(results)]
    for result in results:
        parts.append(f"== {result.name} ==")
        if result.plan is None:
            parts.append(f"Error: {result.error}\n")
            continue
        text = render_text(result.plan, color=color)
        parts.append(text if text.endswith("\n") else text + "\n")
        if result.drift:
            lines = "\n".join(f"  {line}" for line in result.drift)
            parts.append(f"Drift (live changes no file asked for):\n{lines}\n")
    return "\n".join(parts)


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|")


def render_all_markdown(results: Sequence[EnvironmentPlan], title: str = "provisioner plan") -> str:
    """One pull-request comment: the matrix as a table, then a section per environment."""
    changed = sum(1 for r in results if r.plan is not None and not r.plan.is_empty)
    count = len(results)
    lines = [
        f"### {title}: {count} environment{'s' if count != 1 else ''}",
        "",
        f"**{changed} of {count} with changes"
        + (
            f", {sum(1 for r in results if r.drifted)} drifted"
            if any(r.drifted for r in results)
            else ""
        )
        + (
            f", {sum(1 for r in results if r.error)} failed"
            if any(r.error for r in results)
            else ""
        )
        + ".**",
        "",
        "| " + " | ".join(HEADER) + " |",
        "|" + "---|" * len(HEADER),
    ]
    for result in results:
        row = _row(result)
        row[0] = f"`{row[0]}`"
        lines.append("| " + " | ".join(_md_cell(cell) for cell in row) + " |")
    for result in results:
        lines += ["", f"### environment `{result.name}`", ""]
        if result.plan is None:
            lines.append(f"> [!CAUTION]\n> **Error:** {_md_cell(result.error or '')}")
            continue
        body = render_markdown(result.plan)
        if body.startswith(TITLE):
            body = body[len(TITLE) :].lstrip("\n")
        lines.append(body.rstrip("\n"))
        if result.drift:
            lines += ["", "> [!WARNING]", "> **Drift: live changes no file asked for:**"]
            lines += [f"> - `{line}`" for line in result.drift]
    return "\n".join(lines) + "\n"


def to_dict(results: Sequence[EnvironmentPlan]) -> dict[str, Any]:
    return {
        "format_version": ENVIRONMENTS_FORMAT_VERSION,
        "changes": any(r.plan is not None and not r.plan.is_empty for r in results),
        "drifted": [r.name for r in results if r.drifted],
        "environments": [
            {
                "environment": r.name,
                "plan": r.plan.to_dict() if r.plan is not None else None,
                "drifted": r.drifted,
                "drift": list(r.drift),
                "error": r.error,
                **r.extra,
            }
            for r in results
        ],
    }


def render_all_json(results: Sequence[EnvironmentPlan]) -> str:
    return json.dumps(to_dict(results), indent=2, ensure_ascii=False) + "\n"
