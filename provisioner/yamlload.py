"""A safe, strict YAML loader that remembers where every key and value was written.

PyYAML's `safe_load` is too forgiving for files that drive deletes in a live store: it keeps the
last of two duplicate keys silently, expands aliases without limit, turns `2024-01-01` into a
`date` and honours tags. This module reuses PyYAML's reader, scanner, parser and composer (we do
not parse YAML ourselves) and replaces construction with a walk over the composed node tree that
produces plain JSON values (dict, list, str, int, float, bool, None) together with the 1-based
line and column of every key and value, keyed by the path to it (`("flows", "customers")`).

What it refuses, each reported as a `Problem` with a position and never as a traceback:
non-UTF-8 bytes, characters YAML forbids, syntax errors, files over `MAX_FILE_BYTES`, empty
documents, more than one document, explicit tags (`!!python/object`, `!!str`, `!custom`), merge
keys (`<<`), non-scalar keys, duplicate keys anywhere, more than `MAX_ALIASES` aliases, alias
expansion beyond `MAX_NODES` values (the "billion laughs" bomb), recursive aliases, nesting
deeper than `MAX_DEPTH`, and numbers JSON cannot carry (`.inf`, `.nan`).

Scalars resolve as PyYAML's safe loader resolves them (YAML 1.1: `yes`/`no` are booleans), so
files written by `yaml.safe_dump` read back identically, except that timestamps stay strings:
the API carries dates as strings (epcc-api.md 4.4).

Speed (issue 16): a file is first read through libyaml's event parser (`yaml.cyaml.CParser`,
when PyYAML was built with it), building the plain values and marks in one pass with no node
objects. That path only ever answers for a file with nothing to report: no tags, aliases, merge
keys, non-scalar or duplicate keys, non-finite numbers, nesting past `MAX_DEPTH` or values past
`MAX_NODES`, and nothing libyaml refuses. Anything else, and any character PyYAML's reader would
refuse or count as a line break differently, sends the file down the pure-Python path above,
which alone produces problems, so every diagnostic is exactly the pure-Python loader's.
"""

from __future__ import annotations

import codecs
import importlib
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.events import (
    AliasEvent,
    CollectionStartEvent,
    DocumentEndEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
    StreamStartEvent,
)
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import Resolver
from yaml.scanner import Scanner

MAX_FILE_BYTES = 1024 * 1024  # 1 MiB: far beyond any real desired state (100 fields/flow, 4.2)
MAX_ALIASES = 1000
MAX_NODES = 100_000  # values after alias expansion; a real file has a few thousand
MAX_DEPTH = 64

PathKey = tuple[str | int, ...]

_TAG = "tag:yaml.org,2002:"
_MERGE = _TAG + "merge"
# Scalars kept as the text written: strings, timestamps (dates are strings in the API, 4.4),
# and the `=` value key.
_STRING_TAGS = frozenset({_TAG + "str", _TAG + "timestamp", _TAG + "value"})


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
    naming it is written (mapping entries only). Both are 1-based `(line, column)`.
    """

    data: Any
    value_marks: dict[PathKey, tuple[int, int]] = field(default_factory=dict)
    key_marks: dict[PathKey, tuple[int, int]] = field(default_factory=dict)
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


class _Fatal(Exception):
    """Stops loading: the problem makes the rest of the file meaningless or unsafe."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


class _Resolver(Resolver):
    """PyYAML's implicit resolvers without timestamps: dates stay strings (4.4)."""


_Resolver.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _TAG + "timestamp"]
    for first, resolvers in Resolver.yaml_implicit_resolvers.items()
}


def _mark(mark: Any) -> tuple[int, int]:
    return (int(mark.line) + 1, int(mark.column) + 1)


class _Loader(Reader, Scanner, Parser, Composer, _Resolver):
    """PyYAML's pure-Python pipeline up to the node graph, with limits and tag detection.

    Tags are seen on the parser's events, which still tell an explicit `!!str` from a plain
    scalar; after composition both carry the same resolved tag.
    """

    def __init__(self, text: str) -> None:
        Reader.__init__(self, text)
        Scanner.__init__(self)
        Parser.__init__(self)
        Composer.__init__(self)
        _Resolver.__init__(self)
        self.depth = 0
        self.aliases = 0
        self.tagged: dict[int, str] = {}

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        event: Any = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                line, column = _mark(event.start_mark)
                raise _Fatal(
                    Problem(
                        line,
                        column,
                        f"too many aliases (more than {MAX_ALIASES})",
                        "fewer anchors and aliases (alias expansion bombs are refused)",
                    )
                )
        self.depth += 1
        if self.depth > MAX_DEPTH:
            line, column = _mark(event.start_mark)
            raise _Fatal(
                Problem(line, column, f"nested deeper than {MAX_DEPTH} levels", "a flatter file")
            )
        try:
            tag = event.tag if isinstance(event, ScalarEvent | CollectionStartEvent) else None
            node: Node | None = super().compose_node(parent, index)
        finally:
            self.depth -= 1
        if tag is not None and node is not None:
            self.tagged[id(node)] = tag
        return node


