"""A field's `validation_rules` (4.5): each rule's type, keys, options and target."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from provisioner.epcc import RuleType
from provisioner.epcc import flows as api
from provisioner.rules.values import is_date_text, is_number, is_real_date, of_type, same
from provisioner.rules.violation import PathKey, Violation
from provisioner.rules.wording import article, describe, one_of, quote, suggest, type_words


def rule_list_violations(
    field_type: str,
    raw_rules: Any,
    flows: Mapping[str, bool] | None,
    *,
    undeclared_flows_ok: bool = False,
) -> tuple[list[Violation], list[Mapping[str, Any]]]:
    """The rules of a field of `field_type` (4.5); also returns the rule objects that have a
    string type (what a default is checked against).

    `undeclared_flows_ok` (files, checked offline): a relationship target that is not in
    `flows` may be a flow of the live store, so it is no violation unless it looks like a
    misspelling of a known target; `plan` checks it against the store."""
    if raw_rules is None:
        raw_rules = []
    if not isinstance(raw_rules, list):
        return [
            Violation(
                ("validation_rules",), f"got {describe(raw_rules)}", "a list", "rules_not_a_list"
            )
        ], []
    found: list[Violation] = []
    rules: list[Mapping[str, Any]] = []
    seen: set[str] = set()
    relationship_rules = 0
    for index, rule in enumerate(raw_rules):
        path: PathKey = ("validation_rules", index)
        kind = _rule_type(path, rule, found)
        if kind is None:
            continue
        if kind in seen:
            found.append(
                Violation(
                    (*path, "type"),
                    f"a second `{kind}` rule",
                    "each rule type once per field",
                    "rule_repeated",
                )
            )
        seen.add(kind)
        rules.append(rule)
        facts = _applicable(field_type, path, kind, found)
        if facts is None:
            continue
        found += _rule_violations(field_type, path, rule, facts)
        if facts.target:
            relationship_rules += 1
            if relationship_rules == 2:
                found.append(
                    Violation(
                        (*path, "type"),
                        "a second relationship rule",
                        "one one-to-one or one-to-many rule",
                        "relationship_rule_repeated",
                    )
                )
            found += _target_violations((*path, "to"), rule.get("to"), flows, undeclared_flows_ok)
    if field_type == "relationship" and relationship_rules == 0:
        found.append(
            Violation(
                ("validation_rules",),
                "a relationship field needs a one-to-one or one-to-many rule",
                "a rule such as {type: one-to-many, to: product}",
                "relationship_rule_missing",
            )
        )
    return found, rules


def _rule_type(path: PathKey, rule: Any, found: list[Violation]) -> str | None:
    """The type of the rule object `rule`; None (and the violation in `found`) when `rule` is
    not an object or its type not a string."""
    if not isinstance(rule, dict):
        found.append(
            Violation(path, f"got {describe(rule)}", "a rule object", "rule_not_an_object")
        )
        return None
    kind = rule.get("type")
    if not isinstance(kind, str):
        found.append(
            Violation(
                (*path, "type"),
                "required key is missing" if kind is None else f"got {describe(kind)}",
                "a rule type",
                "rule_type_unknown",
            )
        )
        return None
    return kind


def _applicable(
    field_type: str, path: PathKey, kind: str, found: list[Violation]
) -> RuleType | None:
    """The facts of the rule type `kind` when it applies to `field_type` fields; None (and
    the violation in `found`) when it is unknown or does not apply."""
    facts = api.RULE_TYPES.get(kind)
    allowed = api.FIELD_TYPES_TABLE[field_type].rules
    if facts is not None and kind in allowed:
        return facts
    what = (
        f"unknown rule type {quote(kind)}"
        if facts is None
        else f"the `{kind}` rule does not apply to {field_type} fields"
    )
    code = "rule_type_unknown" if facts is None else "rule_not_for_field_type"
    found.append(Violation((*path, "type"), what, one_of(allowed) if allowed else "no rules", code))
    return None


def _rule_violations(
    field_type: str, path: PathKey, rule: Mapping[str, Any], facts: RuleType
) -> list[Violation]:
    """A rule's keys and options, its type known to apply."""
    found = [
        Violation(
            (*path, key),
            f"unknown key `{key}`",
            f"only {', '.join(facts.keys)} in the `{facts.name}` rule",
            "rule_key_unknown",
        )
        for key in rule
        if key not in facts.keys
    ]
    if facts.options is None:
        return found
    where = (*path, "options")
    options = rule.get("options")
    if options is None:
        found.append(
            Violation(where, "required key is missing", "the rule's options", "options_missing")
        )
    elif facts.options == "values":
        found += _values_violations(field_type, where, options)
    elif facts.options == "range":
        found += _range_violations(field_type, where, options)
    return found


