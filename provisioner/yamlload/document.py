"""What loading a file gives: its plain data, where every key and value was written, and the
problems found; and the limits a file must keep within."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

MAX_FILE_BYTES = 1024 * 1024  # 1 MiB: far beyond any real desired state (100 fields/flow, 4.2)
MAX_ALIASES = 1000
MAX_NODES = 100_000  # values after alias expansion; a real file has a few thousand
MAX_DEPTH = 64

PathKey = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    """Something wrong with the bytes or the YAML of a file, at a 1-based position."""

    line: int
    column: int
    message: str
    expected: str = ""
    path: PathKey = ()


@dataclass(frozen=True)
class LoadedDocument:
    """The plain data of a file (None when it could not be loaded) and where things are.

    `value_marks[path]` is where the value at `path` starts; `key_marks[path]` where the key
    naming it is written (mapping entries only). Both are 1-based `(line, column)`. A file
    read by the fast path keeps the marks of its first levels (down to field slugs) and finds
    the deeper ones again when asked (issue 16: they were half the memory of loading 50,000
    fields, and a valid file never needs them).
    """

    data: Any
    value_marks: Mapping[PathKey, tuple[int, int]] = field(default_factory=dict)
    key_marks: Mapping[PathKey, tuple[int, int]] = field(default_factory=dict)
    problems: tuple[Problem, ...] = ()

    def locate(self, path: PathKey) -> tuple[int, int]:
        """The best position for a problem about `path`: its key, else its value, else the
        nearest ancestor's; (1, 1) for the document itself."""
        for depth in range(len(path), -1, -1):
            prefix = path[:depth]
            if prefix in self.key_marks:
                return self.key_marks[prefix]
            if prefix in self.value_marks:
                return self.value_marks[prefix]
        return (1, 1)

    def locate_value(self, path: PathKey) -> tuple[int, int]:
        """Where the value at `path` is written (for scalars: the value, not its key)."""
        if path in self.value_marks:
            return self.value_marks[path]
        return self.locate(path)


def failed(line: int, column: int, message: str, expected: str = "") -> LoadedDocument:
    return LoadedDocument(None, problems=(Problem(line, column, message, expected),))


def size_limit() -> str:
    return f"at most {MAX_FILE_BYTES} bytes"