_CONSTRUCTOR = SafeConstructor()


def load_file(path: Path) -> LoadedDocument:
    """Read and load one file; problems (including an unreadable file) are in the result."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            return _failed(1, 1, f"file is too large ({size} bytes)", _size_limit())
        with path.open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        return _failed(0, 0, f"cannot read the file: {error.strerror or error}", "a readable file")
    return load_bytes(raw)


def load_bytes(raw: bytes) -> LoadedDocument:
    """Load one YAML document from bytes; never raises for bad input."""
    if len(raw) > MAX_FILE_BYTES:
        return _failed(1, 1, f"file is too large ({len(raw)} bytes)", _size_limit())
    bom = len(codecs.BOM_UTF8) if raw.startswith(codecs.BOM_UTF8) else 0
    try:
        text = raw[bom:].decode("utf-8")
    except UnicodeDecodeError as error:
        offset = bom + error.start
        line, column = _byte_position(raw[bom:], error.start)
        return _failed(line, column, f"not UTF-8 (byte 0x{raw[offset]:02x})", "UTF-8 text")
    if not text.strip():
        return _failed(1, 1, "the file is empty", "a mapping with a `flows` key")
    fast = _fast_load(text)
    if fast is not None:
        return fast
    return _slow_load(text)


def _slow_load(text: str) -> LoadedDocument:
    """The pure-Python loader: PyYAML's scanner, parser and composer, then `_Walker`."""
    loader: _Loader | None = None
    try:
        loader = _Loader(text)
        root = loader.get_single_node()
    except _Fatal as fatal:
        return LoadedDocument(None, problems=(fatal.problem,))
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line, column = _mark(mark) if mark is not None else (1, 1)
        if error.problem == "but found another document":
            return _failed(line, column, "more than one YAML document", "a single document")
        return _failed(line, column, f"invalid YAML: {error.problem or error.context}")
    except yaml.reader.ReaderError as error:
        line, column = _text_position(text, error.position)
        return _failed(
            line, column, f"character #x{error.character:04x} is not allowed in YAML", "text"
        )
    except yaml.YAMLError as error:  # any other PyYAML error still becomes a problem
        return _failed(1, 1, f"invalid YAML: {error}")
    except RecursionError:
        return _failed(1, 1, "nested too deeply", "a flatter file")
    finally:
        if loader is not None:
            loader.dispose()
    if root is None:
        return _failed(1, 1, "the file is empty", "a mapping with a `flows` key")
    return _Walker(loader.tagged).document(root)


# --- the fast path: libyaml events straight to values (issue 16) -------------------------------

_CParser: Any
try:
    _CParser = importlib.import_module("yaml._yaml").CParser
except ImportError:  # PyYAML built without libyaml: the pure-Python path alone
    _CParser = None

# Characters PyYAML's reader refuses, line breaks other than \n and \r (libyaml and PyYAML
# may count lines differently around them), byte-order marks inside the text, and tabs (libyaml
# accepts some that PyYAML refuses): files holding any go down the pure-Python path.
_UNCOMMON_TEXT = re.compile(
    "[^\x0a\x0d\x20-\x7e\xa0-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]|[\u2028\u2029]"
)
_RESOLVERS = _Resolver.yaml_implicit_resolvers
_WILDCARD_RESOLVERS = _RESOLVERS.get(None, [])
_PLAIN_CACHE: dict[str, tuple[str, Any]] = {}  # plain scalar text -> (resolved tag, value)
_PLAIN_CACHE_SIZE = 4096


class _Bail(Exception):
    """The fast path cannot answer for this file: the pure-Python path will."""


def _fast_load(text: str) -> LoadedDocument | None:
    """The document when libyaml reads it with nothing to report, else None."""
    if _CParser is None or _UNCOMMON_TEXT.search(text):
        return None
    parser = _CParser(text)
    try:
        return _FastBuilder(parser).document()
    except Exception:  # any refusal, error or surprise: the pure-Python path decides
        return None
    finally:
        parser.dispose()


