"""Type changes that keep the values (issue 15 item 3): which replaces convert, the conversions,
and the stages of a migration as the store shows them. Pure: no I/O.

`apply --migrate` turns a field replace whose values convert losslessly into a migration:

1. create a temporary field of the new type, slug `<slug>__migrating_to_<type>`;
2. copy every record's value of the old field, converted, into it (records already holding the
   converted value are not written again);
3. read every record back; when each holds its converted value, delete the old field;
4. rename the temporary field to the old slug, with every attribute the files declare.

The state lives in the store alone: the temporary field's slug names the field it replaces
and the type it converts to, so `migration_stage` tells from the flow's fields which step comes
next. Old field of the old type, no temporary field: start. Both: copying (the copy only
writes what is missing, so a run killed half-way continues where it stopped). The temporary
field alone: the copy was complete and checked (the old field is deleted only then): rename.
The field of the new type alone: done. The field of the new type and the temporary field
(someone, or a plain `apply`, created the field again, empty, after the old one was deleted):
merge, the temporary field's values copied into the field where it holds none (a record
holding another value in each is refused, nothing written), read back, then the temporary
field deleted. No value is lost (the old field goes only after every
value was read back from the temporary one) or duplicated (the values live in one field at the
end, and a record holds one value per field).

Conversions (`CONVERSIONS`): integer -> float; integer, float, boolean, date -> string;
string -> date, integer, float, boolean when the text is exactly a value of that type:
`2024-01-31` or `2024-01-31 12:00:00` (a real date), `-42` (no sign `+`, no leading zeros, no
spaces), a decimal number whose float is the same number (`1.10` -> 1.1, but not
`0.1000000000000000055`), `true`/`false`. An integer converts to a float only when the float
is the same number (at most 2**53 in size). Converted values must also satisfy the new field's
rules (enum, between, email, ...), and be distinct when it is `unique`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from provisioner.errors import MigrationError, NotConvertible
from provisioner.printable import escape_controls
from provisioner.rules.values import is_integer, is_number, is_real_date, same, value_violations

TEMP_MARK = "__migrating_to_"
MAX_LISTED = 20  # values that do not convert: the first ones listed, the rest counted

_INTEGER_TEXT = re.compile(r"-?(0|[1-9][0-9]*)")
_DECIMAL_TEXT = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_FLOAT_EXACT = 2**53


def _integer_to_float(value: Any) -> float:
    if not is_integer(value) or abs(value) > _FLOAT_EXACT:
        raise NotConvertible("not an integer a float holds exactly (at most 2**53 in size)")
    return float(value)


def _number_to_string(value: Any) -> str:
    if not is_number(value):
        raise NotConvertible("not a number")
    if is_integer(value):
        return str(value)
    return repr(float(value))


def _boolean_to_string(value: Any) -> str:
    if not isinstance(value, bool):
        raise NotConvertible("not a boolean")
    return "true" if value else "false"


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise NotConvertible("not a string")
    return value


def _date_to_string(value: Any) -> str:
    return _text(value)


def _string_to_date(value: Any) -> str:
    if not is_real_date(_text(value)):
        raise NotConvertible("not a date (YYYY-MM-DD or YYYY-MM-DD HH:MM:SS, a real one)")
    return str(value)


def _string_to_integer(value: Any) -> int:
    if not _INTEGER_TEXT.fullmatch(_text(value)):
        raise NotConvertible("not an integer (digits, an optional `-`, no leading zeros)")
    return int(value)


def _string_to_float(value: Any) -> float:
    text = _text(value)
    if not _DECIMAL_TEXT.fullmatch(text):
        raise NotConvertible("not a decimal number")
    number = float(text)
    try:
        exact = math.isfinite(number) and Decimal(repr(number)) == Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only decimals
        exact = False
    if not exact:
        raise NotConvertible("a float cannot hold this number exactly")
    return number


def _string_to_boolean(value: Any) -> bool:
    text = _text(value)
    if text not in ("true", "false"):
        raise NotConvertible("not `true` or `false`")
    return text == "true"


Converter = Callable[[Any], Any]

CONVERSIONS: Mapping[tuple[str, str], Converter] = {
    ("integer", "float"): _integer_to_float,
    ("integer", "string"): _number_to_string,
    ("float", "string"): _number_to_string,
    ("boolean", "string"): _boolean_to_string,
    ("date", "string"): _date_to_string,
    ("string", "date"): _string_to_date,
    ("string", "integer"): _string_to_integer,
    ("string", "float"): _string_to_float,
    ("string", "boolean"): _string_to_boolean,
}


def convertible(from_type: str, to_type: str) -> bool:
    """A replace `from_type -> to_type` can be a migration."""
    return (from_type, to_type) in CONVERSIONS


def convert(value: Any, from_type: str, to_type: str) -> Any:
    """`value` of a `from_type` field as a `to_type` value; `NotConvertible` says why not."""
    return CONVERSIONS[(from_type, to_type)](value)


# -- the temporary field ------------------------------------------------------------------------


def temp_slug(slug: str, to_type: str) -> str:
    """The temporary field of a migration of `slug` to `to_type`."""
    return f"{slug}{TEMP_MARK}{to_type}"


def parse_temp_slug(slug: str) -> tuple[str, str] | None:
    """(the migrated field's slug, the new type) when `slug` is a temporary field's."""
    head, mark, to_type = slug.rpartition(TEMP_MARK)
    if not mark or not head or to_type not in {to for _, to in CONVERSIONS}:
        return None
    return head, to_type


def temp_field_body(slug: str, after: Mapping[str, Any]) -> dict[str, Any]:
    """The POST of the temporary field: the new field's attributes, but enabled (a disabled
    field takes no values), neither required nor unique nor with a default (set by the rename,
    once every value is there), and no order (it would move the others)."""
    to_type = str(after["field_type"])
    body: dict[str, Any] = {
        key: value
        for key, value in after.items()
        if key not in ("required", "unique", "default", "enabled", "order", "omit_null")
    }
    return {**body, "slug": temp_slug(slug, to_type), "enabled": True}


def rename_body(slug: str, after: Mapping[str, Any]) -> dict[str, Any]:
    """The PUT that turns the temporary field into the field: its slug and every attribute
    the files declare (`field_type` is the temporary field's already)."""
    return {"slug": slug, **{k: v for k, v in after.items() if k != "field_type"}}


class Stage(StrEnum):
    """Where a migration stands, from the flow's fields alone (`migration_stage`)."""

    START = "start"  # the old field, no temporary field
    COPY = "copy"  # both: copying, or copied and not yet checked
    RENAME = "rename"  # the temporary field alone: copied and checked, old field deleted
    DONE = "done"  # the field has the new type, no temporary field
    MERGE = "merge"  # both of the new type: the field was re-created after the old one's delete


def migration_stage(
    address: str, old_type: str | None, temp_type: str | None, to_type: str
) -> Stage:
    """The next step of migrating `address` to `to_type`, from what the store holds: the
    field's type (None when absent) and the temporary field's (None when absent)."""
    if old_type == to_type:
        if temp_type is None:
            return Stage.DONE
        if temp_type == to_type:
            return Stage.MERGE
        raise MigrationError(f"{address}: the temporary field is a {temp_type} field")
    if temp_type is not None and temp_type != to_type:
        raise MigrationError(f"{address}: the temporary field is a {temp_type} field")
    if old_type is None:
        if temp_type is None:
            raise MigrationError(
                f"{address}: neither the field nor a temporary field of a migration exists "
                "(deleted since the plan?); plan again"
            )
        return Stage.RENAME
    if not convertible(old_type, to_type):
        raise MigrationError(f"{address}: a {old_type} field does not convert to {to_type}")
    return Stage.START if temp_type is None else Stage.COPY


# -- the values -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ValueProblem:
    """A record whose value does not migrate."""

    record_id: str
    value: Any
    why: str


def _present(value: Any) -> bool:
    return value is not None


def value_problems(
    records: Iterable[Mapping[str, Any]], slug: str, from_type: str, after: Mapping[str, Any]
) -> list[ValueProblem]:
    """Every record whose value of `slug` does not convert to the field `after` describes:
    no lossless form, breaks one of its rules, or repeats another's in a `unique` field."""
    to_type = str(after["field_type"])
    rules: Sequence[Mapping[str, Any]] = after.get("validation_rules") or []
    problems: list[ValueProblem] = []
    seen: list[tuple[Any, str]] = []
    for record in records:
        value = record.get(slug)
        if not _present(value):
            continue
        record_id = str(record.get("id"))
        try:
            converted = convert(value, from_type, to_type)
        except NotConvertible as error:
            problems.append(ValueProblem(record_id, value, str(error)))
            continue
        broken = value_violations(converted, to_type, rules)
        if broken:
            why = f"{broken[0].what} (expected {broken[0].expected})"
            problems.append(ValueProblem(record_id, value, why))
        elif after.get("unique"):
            twin = next((other for v, other in seen if same(v, converted)), None)
            if twin is not None:
                problems.append(ValueProblem(record_id, value, f"repeats record {twin}'s value"))
            seen.append((converted, record_id))
    return problems


def pending_copies(
    records: Iterable[Mapping[str, Any]],
    slug: str,
    from_type: str,
    to_type: str,
) -> list[tuple[str, Any]]:
    """(record ID, converted value) for every record whose temporary field does not hold its
    old value converted yet: what the copy still has to write."""
    target = temp_slug(slug, to_type)
    pending: list[tuple[str, Any]] = []
    for record in records:
        value = record.get(slug)
        if not _present(value):
            continue
        converted = convert(value, from_type, to_type)
        held = record.get(target)
        if not (_present(held) and same(held, converted)):
            pending.append((str(record.get("id")), converted))
    return pending


def merge_copies(
    records: Iterable[Mapping[str, Any]], slug: str, to_type: str
) -> tuple[list[tuple[str, Any]], list[ValueProblem]]:
    """Stage MERGE: (record ID, value) for every record whose temporary field holds a value
    the field does not hold yet (it holds none), and the records whose field holds another
    value than their temporary field (neither can be chosen without losing the other)."""
    source = temp_slug(slug, to_type)
    pending: list[tuple[str, Any]] = []
    conflicts: list[ValueProblem] = []
    for record in records:
        kept, held = record.get(source), record.get(slug)
        if not _present(kept) or (_present(held) and same(held, kept)):
            continue
        record_id = str(record.get("id"))
        if _present(held):
            why = f"{slug} holds {_show(held)} since it was created again"
            conflicts.append(ValueProblem(record_id, kept, why))
        else:
            pending.append((record_id, kept))
    return pending, conflicts


def merge_conflicts_message(address: str, temp: str, conflicts: Sequence[ValueProblem]) -> str:
    """The error for records whose re-created field and temporary field disagree."""
    head = (
        f"cannot finish the migration of {address}: {len(conflicts)} records hold a value in "
        f"{temp} (shown) and another in the field created again since (nothing was written; "
        "set each record's value by hand, or remove one of the two, and plan again):"
    )
    return _listed(head, conflicts)


def problems_message(address: str, problems: Sequence[ValueProblem], total: int) -> str:
    """The error for values that do not convert: the first `MAX_LISTED`, with record IDs."""
    head = (
        f"cannot migrate {address}: {len(problems)} of {total} records hold a value that does "
        "not convert (nothing was written):"
    )
    return _listed(head, problems)


def _listed(head: str, problems: Sequence[ValueProblem]) -> str:
    """`head`, then the first `MAX_LISTED` problems a line each (record ID, value, why)."""
    lines = [head]
    for problem in problems[:MAX_LISTED]:
        shown = escape_controls(_show(problem.value))
        lines.append(f"  record {problem.record_id}: {shown}: {escape_controls(problem.why)}")
    if len(problems) > MAX_LISTED:
        lines.append(f"  ... and {len(problems) - MAX_LISTED} more")
    return "\n".join(lines)


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 80 else text[:77] + "..."