def _values_violations(field_type: str, where: PathKey, options: Any) -> list[Violation]:
    """`enum` options (at `where`, given): a non-empty list of distinct values of the field's
    type (4.5)."""
    if not isinstance(options, list):
        return [Violation(where, f"got {describe(options)}", "a list", "options_shape")]
    if not options:
        return [Violation(where, "no options", "at least one option", "options_empty")]
    found: list[Violation] = []
    json_types = api.FIELD_TYPES_TABLE[field_type].json_types
    for index, option in enumerate(options):
        at = (*where, index)
        if not of_type(option, field_type):
            found.append(
                Violation(
                    at,
                    f"got {describe(option)}",
                    f"{type_words(json_types)} for {article(field_type)} field",
                    "option_type",
                )
            )
        elif field_type == "date" and not is_date_text(option):
            found.append(
                Violation(
                    at,
                    f"{quote(option)} is not a date",
                    "YYYY-MM-DD or YYYY-MM-DD HH:MM:SS",
                    "option_date_format",
                )
            )
        elif field_type == "date" and not is_real_date(option):
            found.append(
                Violation(
                    at,
                    f"{quote(option)} is not a real date",
                    "a valid calendar date",
                    "option_date_real",
                )
            )
    repeated = next(
        (v for i, v in enumerate(options) if any(same(v, w) for w in options[:i])), None
    )
    if repeated is not None:
        found.append(
            Violation(
                where,
                f"{quote(repeated)} is listed more than once",
                "each value once",
                "options_repeated",
            )
        )
    return found


def _range_violations(field_type: str, where: PathKey, options: Any) -> list[Violation]:
    """`between` options (at `where`, given): `{from, to}` of the field's numeric type,
    from <= to (4.5)."""
    if not isinstance(options, dict):
        return [Violation(where, f"got {describe(options)}", "a mapping", "options_shape")]
    found: list[Violation] = []
    json_types = api.FIELD_TYPES_TABLE[field_type].json_types
    for key in ("from", "to"):
        if key not in options:
            found.append(
                Violation((*where, key), "required key is missing", "a number", "options_missing")
            )
        elif not of_type(options[key], field_type):
            found.append(
                Violation(
                    (*where, key),
                    f"got {describe(options[key])}",
                    type_words(json_types),
                    "option_type",
                )
            )
    for key in options:
        if key not in ("from", "to"):
            found.append(
                Violation(
                    (*where, key), f"unknown key `{key}`", "one of from, to", "rule_key_unknown"
                )
            )
    low: Any = options.get("from")
    high: Any = options.get("to")
    if is_number(low) and is_number(high) and low > high:
        found.append(
            Violation(
                where, f"`from` {low} is greater than `to` {high}", "from <= to", "between_order"
            )
        )
    return found


def _target_violations(
    path: PathKey, to: Any, flows: Mapping[str, bool] | None, undeclared_flows_ok: bool = False
) -> list[Violation]:
    """4.5: `to` names a core resource in singular form, or a flow."""
    if not isinstance(to, str) or not to:
        what = "required key is missing" if to is None else f"got {describe(to)}"
        return [Violation(path, what, "a singular core resource or a flow", "target_missing")]
    if flows is None or to in api.CORE_RELATIONSHIP_TARGETS:
        return []
    if to in api.SINGULAR_OF_CORE_FLOW:
        return [
            Violation(
                path,
                f"`{to}` is a core flow: relationships name the resource in singular form",
                f"`{api.SINGULAR_OF_CORE_FLOW[to]}`",
                "target_plural",
            )
        ]
    if to in flows:
        if not flows[to]:
            return [
                Violation(
                    path,
                    f"the flow `{to}` is marked `state: absent`",
                    "a flow that is kept",
                    "target_absent",
                )
            ]
        return []
    hint = suggest(to, sorted(api.CORE_RELATIONSHIP_TARGETS | set(flows)))
    if undeclared_flows_ok and not hint:
        # Possibly a flow of the live store that these files do not declare (issue 10 item
        # 16): not checkable offline; `plan` checks it against the store.
        return []
    return [
        Violation(
            path,
            f"unknown relationship target `{to}`" + hint,
            "a flow declared in these files or a singular core resource: "
            + ", ".join(sorted(api.CORE_RELATIONSHIP_TARGETS)),
            "target_unknown",
        )
    ]