def _plain(text: str) -> tuple[str, Any]:
    """(tag, value) of an untagged plain scalar, resolved as `_Resolver` and constructed as
    `_Walker.scalar` would; raises `_Bail` for values that need a problem reported."""
    cached = _PLAIN_CACHE.get(text)
    if cached is not None:
        return cached
    tag = _TAG + "str"
    for candidate, regexp in [*_RESOLVERS.get(text[:1], []), *_WILDCARD_RESOLVERS]:
        if regexp.match(text):
            tag = candidate
            break
    value: Any
    if tag in _STRING_TAGS:
        value = text
    elif tag == _TAG + "null":
        value = None
    else:
        node = ScalarNode(tag, text)
        if tag == _TAG + "bool":
            value = bool(_CONSTRUCTOR.construct_yaml_bool(node))
        elif tag == _TAG + "int":
            value = int(_CONSTRUCTOR.construct_yaml_int(node))
        elif tag == _TAG + "float":
            value = float(_CONSTRUCTOR.construct_yaml_float(node))
            if not math.isfinite(value):
                raise _Bail
        else:  # a merge key or anything unforeseen
            raise _Bail
    if len(_PLAIN_CACHE) >= _PLAIN_CACHE_SIZE:
        _PLAIN_CACHE.clear()
    _PLAIN_CACHE[text] = (tag, value)
    return tag, value


