"""How risky an update is: safe, or risky with short reasons a reviewer can read.

Creates, deletes and replaces are classed where the planner makes them; updates of matched
flows and fields are classed here from their canonical attributes (before, after). Pure: no
I/O.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from provisioner.plan import Safety


def classify_flow_update(
    before: Mapping[str, Any], after: Mapping[str, Any]
) -> tuple[Safety, tuple[str, ...]]:
    """Disabling a flow is risky; names and descriptions are cosmetic."""
    if before.get("enabled") and not after.get("enabled"):
        return Safety.RISKY, ("flow is disabled",)
    return Safety.SAFE, ()


def classify_field_update(
    before: Mapping[str, Any], after: Mapping[str, Any]
) -> tuple[Safety, tuple[str, ...]]:
    """Risky: becoming required, disabling, a new default, narrower or new rules, a new
    relationship target, hiding nulls. The rest (name, description, order, unique, loosening)
    is safe."""
    reasons: list[str] = []
    if after["required"] and not before["required"]:
        reasons.append("becomes required: creating objects without it fails")
    if before["enabled"] and not after["enabled"]:
        reasons.append("field is disabled: its values are no longer applied or returned")
    if before["default"] != after["default"]:
        reasons.append(f"default changes: {_show(before['default'])} -> {_show(after['default'])}")
    if after["omit_null"] and not before["omit_null"]:
        reasons.append("omit_null: null values disappear from responses")
    reasons.extend(_rule_reasons(before["validation_rules"], after["validation_rules"]))
    return (Safety.RISKY if reasons else Safety.SAFE), tuple(reasons)


def _rule_reasons(before: Sequence[Any], after: Sequence[Any]) -> list[str]:
    """Rules are matched by type (4.5 allows one of each in practice)."""
    old = {str(rule.get("type")): rule for rule in before if isinstance(rule, Mapping)}
    reasons: list[str] = []
    for rule in after:
        if not isinstance(rule, Mapping):
            continue
        kind = str(rule.get("type"))
        previous = old.get(kind)
        if previous is None:
            target = f" to {rule['to']}" if "to" in rule else ""
            reasons.append(f"adds a validation rule: {kind}{target}")
        elif kind == "enum":
            reasons.extend(_enum_reasons(previous.get("options"), rule.get("options")))
        elif kind == "between":
            reasons.extend(_range_reasons(previous.get("options"), rule.get("options")))
        elif previous.get("to") != rule.get("to"):
            reasons.append(f"relationship target changes: {previous.get('to')} -> {rule.get('to')}")
    return reasons


def _enum_reasons(before: Any, after: Any) -> list[str]:
    if not isinstance(before, list) or not isinstance(after, list):
        return [] if before == after else ["enum options change"]
    lost = [value for value in before if value not in after]
    if not lost:
        return []
    return ["enum loses options: " + ", ".join(_show_plain(value) for value in lost)]


def _range_reasons(before: Any, after: Any) -> list[str]:
    if not isinstance(before, Mapping) or not isinstance(after, Mapping):
        return [] if before == after else ["range changes"]
    low_before, high_before = before.get("from"), before.get("to")
    low_after, high_after = after.get("from"), after.get("to")
    if _raises(low_before, low_after) or _raises(high_after, high_before):
        old = f"{_show_plain(low_before)}..{_show_plain(high_before)}"
        new = f"{_show_plain(low_after)}..{_show_plain(high_after)}"
        return [f"range narrows: {old} -> {new}"]
    return []


def _raises(low: Any, high: Any) -> bool:
    """True when `high` is a stricter lower bound than `low` (None means unbounded)."""
    if high is None:
        return False
    if low is None:
        return True
    try:
        return bool(high > low)
    except TypeError:
        return bool(low != high)


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _show_plain(value: Any) -> str:
    return "null" if value is None else str(value)
