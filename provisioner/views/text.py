"""The text view of a plan, for people at a terminal or reading CI logs.

One block per flow (sorted by slug), each operation on a line that starts with its action
symbol (`+` create, `~` update, `~>` rename, `-/+` replace, `-` delete) and ends with its safety
class, then one line per attribute (`old -> new`) and the reasons for the class (`# ...`);
then the live fields the configuration leaves alone (unmanaged), and the summary line
(`Plan.summary()`). Colours are ANSI codes, only when `color=True` (the CLI decides from the
terminal and `NO_COLOR`).

The bodies are a dispatch table keyed by the operation's action (design.md practice 4). The
value helpers here are shared with the Markdown view. Pure: no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from provisioner.custom_api_model import shown_custom_attributes
from provisioner.impact_reasons import impact_line
from provisioner.keys import CUSTOM_FIELD, ObjectKey, address_of
from provisioner.model import FIELD_DEFAULTS, FLOW_DEFAULTS, is_core_flow
from provisioner.plan import Action, Operation, Plan, Safety
from provisioner.printable import escape_controls

# ANSI SGR codes (no rich: this module is pure).
_RESET = "\033[0m"
_ACTION_COLOURS = {
    Action.CREATE: "\033[32m",  # green
    Action.UPDATE: "\033[33m",  # yellow
    Action.RENAME: "\033[36m",  # cyan
    Action.REPLACE: "\033[35m",  # magenta
    Action.DELETE: "\033[31m",  # red
}
_SAFETY_COLOURS = {
    Safety.SAFE: "\033[32m",
    Safety.RISKY: "\033[33m",
    Safety.DESTRUCTIVE: "\033[1;31m",  # bold red
}
_DIM = "\033[2m"
_BOLD = "\033[1m"


def render_text(plan: Plan, color: bool = False) -> str:
    """The plan as text, ending with the summary line and a newline."""
    paint = _painter(color)
    blocks = [
        _flow_block(flow_slug, ops, unmanaged, paint)
        for flow_slug, ops, unmanaged in group_by_flow(plan)
    ]
    owned = owned_elsewhere_line(plan)
    if owned:
        blocks.append(paint(_DIM, owned))
    impact = impact_line(plan)  # issue 15: measured, or says it was not
    if impact:
        blocks.append(paint(_DIM, impact))
    summary = paint(_BOLD, plan.summary())
    # Bidirectional controls anywhere in the plan are escaped (`provisioner.printable`, the
    # escaping diagnostics use too); the values were JSON-escaped already (C0 controls).
    return escape_controls("\n\n".join([*blocks, summary]) + "\n", layout=True)


def owned_elsewhere_line(plan: Plan) -> str:
    """The organization-owned objects the plan leaves alone, on one line ('' when none)."""
    if not plan.owned_elsewhere:
        return ""
    addresses = sorted(address_of(key) for key in plan.owned_elsewhere)
    return (
        f"owned elsewhere (organization level, left alone by a store-level apply): "
        f"{abridged(addresses)}"
    )


# -- shared with the Markdown view ------------------------------------------------------------


CUSTOM_GROUP = "custom_api:"


def group_by_flow(plan: Plan) -> list[tuple[str, list[Operation], list[str]]]:
    """(flow slug, its operations in plan order, its unmanaged field addresses), by slug; then
    the Custom APIs the same way, each group named `custom_api:SLUG` (issue 14)."""
    ops: dict[str, list[Operation]] = {}
    unmanaged: dict[str, list[str]] = {}
    for op in plan.operations:
        group = f"{CUSTOM_GROUP}{op.flow_slug}" if op.kind.custom else op.flow_slug
        ops.setdefault(group, []).append(op)
    for key in plan.unmanaged:
        parsed = ObjectKey.parse(key)
        group = parsed.flow_slug
        if parsed.kind == CUSTOM_FIELD:
            group = f"{CUSTOM_GROUP}{group}"
        unmanaged.setdefault(group, []).append(parsed.address)
    slugs = sorted(set(ops) | set(unmanaged), key=lambda g: (g.startswith(CUSTOM_GROUP), g))
    return [(slug, ops.get(slug, []), unmanaged.get(slug, [])) for slug in slugs]


def verb_noun(op: Operation) -> str:
    """`create field`, `delete flow`, `create custom field`, ... (the kind in words)."""
    return op.kind.value.replace("_", " ").replace("custom api", "Custom API")


def format_value(value: Any) -> str:
    """A value as JSON: `"text"`, `true`, `null`, `["a", "b"]`."""
    return json.dumps(value, ensure_ascii=False, sort_keys=False)


def shown_attributes(op: Operation) -> list[tuple[str, Any]]:
    """The attributes a create shows: name and field_type always, the rest when not default."""
    after = op.after or {}
    if op.kind.custom:
        return shown_custom_attributes(op.field_slug is None, after)
    # A create shows only the attributes that differ from the API default (4.3).
    defaults = FLOW_DEFAULTS if op.field_slug is None else FIELD_DEFAULTS
    return [
        (name, value)
        for name, value in after.items()
        if name not in defaults or value != defaults[name]
    ]


def flow_title(flow_slug: str) -> str:
    if flow_slug.startswith(CUSTOM_GROUP):
        return f"Custom API {flow_slug.removeprefix(CUSTOM_GROUP)}"
    return f"flow {flow_slug}" + (" (core)" if is_core_flow(flow_slug) else "")


# -- blocks -----------------------------------------------------------------------------------

_Paint = Callable[[str, str], str]


def _painter(color: bool) -> _Paint:
    if not color:
        return lambda _code, text: text
    return lambda code, text: f"{code}{text}{_RESET}"


def _flow_block(
    flow_slug: str, ops: Sequence[Operation], unmanaged: Sequence[str], paint: _Paint
) -> str:
    lines = [paint(_BOLD, flow_title(flow_slug) + ":")]
    for op in ops:
        lines.extend(_operation_lines(op, paint))
    if len(unmanaged) <= UNMANAGED_LISTED:
        for address in unmanaged:
            lines.append(
                paint(_DIM, f"  unmanaged {address} (not in the configuration, left alone)")
            )
    else:
        # A store adopted flow by flow can hold dozens: one line, not one per field.
        lines.append(
            paint(
                _DIM,
                f"  unmanaged: {len(unmanaged)} fields not in the configuration, left alone: "
                f"{abridged(unmanaged)}",
            )
        )
    return "\n".join(lines)


UNMANAGED_LISTED = 5


def abridged(addresses: Sequence[str], most: int = UNMANAGED_LISTED) -> str:
    """`a, b, c, ... and 7 more`: a long list of names kept to one readable line."""
    shown = ", ".join(addresses[:most])
    rest = len(addresses) - most
    return f"{shown} and {rest} more" if rest > 0 else shown


def _operation_lines(op: Operation, paint: _Paint) -> list[str]:
    symbol = op.action.value
    head = paint(_ACTION_COLOURS[op.action], f"  {symbol} {verb_noun(op)} {op.address}")
    tag = paint(_SAFETY_COLOURS[op.safety], f"[{op.safety.value}]")
    lines = [f"{head}  {tag}"]
    lines.extend(f"      {line}" for line in _BODIES[op.action](op))
    lines.extend(paint(_DIM, f"      # {_one_line(reason)}") for reason in op.reasons)
    return lines


def _one_line(text: str) -> str:
    """Reasons quote YAML values: control characters (new lines, terminal escapes) are shown
    escaped, so a value cannot fake a line of the plan or drive the terminal."""
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)


def _create_body(op: Operation) -> list[str]:
    return [f"{name}: {format_value(value)}" for name, value in shown_attributes(op)]


def _change_body(op: Operation) -> list[str]:
    return [
        f"{change.path}: {format_value(change.before)} -> {format_value(change.after)}"
        for change in op.changes
    ]


def _delete_body(op: Operation) -> list[str]:
    return []


_BODIES: Mapping[Action, Callable[[Operation], list[str]]] = {
    Action.CREATE: _create_body,
    Action.UPDATE: _change_body,
    Action.RENAME: _change_body,
    Action.REPLACE: _change_body,
    Action.DELETE: _delete_body,
}