class _FastBuilder:
    """Values and marks from libyaml's events, for a file with nothing to report."""

    def __init__(self, parser: Any) -> None:
        self.next = parser.get_event
        self.value_marks: dict[PathKey, tuple[int, int]] = {}
        self.key_marks: dict[PathKey, tuple[int, int]] = {}
        self.count = 0

    def document(self) -> LoadedDocument:
        if not isinstance(self.next(), StreamStartEvent):
            raise _Bail
        if not isinstance(self.next(), DocumentStartEvent):
            raise _Bail
        data = self.value(self.next(), (), 1)
        if data is None or not isinstance(self.next(), DocumentEndEvent):
            raise _Bail
        if not isinstance(self.next(), StreamEndEvent):
            raise _Bail  # a second document
        return LoadedDocument(data, self.value_marks, self.key_marks)

    def value(self, event: Any, path: PathKey, depth: int) -> Any:
        self.count += 1
        if self.count > MAX_NODES or depth > MAX_DEPTH:
            raise _Bail
        kind = type(event)
        if (
            kind is not ScalarEvent
            and kind is not MappingStartEvent
            and kind is not SequenceStartEvent
        ):
            raise _Bail  # an alias
        if event.tag is not None or event.anchor is not None:
            raise _Bail  # an explicit tag, or an anchor (PyYAML's composer checks them)
        mark = event.start_mark
        self.value_marks[path] = (mark.line + 1, mark.column + 1)
        if kind is ScalarEvent:
            if not event.implicit[0]:
                return event.value
            if not event.value:
                raise _Bail  # an empty value: libyaml may place it elsewhere than PyYAML
            return _plain(event.value)[1]
        if kind is SequenceStartEvent:
            items: list[Any] = []
            item = self.next()
            while type(item) is not SequenceEndEvent:
                items.append(self.value(item, (*path, len(items)), depth + 1))
                item = self.next()
            return items
        return self.mapping(path, depth)

    def mapping(self, path: PathKey, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        key_event: Any = self.next()
        while type(key_event) is not MappingEndEvent:
            if type(key_event) is not ScalarEvent or key_event.tag or key_event.anchor:
                raise _Bail  # a non-scalar key, an alias as a key, a tag or an anchor
            key: str = key_event.value
            if key in result or (key_event.implicit[0] and key in ("<<", "")):
                raise _Bail  # a duplicate, a merge key, or an empty key (placed differently)
            key_path = (*path, key)
            mark: Any = key_event.start_mark
            self.key_marks[key_path] = (mark.line + 1, mark.column + 1)
            result[key] = self.value(self.next(), key_path, depth + 1)
            key_event = self.next()
        return result


class _Walker:
    """Turns a node graph into plain values and marks, collecting problems as it goes."""

    def __init__(self, tagged: dict[int, str]) -> None:
        self.tagged = tagged
        self.value_marks: dict[PathKey, tuple[int, int]] = {}
        self.key_marks: dict[PathKey, tuple[int, int]] = {}
        self.problems: list[Problem] = []
        self.count = 0
        self.active: set[int] = set()

    def document(self, root: Node) -> LoadedDocument:
        try:
            data = self.value(root, ())
        except _Fatal as fatal:
            return LoadedDocument(None, problems=(fatal.problem,))
        if data is None:
            return _failed(1, 1, "the file is empty", "a mapping with a `flows` key")
        return LoadedDocument(data, self.value_marks, self.key_marks, tuple(self.problems))

    def problem(self, node: Node, path: PathKey, message: str, expected: str = "") -> None:
        line, column = _mark(node.start_mark)
        self.problems.append(Problem(line, column, message, expected, path))

    def value(self, node: Node, path: PathKey) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            # Aliased nodes share the anchor's position; the innermost key written on the
            # way here is the better place to point at.
            keys = [path[:n] for n in range(len(path), 0, -1) if path[:n] in self.key_marks]
            where = keys[0] if keys else ()
            line, column = self.key_marks.get(where, _mark(node.start_mark))
            raise _Fatal(
                Problem(
                    line,
                    column,
                    f"the document expands to more than {MAX_NODES} values",
                    "no alias expansion bomb",
                    where,
                )
            )
        if len(path) > MAX_DEPTH:
            # Aliases can nest a deep node inside another deep one: the composer's own depth
            # limit does not see that, so the expanded depth is bounded here too.
            line, column = _mark(node.start_mark)
            raise _Fatal(
                Problem(line, column, f"nested deeper than {MAX_DEPTH} levels", "a flatter file")
            )
        if id(node) in self.active:
            line, column = _mark(node.start_mark)
            raise _Fatal(
                Problem(line, column, "an alias refers to its own ancestor", "no cycles", path)
            )
        self.value_marks.setdefault(path, _mark(node.start_mark))
        if id(node) in self.tagged:
            self.problem(
                node,
                path,
                f"YAML tags are not allowed (found `{_short_tag(self.tagged[id(node)])}`)",
                "plain strings, numbers, booleans, null, mappings and lists",
            )
        self.active.add(id(node))
        try:
            if isinstance(node, MappingNode):
                return self.mapping(node, path)
            if isinstance(node, SequenceNode):
                return [self.value(item, (*path, index)) for index, item in enumerate(node.value)]
            return self.scalar(node, path)
        finally:
            self.active.discard(id(node))

    def mapping(self, node: MappingNode, path: PathKey) -> dict[str, Any]:
        result: dict[str, Any] = {}
        seen: dict[str, tuple[int, int]] = {}
        merges: list[Any] = []
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                self.problem(key_node, path, "mapping keys must be plain strings", "a string key")
                continue
            if key_node.tag == _MERGE:
                self.problem(key_node, path, "merge keys (`<<`) are not supported", "plain keys")
                # Read on as YAML would (merged keys below the mapping's own), so that the keys
                # it brings are not reported missing as well: one problem, the merge key.
                merges.append(self.value(value_node, path))
                continue
            key = str(key_node.value)
            key_path = (*path, key)
            if key in seen:
                first_line = seen[key][0]
                self.problem(
                    key_node,
                    key_path,
                    f"duplicate key `{key}` (first at line {first_line})",
                    "each key once per mapping",
                )
                continue
            if id(key_node) in self.tagged:
                self.problem(
                    key_node,
                    key_path,
                    f"YAML tags are not allowed (found `{_short_tag(self.tagged[id(key_node)])}`)",
                    "plain strings, numbers, booleans, null, mappings and lists",
                )
            seen[key] = _mark(key_node.start_mark)
            self.key_marks[key_path] = seen[key]
            result[key] = self.value(value_node, key_path)
        for merged in merges:
            for source in merged if isinstance(merged, list) else [merged]:
                if isinstance(source, dict):
                    for key, value in source.items():
                        result.setdefault(key, value)
        return result

    def scalar(self, node: Node, path: PathKey) -> Any:
        tag = node.tag
        if not isinstance(node, ScalarNode) or tag in _STRING_TAGS:
            return str(node.value)
        if tag == _TAG + "null":
            return None
        if tag == _TAG + "bool":
            return bool(_CONSTRUCTOR.construct_yaml_bool(node))
        if tag == _TAG + "int":
            return int(_CONSTRUCTOR.construct_yaml_int(node))
        if tag == _TAG + "float":
            number = float(_CONSTRUCTOR.construct_yaml_float(node))
            if not math.isfinite(number):
                self.problem(node, path, f"`{node.value}` is not a finite number", "a number")
            return number
        # Anything else (an explicit tag, already reported, or `=`) stays the text written.
        return str(node.value)


def _short_tag(tag: str) -> str:
    """The tag as people write it: `!!python/object` rather than `tag:yaml.org,2002:...`."""
    return "!!" + tag[len(_TAG) :] if tag.startswith(_TAG) else tag


def _failed(line: int, column: int, message: str, expected: str = "") -> LoadedDocument:
    return LoadedDocument(None, problems=(Problem(line, column, message, expected),))


def _size_limit() -> str:
    return f"at most {MAX_FILE_BYTES} bytes"


def _byte_position(raw: bytes, offset: int) -> tuple[int, int]:
    before = raw[:offset]
    line_start = before.rfind(b"\n") + 1
    return (before.count(b"\n") + 1, len(before[line_start:].decode("utf-8", "replace")) + 1)


def _text_position(text: str, offset: int) -> tuple[int, int]:
    before = text[:offset]
    return (before.count("\n") + 1, offset - (before.rfind("\n") + 1) + 1)


__all__ = ["MAX_FILE_BYTES", "LoadedDocument", "Problem", "load_bytes", "load_file"]
