"""Attribute differences: two canonical attribute dicts -> our own `AttributeChange`s.

The planner compares a desired object with the live one it continues in their canonical form
(normalize.py); most compared objects are in sync, which JSON text tells at a fraction of
deepdiff's cost. For those that differ, deepdiff's report is translated into
`AttributeChange(path, before, after)` (design.md practice 2), with paths like `name` or
`validation_rules[0].options.to`. Pure: no I/O; deepdiff is imported on first use only, so
`validate` never loads it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from provisioner.operations import AttributeChange  # (plan.py re-exports it)


def attribute_changes(
    before: Mapping[str, Any], after: Mapping[str, Any], order: Sequence[str]
) -> tuple[AttributeChange, ...]:
    """The differences of two canonical attribute dicts, as our own `AttributeChange`s.

    Paths look like `name`, `validation_rules[0].options.to`. A change inside a list of plain
    values (enum options) is reported on the whole list, which reads better than indices.
    Validation rules are matched by type (a field holds at most one rule of each type, 4.5),
    so rules in another order are no change, and a changed rule shows alone, at its index in
    the desired list (a removed one at its live index).
    """
    if _identical(before, after) or _canonical_json(before) == _canonical_json(after):
        # Most compared objects are in sync. Equal values of the same types (so 1, 1.0 and
        # true stay apart, as DeepDiff keeps them) are told at a fraction of JSON's cost, and
        # JSON text at a fraction of DeepDiff's (10,000 fields: BENCHMARKS.md, planner).
        return ()
    keyed_before, keyed_after = _rules_by_type(before), _rules_by_type(after)
    if keyed_before is not None and keyed_after is not None:
        old = {**before, RULES: keyed_before}
        new = {**after, RULES: keyed_after}
    else:  # a duplicated rule type (never from valid files): compare the lists as they are
        old, new = dict(before), dict(after)
    from deepdiff import DeepDiff  # only for objects that differ: `validate` never needs it

    diff = DeepDiff(old, new, view="tree")
    found: set[tuple[Any, ...]] = set()
    for report in diff.values():
        for level in report:
            path = tuple(level.path(output_format="list"))
            found.add(_collapse(path, old, new))
    rank = {name: index for index, name in enumerate(order)}
    shown = sorted(
        ((_indexed(p, before, after), p) for p in found),
        key=lambda item: (rank.get(str(item[0][0]), len(rank)), _sort_key(item[0])),
    )
    return tuple(
        AttributeChange(_format_path(display), _lookup(old, p), _lookup(new, p))
        for display, p in shown
    )


RULES = "validation_rules"


def _rules_by_type(attributes: Mapping[str, Any]) -> dict[str, Any] | None:
    """`validation_rules` keyed by rule type; None when a type repeats or a rule has none."""
    rules = attributes.get(RULES)
    if not isinstance(rules, list):
        return None
    keyed: dict[str, Any] = {}
    for rule in rules:
        kind = rule.get("type") if isinstance(rule, Mapping) else None
        if not isinstance(kind, str) or kind in keyed:
            return None
        keyed[kind] = rule
    return keyed


def _indexed(
    path: tuple[Any, ...], before: Mapping[str, Any], after: Mapping[str, Any]
) -> tuple[Any, ...]:
    """A path into type-keyed rules as the index of that rule in the desired list (or, for a
    rule the desired list no longer has, in the live list)."""
    if len(path) < 2 or path[0] != RULES or not isinstance(path[1], str):
        return path
    for side in (after, before):
        rules = side.get(RULES)
        if isinstance(rules, list):
            for index, rule in enumerate(rules):
                if isinstance(rule, Mapping) and rule.get("type") == path[1]:
                    return (RULES, index, *path[2:])
    return path


def _identical(a: Any, b: Any) -> bool:
    """Equal, with the same types all the way down (dicts in any key order): then their
    canonical JSON texts are equal too (but for `0.0` and `-0.0`, which DeepDiff calls
    equal as well), so no change is reported either way."""
    return bool(a == b) and _same_types(a, b)


def _same_types(a: Any, b: Any) -> bool:
    """For two equal values: the same type at every place (`1`, `1.0` and `True` are equal in
    Python, not in the API). Scalars are checked in the loops, containers recursively."""
    kind = type(a)
    if kind is not type(b):
        return False
    if kind is dict:
        for key, value in a.items():
            other = b[key]  # equal dicts: the same keys
            inner = type(value)
            if inner is not type(other):
                return False
            if (inner is dict or inner is list) and not _same_types(value, other):
                return False
    elif kind is list:
        for value, other in zip(a, b, strict=True):
            inner = type(value)
            if inner is not type(other):
                return False
            if (inner is dict or inner is list) and not _same_types(value, other):
                return False
    return True


def _canonical_json(value: Mapping[str, Any]) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


_MISSING = object()


def _lookup(value: Any, path: Sequence[Any]) -> Any:
    """The value at `path`, or None where it does not exist (an added or removed item)."""
    found = _find(value, path)
    return None if found is _MISSING else found


def _find(value: Any, path: Sequence[Any]) -> Any:
    for step in path:
        in_mapping = isinstance(value, Mapping) and step in value
        in_list = isinstance(value, list) and isinstance(step, int) and 0 <= step < len(value)
        if not (in_mapping or in_list):
            return _MISSING
        value = value[step]
    return value


def _collapse(path: tuple[Any, ...], before: Any, after: Any) -> tuple[Any, ...]:
    """Cut `path` at the first list it enters that holds only plain values on both sides."""
    for depth in range(1, len(path)):
        prefix = path[:depth]
        sides = [_find(side, prefix) for side in (before, after)]
        lists = [side for side in sides if side is not _MISSING]
        if lists and all(
            isinstance(side, list) and all(_is_scalar(v) for v in side) for side in lists
        ):
            return prefix
    return path


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, Mapping | list | tuple)


def _format_path(path: Sequence[Any]) -> str:
    text = ""
    for step in path:
        if isinstance(step, int):
            text += f"[{step}]"
        else:
            text += f".{step}" if text else str(step)
    return text


def _sort_key(path: Sequence[Any]) -> tuple[tuple[int, Any], ...]:
    return tuple((0, step) if isinstance(step, int) else (1, str(step)) for step in path)
