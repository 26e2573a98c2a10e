"""Commerce Extensions' list filters: `op(attribute,value,...)` joined by `:` (2.3, SPEC).

`definition_filter` judges Custom APIs and fields by their attributes; `entry_filter` judges
entries by their attributes and field values, typed as each field (lists by element, index or
length).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from provisioner.epcc import custom_apis as facts
from provisioner.localstore.errors import Invalid
from provisioner.localstore.extensions_storage import Record, bad_request


@dataclass(frozen=True)
class Filter:
    op: str
    attribute: str
    values: tuple[str, ...]


FILTER_HEAD_RE = re.compile(r"([a-z_]+)\(([^,()]+)")
UNPARSABLE = "Could not parse the supplied filter"


def parse_filters(text: str) -> list[Filter]:
    """`op(attribute,value,...)` joined by `:` (2.3); values may be double-quoted."""
    result: list[Filter] = []
    position = 0
    while True:
        head = FILTER_HEAD_RE.match(text, position)
        if head is None:
            raise bad_request(UNPARSABLE)
        op, attribute = head.groups()
        values, position = _filter_values(text, head.end())
        result.append(Filter(op, attribute.strip(), tuple(values)))
        if position == len(text):
            break
        if text[position] != ":":
            raise bad_request(UNPARSABLE)
        position += 1
    if len(result) > facts.MAX_FILTERS:
        raise bad_request(f"At most {facts.MAX_FILTERS} filters are supported")
    return result


def _filter_values(text: str, position: int) -> tuple[list[str], int]:
    """The `,value` list of one filter from `position` to its `)`, and where it ends."""
    values: list[str] = []
    while position < len(text) and text[position] == ",":
        if text.startswith('"', position + 1):
            value, position = _quoted(text, position + 1)
        else:
            end = position + 1
            while end < len(text) and text[end] not in ",)":
                end += 1
            value, position = text[position + 1 : end], end
        values.append(value)
    if position >= len(text) or text[position] != ")":
        raise bad_request(UNPARSABLE)
    return values, position + 1


def _quoted(text: str, start: int) -> tuple[str, int]:
    """The double-quoted value at `start` (`\\` escapes the next character), and its end."""
    end = start + 1
    chars: list[str] = []
    while end < len(text) and text[end] != '"':
        if text[end] == "\\" and end + 1 < len(text):
            end += 1
        chars.append(text[end])
        end += 1
    if end >= len(text):
        raise bad_request(UNPARSABLE)
    return "".join(chars), end + 1


def like(pattern: str, value: Any, *, fold: bool = False) -> bool:
    """`*` is the only wildcard (2.3); everything else is literal."""
    if not isinstance(value, str):
        return False
    regex = ".*".join(re.escape(part) for part in pattern.split("*"))
    return re.fullmatch(regex, value, flags=re.S | (re.I if fold else 0)) is not None


def compare(op: str, actual: Any, wanted: Sequence[Any]) -> bool:
    """`eq`, `in`, `lt`/`le`/`gt`/`ge`, `like`/`ilike`, `is_null` on one value."""
    if op == "is_null":
        return actual is None
    if actual is None or not wanted:
        return False
    first = wanted[0]
    try:
        if op == "eq":
            return bool(actual == first)
        if op == "in":
            return actual in wanted
        if op == "lt":
            return bool(actual < first)
        if op == "le":
            return bool(actual <= first)
        if op == "gt":
            return bool(actual > first)
        if op == "ge":
            return bool(actual >= first)
    except TypeError:
        return False
    if op == "like":
        return like(str(first), actual)
    if op == "ilike":
        return like(str(first), actual, fold=True)
    raise bad_request(f"Unsupported filter operator {op}")


def arity_ok(flt: Filter) -> None:
    count = len(flt.values)
    if flt.op == "is_null" and count != 0:
        raise bad_request(f"is_null({flt.attribute}) takes no value")
    if flt.op not in ("is_null", "in", "contains_any", "contains_all") and count != 1:
        raise bad_request(f"{flt.op}({flt.attribute},...) takes one value")
    if flt.op in ("in", "contains_any", "contains_all") and count < 1:
        raise bad_request(f"{flt.op}({flt.attribute},...) takes at least one value")


def definition_filter(
    filters: Iterable[Filter], allowed: Mapping[str, frozenset[str]]
) -> Callable[[Record], bool]:
    """A predicate over Custom APIs or fields (SPEC ListCustomAPIs / ListCustomFields)."""
    checks = []
    for flt in filters:
        ops = allowed.get(flt.attribute)
        if ops is None:
            raise bad_request(
                f"Invalid filter: unknown field [{flt.attribute}] specified in search filter, "
                f"allowed fields are [{' '.join(sorted(allowed))}]"
            )
        if flt.op not in ops:
            raise bad_request(f"Invalid filter: {flt.op} is not supported on {flt.attribute}")
        arity_ok(flt)
        checks.append(flt)

    def attribute(record: Record, name: str) -> Any:
        if name == "presentation.page":
            return (record.get("presentation") or {}).get("page")
        return record.get(name)

    return lambda record: all(
        compare(f.op, attribute(record, f.attribute), f.values) for f in checks
    )


def typed(field: Record, text: str, op: str) -> Any:
    """A filter value read as the field's type (400 when it cannot be)."""
    field_type = field["field_type"]
    try:
        if field_type == "integer":
            return int(text)
        if field_type == "float":
            return float(text)
        if field_type == "boolean":
            if text not in ("true", "false"):
                raise ValueError(text)
            return text == "true"
    except ValueError as error:
        raise bad_request(f"{op}({field['slug']},{text}): not a {field_type}") from error
    return text


