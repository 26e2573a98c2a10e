"""The pure-Python loading path: PyYAML's reader, scanner, parser and composer up to the node
graph (with the limits and tag detection), then a walk that builds plain values and marks and
reports every problem. The only path that reports problems."""

from __future__ import annotations

import math
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.events import AliasEvent, CollectionStartEvent, ScalarEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.scanner import Scanner

from provisioner.yamlload.document import (
    MAX_ALIASES,
    MAX_DEPTH,
    MAX_NODES,
    LoadedDocument,
    PathKey,
    Problem,
    failed,
)
from provisioner.yamlload.scalars import FLOAT, MERGE, TAG, SafeResolver, construct, mark


class _Fatal(Exception):
    """Stops loading: the problem makes the rest of the file meaningless or unsafe."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


class _Loader(Reader, Scanner, Parser, Composer, SafeResolver):
    """PyYAML's pure-Python pipeline up to the node graph, with limits and tag detection.

    Tags are seen on the parser's events, which still tell an explicit `!!str` from a plain
    scalar; after composition both carry the same resolved tag.
    """

    def __init__(self, text: str) -> None:
        Reader.__init__(self, text)
        Scanner.__init__(self)
        Parser.__init__(self)
        Composer.__init__(self)
        SafeResolver.__init__(self)
        self.depth = 0
        self.aliases = 0
        self.tagged: dict[int, str] = {}

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        event: Any = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                line, column = mark(event.start_mark)
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
            line, column = mark(event.start_mark)
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


def slow_load(text: str) -> LoadedDocument:
    """The pure-Python loader: PyYAML's scanner, parser and composer, then `_Walker`."""
    loader: _Loader | None = None
    try:
        loader = _Loader(text)
        root = loader.get_single_node()
    except _Fatal as fatal:
        return LoadedDocument(None, problems=(fatal.problem,))
    except yaml.MarkedYAMLError as error:
        where = error.problem_mark or error.context_mark
        line, column = mark(where) if where is not None else (1, 1)
        if error.problem == "but found another document":
            return failed(line, column, "more than one YAML document", "a single document")
        return failed(line, column, f"invalid YAML: {error.problem or error.context}")
    except yaml.reader.ReaderError as error:
        line, column = _text_position(text, error.position)
        return failed(
            line, column, f"character #x{error.character:04x} is not allowed in YAML", "text"
        )
    except yaml.YAMLError as error:  # any other PyYAML error still becomes a problem
        return failed(1, 1, f"invalid YAML: {error}")
    except RecursionError:
        return failed(1, 1, "nested too deeply", "a flatter file")
    finally:
        if loader is not None:
            loader.dispose()
    if root is None:
        return failed(1, 1, "the file is empty", "a mapping with a `flows` key")
    return _Walker(loader.tagged).document(root)


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
            return failed(1, 1, "the file is empty", "a mapping with a `flows` key")
        return LoadedDocument(data, self.value_marks, self.key_marks, tuple(self.problems))

    def problem(self, node: Node, path: PathKey, message: str, expected: str = "") -> None:
        line, column = mark(node.start_mark)
        self.problems.append(Problem(line, column, message, expected, path))

    def value(self, node: Node, path: PathKey) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            # Aliased nodes share the anchor's position; the innermost key written on the
            # way here is the better place to point at.
            keys = [path[:n] for n in range(len(path), 0, -1) if path[:n] in self.key_marks]
            where = keys[0] if keys else ()
            line, column = self.key_marks.get(where, mark(node.start_mark))
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
            line, column = mark(node.start_mark)
            raise _Fatal(
                Problem(line, column, f"nested deeper than {MAX_DEPTH} levels", "a flatter file")
            )
        if id(node) in self.active:
            line, column = mark(node.start_mark)
            raise _Fatal(
                Problem(line, column, "an alias refers to its own ancestor", "no cycles", path)
            )
        self.value_marks.setdefault(path, mark(node.start_mark))
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
            if key_node.tag == MERGE:
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
            seen[key] = mark(key_node.start_mark)
            self.key_marks[key_path] = seen[key]
            result[key] = self.value(value_node, key_path)
        for merged in merges:
            for source in merged if isinstance(merged, list) else [merged]:
                if isinstance(source, dict):
                    for key, value in source.items():
                        result.setdefault(key, value)
        return result

    def scalar(self, node: Node, path: PathKey) -> Any:
        if not isinstance(node, ScalarNode):
            return str(node.value)
        # An explicit tag (already reported) or `=` stays the text written.
        value = construct(node.tag, str(node.value))
        if node.tag == FLOAT and not math.isfinite(value):
            self.problem(node, path, f"`{node.value}` is not a finite number", "a number")
        return value


def _short_tag(tag: str) -> str:
    """The tag as people write it: `!!python/object` rather than `tag:yaml.org,2002:...`."""
    return "!!" + tag[len(TAG) :] if tag.startswith(TAG) else tag


def _text_position(text: str, offset: int) -> tuple[int, int]:
    before = text[:offset]
    return (before.count("\n") + 1, offset - (before.rfind("\n") + 1) + 1)
