"""The exporter's YAML, written directly where it is simple, byte for byte as PyYAML writes it.

PyYAML's emitter is pure Python and was more than half of the CPU of `export` at 25,000 fields
(issue 16, BENCHMARKS.md "Scale"); libyaml's emitter cannot indent block sequences inside
mappings as the exporter does. What the exporter writes is mostly simple: mappings of slugs,
short plain strings, numbers, booleans, null, rule lists, and one-line `[a, b]` / `{from: 1,
to: 5}` options. This module writes exactly that subset, and only when it can be sure of
PyYAML's answer:

- a string is written plain only when it is ASCII letters, digits and `_ .,'()/-` (no `,` in
  a flow collection), does not start with a space or punctuation, does not end with a space,
  and no YAML reader would take it for anything but a string (`exporter.is_ambiguous`);
- numbers are integers, or floats whose `repr` is plain decimal (`5.0`, `0.25`);
- every line fits the emitter's width (100 columns), so PyYAML would not fold it.

Anything else (a quoted or multi-line string, a long line, an exponent, a nested flow
collection) makes `emit_document` answer None for the whole document, or `emit_entry` None for
one field, and the caller hands that part to PyYAML. tests/test_yamlemit.py compares both on
generated documents. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

WIDTH = 100  # the `width` the exporter gives PyYAML
_BLOCK_PLAIN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_ .,'()/-]*")
_FLOW_PLAIN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_ .'()/-]*")
_DECIMAL = re.compile(r"-?[0-9]+\.[0-9]+")


class _Bail(Exception):
    """This part is not in the simple subset: PyYAML writes it."""


class Emitter:
    """Writes documents of the exporter's shape; `flow_types` are the classes it writes in flow
    style (`[a, b]`, `{a: 1}`), `ambiguous` tells strings that must be quoted."""

    def __init__(
        self,
        flow_list: type[list[Any]],
        flow_map: type[dict[str, Any]],
        ambiguous: Callable[[str], bool],
    ) -> None:
        self.flow_list = flow_list
        self.flow_map = flow_map
        self.ambiguous = ambiguous
        self.plain: dict[tuple[str, bool], bool] = {}

    def entry(self, key: str, value: Mapping[str, Any], indent: int) -> list[str] | None:
        """The lines of `key:` and its mapping at `indent`, or None when PyYAML must write it."""
        try:
            lines = [f"{' ' * indent}{self.text(key, flow=False)}:"]
            self.mapping(value, indent + 2, lines)
        except _Bail:
            return None
        return lines

    def mapping(
        self, value: Mapping[str, Any], indent: int, lines: list[str], dash: bool = False
    ) -> None:
        """A non-empty block mapping; with `dash`, its first key follows a `- ` one level up."""
        if not value:
            raise _Bail
        pad = " " * indent
        for index, (key, item) in enumerate(value.items()):
            lead = pad[:-2] + "- " if dash and index == 0 else pad
            self.pair(lead + self.text(key, flow=False), item, indent, lines)

    def pair(self, head: str, item: Any, indent: int, lines: list[str]) -> None:
        if isinstance(item, self.flow_list | self.flow_map) or not isinstance(item, dict | list):
            self.line(f"{head}: {self.inline(item)}", lines)
        elif not item:
            self.line(f"{head}: {'{}' if isinstance(item, dict) else '[]'}", lines)
        elif isinstance(item, dict):
            self.line(f"{head}:", lines)
            self.mapping(item, indent + 2, lines)
        else:
            self.line(f"{head}:", lines)
            self.sequence(item, indent + 2, lines)

    def sequence(self, items: list[Any], indent: int, lines: list[str]) -> None:
        """A non-empty block sequence at `indent` (`- item`), as the exporter's dumper indents."""
        for item in items:
            if isinstance(item, dict) and not isinstance(item, self.flow_map) and item:
                self.mapping(item, indent + 2, lines, dash=True)
            elif isinstance(item, dict | list):
                raise _Bail
            else:
                self.line(f"{' ' * indent}- {self.scalar(item, flow=False)}", lines)

    def inline(self, item: Any) -> str:
        """A scalar, or a flow collection of scalars, on the key's line."""
        if isinstance(item, self.flow_list):
            return "[" + ", ".join(self.scalar(v, flow=True) for v in item) + "]"
        if isinstance(item, self.flow_map):
            parts = (
                f"{self.text(k, flow=True)}: {self.scalar(v, flow=True)}" for k, v in item.items()
            )
            return "{" + ", ".join(parts) + "}"
        return self.scalar(item, flow=False)

    def scalar(self, value: Any, *, flow: bool) -> str:
        if value is None:
            return "null"
        if value is True or value is False:
            return "true" if value else "false"
        kind = type(value)
        if kind is int:
            return str(value)
        if kind is float:
            text = repr(value)
            if not _DECIMAL.fullmatch(text):
                raise _Bail  # exponents, inf, nan: PyYAML's own spelling
            return text
        if kind is str:
            return self.text(value, flow=flow)
        raise _Bail

    def text(self, value: Any, *, flow: bool) -> str:
        if type(value) is not str:
            raise _Bail
        known = self.plain.get((value, flow))
        if known is None:
            pattern = _FLOW_PLAIN if flow else _BLOCK_PLAIN
            known = bool(
                pattern.fullmatch(value) and not value.endswith(" ") and not self.ambiguous(value)
            )
            if len(self.plain) > 100_000:
                self.plain.clear()
            self.plain[(value, flow)] = known
        if not known:
            raise _Bail
        return value

    @staticmethod
    def line(text: str, lines: list[str]) -> None:
        if len(text) > WIDTH:
            raise _Bail  # PyYAML might fold it
        lines.append(text)
