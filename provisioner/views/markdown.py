"""The Markdown view of a plan: a pull-request comment for the reviewer.

Top to bottom: a title, the summary line, the destructive operations called out (GitHub's
`[!CAUTION]` alert, with the reason each loses data) and then the risky ones (`[!WARNING]`),
then one section per flow with a table (action, object, operation, safety, details) and the
live fields the configuration leaves alone. Values are code spans; table cells escape `|`.

Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence

from provisioner.impact_reasons import impact_line
from provisioner.keys import address_of
from provisioner.model import is_core_flow
from provisioner.plan import Action, Operation, Plan, Safety
from provisioner.printable import escape_controls
from provisioner.views.text import (
    CUSTOM_GROUP,
    abridged,
    format_value,
    group_by_flow,
    shown_attributes,
    verb_noun,
)

TITLE = "### provisioner plan"


def render_markdown(plan: Plan) -> str:
    """The plan as a Markdown document, ending with a newline."""
    parts = [TITLE, f"**{plan.summary()}**"]
    impact = impact_line(plan)  # issue 15: measured, or says it was not
    if impact:
        parts.append(f"*{impact}*")
    parts.extend(_callouts(plan))
    for flow_slug, ops, unmanaged in group_by_flow(plan):
        parts.append(_flow_section(flow_slug, ops, unmanaged))
    if plan.owned_elsewhere:
        addresses = sorted(address_of(key) for key in plan.owned_elsewhere)
        listed = abridged([_code(address) for address in addresses], most=20)
        parts.append(
            f"Owned elsewhere (organization level, left alone by a store-level apply): {listed}"
        )
    return escape_controls("\n\n".join(parts) + "\n", layout=True)  # provisioner.printable


def _callouts(plan: Plan) -> list[str]:
    callouts = []
    destructive = plan.destructive
    if destructive:
        count = _count(len(destructive), "destructive operation")
        lines = [
            "> [!CAUTION]",
            f"> **{count}: data is lost.** `apply` needs `--allow-destructive`.",
        ]
        lines.extend(f"> - {_summary_item(op)}" for op in destructive)
        callouts.append("\n".join(lines))
    risky = [op for op in plan.operations if op.safety is Safety.RISKY]
    if risky:
        lines = ["> [!WARNING]", f"> **{_count(len(risky), 'risky operation')}:**"]
        lines.extend(f"> - {_summary_item(op)}" for op in risky)
        callouts.append("\n".join(lines))
    return callouts


def _summary_item(op: Operation) -> str:
    reasons = "; ".join(_prose(reason) for reason in op.reasons)
    return f"{_code(op.action.value)} {verb_noun(op)} {_code(op.address)}: {reasons}"


def _flow_section(flow_slug: str, ops: Sequence[Operation], unmanaged: Sequence[str]) -> str:
    if flow_slug.startswith(CUSTOM_GROUP):  # issue 14: a Custom API's section
        lines = [f"#### Custom API {_code(flow_slug.removeprefix(CUSTOM_GROUP))}"]
    else:
        core = " (core)" if is_core_flow(flow_slug) else ""
        lines = [f"#### flow {_code(flow_slug)}{core}"]
    if ops:
        lines.append("")
        lines.append("| | object | operation | safety | details |")
        lines.append("|---|---|---|---|---|")
        for op in ops:
            cells = [
                _code(op.action.value),
                _code(op.address),
                verb_noun(op),
                _safety(op.safety),
                "<br>".join(_details(op)),
            ]
            lines.append("| " + " | ".join(_cell(cell) for cell in cells) + " |")
    if unmanaged:
        lines.append("")
        listed = abridged([_code(address) for address in unmanaged], most=20)
        lines.append(f"Unmanaged (not in the configuration, left alone): {listed}")
    return "\n".join(lines)


def _details(op: Operation) -> list[str]:
    if op.action is Action.CREATE:
        details = [
            f"{_code(name)}: {_code(format_value(value))}" for name, value in shown_attributes(op)
        ]
    else:
        details = [
            f"{_code(change.path)}: {_code(format_value(change.before))} → "
            f"{_code(format_value(change.after))}"
            for change in op.changes
        ]
    details.extend(f"*{_prose(reason)}*" for reason in op.reasons)
    return details


def _safety(safety: Safety) -> str:
    if safety is Safety.DESTRUCTIVE:
        return "**destructive**"
    return safety.value


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _code(text: str) -> str:
    """A code span that survives backticks in the text (CommonMark: a longer fence)."""
    fence = "`"
    while fence in text:
        fence += "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


# Reasons quote values from the YAML (enum options, defaults): shown as text, they must not
# add lines (a fake alert or heading), HTML, links or emphasis to the comment. `<` is enough
# to stop HTML, and a `>` inside a line is text (reasons say `old -> new`).
_PROSE_ESCAPES = str.maketrans(
    {
        "\\": "\\\\",
        "*": "\\*",
        "[": "\\[",
        "]": "\\]",
        "<": "&lt;",
        "\n": " ",
        "\r": " ",
    }
)


def _prose(text: str) -> str:
    """A reason as one line of plain text (CommonMark backslash escapes, HTML entities)."""
    return text.translate(_PROSE_ESCAPES)


def _cell(text: str) -> str:
    """Table cells cannot hold `|` or newlines (GitHub Flavored Markdown tables)."""
    return text.replace("|", "\\|").replace("\n", " ")