def coerced(value: Any) -> str:
    """An element of an untyped list as text, so `1` matches 1 and "1" (SPEC type coercion)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


LIST_ATTR_RE = re.compile(r"^(?P<slug>.+?)(?:\[(?P<index>[0-9]{1,3})\]|\.(?P<length>length))$")


def entry_filter(filters: Iterable[Filter], fields: Sequence[Record]) -> Callable[[Record], bool]:
    """A predicate over entries (SPEC ListCustomAPIEntries, ListCustomField filtering)."""
    by_slug = {field["slug"]: field for field in fields}
    checks: list[Callable[[Record], bool]] = []
    for flt in filters:
        arity_ok(flt)
        checks.append(_entry_check(flt, by_slug))
    return lambda entry: all(check(entry) for check in checks)


def _entry_check(flt: Filter, by_slug: Mapping[str, Record]) -> Callable[[Record], bool]:
    op, name = flt.op, flt.attribute
    if name in facts.ENTRY_FILTERS:
        if op not in facts.ENTRY_FILTERS[name]:
            raise bad_request(f"Invalid filter: {op} is not supported on {name}")
        return lambda entry: compare(op, entry.get(name), flt.values)
    field = by_slug.get(name)
    if field is not None:
        field_type = field["field_type"]
        if op not in facts.ENTRY_FIELD_FILTERS[field_type]:
            raise bad_request(f"Invalid filter: {op} is not supported on {field_type} field {name}")
        if field_type == "list":
            return _list_check(flt, field)
        wanted = [typed(field, value, op) for value in flt.values]
        fid = field["id"]
        return lambda entry: compare(op, entry["values"].get(fid), wanted)
    match = LIST_ATTR_RE.match(name)
    field = by_slug.get(match.group("slug")) if match else None
    if match is None or field is None or field["field_type"] != "list":
        allowed = sorted([*facts.ENTRY_FILTERS, *by_slug])
        raise bad_request(
            f"Invalid filter: unknown field [{name}] specified in search filter, "
            f"allowed fields are [{' '.join(allowed)}]"
        )
    allowed_type = field["validation"]["list"].get("allowed_type") or "any"
    fid = field["id"]
    if match.group("length"):
        if op not in facts.LIST_LENGTH_FILTERS:
            raise bad_request(f"Invalid filter: {op} is not supported on {name}")
        wanted_len = [typed({"field_type": "integer", "slug": name}, v, op) for v in flt.values]
        return lambda entry: (
            isinstance(entry["values"].get(fid), list)
            and compare(op, len(entry["values"][fid]), wanted_len)
        )
    if op not in facts.LIST_INDEX_FILTERS or (
        allowed_type == "any" and op in facts.TYPED_LIST_ONLY
    ):
        raise bad_request(f"Invalid filter: {op} is not supported on {name}")
    index = int(match.group("index"))
    element = {"field_type": allowed_type, "slug": name}
    wanted = [typed(element, v, op) if allowed_type != "any" else v for v in flt.values]

    def at_index(entry: Record) -> bool:
        items = entry["values"].get(fid)
        item = items[index] if isinstance(items, list) and index < len(items) else None
        if allowed_type == "any" and item is not None and op != "is_null":
            item = coerced(item)
        return compare(op, item, wanted)

    return at_index


def _list_check(flt: Filter, field: Record) -> Callable[[Record], bool]:
    allowed_type = field["validation"]["list"].get("allowed_type") or "any"
    fid, op = field["id"], flt.op
    if op == "is_null":
        return lambda entry: entry["values"].get(fid) is None
    if op == "contains_all" and allowed_type == "any":
        raise bad_request("Invalid filter: contains_all needs a list with an allowed_type")
    if allowed_type == "any":
        wanted = set(flt.values)

        def items_of(entry: Record) -> set[str]:
            items = entry["values"].get(fid)
            return (
                {coerced(i) for i in items if i is not None} if isinstance(items, list) else set()
            )

    else:
        element = {"field_type": allowed_type, "slug": field["slug"]}
        converted = []
        for value in flt.values:
            try:
                converted.append(typed(element, value, op))
            except Invalid:
                if op == "contains_all":
                    raise
        wanted = set(converted)

        def items_of(entry: Record) -> set[str]:
            items = entry["values"].get(fid)
            return set(items) if isinstance(items, list) else set()

    if op == "contains_all":
        return lambda entry: bool(wanted) and wanted <= items_of(entry)
    return lambda entry: bool(wanted & items_of(entry))  # contains, contains_any
