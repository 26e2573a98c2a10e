"""Where the keys of a TOML text are written: `tomllib` gives no positions.

`key_positions` finds the 1-based line and column of every key of a text `tomllib` accepted,
by path, so the project file's diagnostics can be located (`provisioner.toml:7:1: ...`).
Pure: text in, positions out.
"""

from __future__ import annotations

import bisect
import re
import tomllib

Key = tuple[str | int, ...]


class _Scanner:
    """Positions of the keys of a TOML text that `tomllib` accepted.

    A small tokenizer, only as careful as valid TOML needs: comments, table headers, arrays
    of tables, dotted and quoted keys, inline tables, arrays (each element's position under
    its index) and every string form (multi-line ones may hold `=`, `[` and `#`).
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.i = 0
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self.positions: dict[Key, tuple[int, int]] = {}
        self.array_tables: dict[Key, int] = {}

    def where(self, offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(self.line_starts, offset) - 1
        return line + 1, offset - self.line_starts[line] + 1

    def peek(self, n: int = 1) -> str:
        return self.text[self.i : self.i + n]

    def record(self, path: Key, offset: int) -> None:
        self.positions.setdefault(path, self.where(offset))

    def skip_blank(self, newlines: bool) -> None:
        text = self.text
        while self.i < len(text):
            char = text[self.i]
            if char in " \t" or (newlines and char in "\r\n"):
                self.i += 1
            elif char == "#":
                end = text.find("\n", self.i)
                self.i = len(text) if end < 0 else end
            else:
                return

    def string(self) -> str:
        """Read one string starting at `self.i`; return its value."""
        text = self.text
        start = self.i
        for quote in ('"""', "'''"):
            if text.startswith(quote, self.i):
                end = self.i + 3
                while True:
                    end = text.find(quote, end)
                    if end < 0:
                        self.i = len(text)
                        return ""
                    if quote == "'''" or not _escaped(text, end):
                        break
                    end += 1
                # The closing delimiter is the last three of a run of up to five quotes.
                run = 0
                while end + run < len(text) and text[end + run] == quote[0] and run < 5:
                    run += 1
                self.i = end + run
                return ""
        quote = text[self.i]
        end = self.i + 1
        while end < len(text) and text[end] != quote:
            end += 2 if quote == '"' and text[end] == "\\" else 1
        self.i = end + 1
        raw = text[start : self.i]
        try:
            return str(tomllib.loads(f"k = {raw}")["k"])
        except tomllib.TOMLDecodeError:  # pragma: no cover - tomllib accepted the file
            return raw[1:-1]

    def key(self) -> list[tuple[str, int]]:
        """A dotted key: its parts with their offsets."""
        parts: list[tuple[str, int]] = []
        while True:
            self.skip_blank(newlines=False)
            start = self.i
            if self.peek() in ('"', "'"):
                parts.append((self.string(), start))
            else:
                match = re.compile(r"[A-Za-z0-9_-]+").match(self.text, self.i)
                if match is None:
                    return parts
                parts.append((match.group(), start))
                self.i = match.end()
            self.skip_blank(newlines=False)
            if self.peek() != ".":
                return parts
            self.i += 1

    def value(self, path: Key) -> None:
        text = self.text
        char = self.peek()
        if char in ('"', "'"):
            self.string()
        elif char == "[":
            self.i += 1
            index = 0
            while self.i < len(text):
                self.skip_blank(newlines=True)
                if self.peek() == "]":
                    self.i += 1
                    return
                self.record((*path, index), self.i)
                self.value((*path, index))
                index += 1
                self.skip_blank(newlines=True)
                if self.peek() == ",":
                    self.i += 1
        elif char == "{":
            self.i += 1
            while self.i < len(text):
                self.skip_blank(newlines=False)
                if self.peek() == "}":
                    self.i += 1
                    return
                if self.peek() == ",":
                    self.i += 1
                    continue
                self.pair(path)
        else:
            match = re.compile(r"[^,\]}\n#]*").match(text, self.i)
            self.i = match.end() if match else len(text)

    def pair(self, table: Key) -> None:
        parts = self.key()
        if not parts:
            self.i += 1  # pragma: no cover - tomllib accepted the file
            return
        path = table
        for name, offset in parts:
            path = (*path, name)
            self.record(path, offset)
        self.skip_blank(newlines=False)
        if self.peek() == "=":
            self.i += 1
        self.skip_blank(newlines=False)
        self.value(path)

    def run(self) -> dict[Key, tuple[int, int]]:
        table: Key = ()
        while True:
            self.skip_blank(newlines=True)
            if self.i >= len(self.text):
                return self.positions
            if self.peek(2) == "[[":
                bracket = self.i
                self.i += 2
                parts = self.key()
                base = tuple(name for name, _ in parts)
                index = self.array_tables.get(base, 0)
                self.array_tables[base] = index + 1
                self.record(base, bracket)
                self.record((*base, index), bracket)
                path: Key = ()
                for name, offset in parts:
                    path = (*path, name)
                    self.record(path, offset)
                table = (*base, index)
                self.i = self.text.find("]]", self.i) + 2
            elif self.peek() == "[":
                bracket = self.i
                self.i += 1
                parts = self.key()
                self.record(tuple(name for name, _ in parts), bracket)
                path = ()
                for name, offset in parts:
                    path = (*path, name)
                    self.record(path, offset)
                table = path
                self.i = self.text.find("]", self.i) + 1
            else:
                self.pair(table)


def _escaped(text: str, index: int) -> bool:
    backslashes = 0
    while index - backslashes - 1 >= 0 and text[index - backslashes - 1] == "\\":
        backslashes += 1
    return backslashes % 2 == 1


def key_positions(text: str) -> dict[Key, tuple[int, int]]:
    """The 1-based (line, column) of every key of a valid TOML text, by path.

    Table headers count as the position of their table; keys inside an array of tables get
    the index of their table (`("environments", 0, "base_url")`); array elements are found
    under their index. The first place a path is written wins.
    """
    return _Scanner(text).run()
