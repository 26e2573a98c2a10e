"""The fast loading path (issue 16): libyaml's events straight to plain values and marks, for a
file with nothing to report; anything else is left to the pure-Python path (`fast_load` answers
None), so every diagnostic is exactly that path's."""

from __future__ import annotations

import importlib
import math
import re
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from typing import Any

from yaml.events import (
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

from provisioner.yamlload.document import MAX_DEPTH, MAX_NODES, LoadedDocument, PathKey
from provisioner.yamlload.scalars import FLOAT, KNOWN_TAGS, TAG, SafeResolver, construct

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
_RESOLVERS = SafeResolver.yaml_implicit_resolvers
_WILDCARD_RESOLVERS = _RESOLVERS.get(None, [])
_PLAIN_CACHE: dict[str, tuple[str, Any]] = {}  # plain scalar text -> (resolved tag, value)
_PLAIN_CACHE_SIZE = 4096


class _Bail(Exception):
    """The fast path cannot answer for this file: the pure-Python path will."""


def fast_load(text: str) -> LoadedDocument | None:
    """The document when libyaml reads it with nothing to report, else None."""
    if _CParser is None or _UNCOMMON_TEXT.search(text):
        return None
    parser = _CParser(text)
    try:
        return _FastBuilder(parser, text).document()
    except Exception:  # any refusal, error or surprise: the pure-Python path decides
        return None
    finally:
        parser.dispose()


def _resolved(text: str) -> tuple[str, Any]:
    """(tag, value) of an untagged plain scalar, resolved as `SafeResolver` and built by
    `construct`; raises `_Bail` for values that need a problem reported."""
    cached = _PLAIN_CACHE.get(text)
    if cached is not None:
        return cached
    tag = TAG + "str"
    for candidate, regexp in [*_RESOLVERS.get(text[:1], []), *_WILDCARD_RESOLVERS]:
        if regexp.match(text):
            tag = candidate
            break
    if tag not in KNOWN_TAGS:
        raise _Bail  # a merge key or anything unforeseen
    value = construct(tag, text)
    if tag == FLOAT and not math.isfinite(value):
        raise _Bail
    if len(_PLAIN_CACHE) >= _PLAIN_CACHE_SIZE:
        _PLAIN_CACHE.clear()
    _PLAIN_CACHE[text] = (tag, value)
    return tag, value


# Marks of paths this long (`flows.<slug>.fields.<slug>`) are kept when a file is read; deeper
# ones are found again from the text when first asked for, by a problem or a warning.
SHALLOW = 4
_DEEP_CACHE: OrderedDict[_DeepMarks, tuple[dict[PathKey, Any], dict[PathKey, Any]]]
_DEEP_CACHE = OrderedDict()
_DEEP_CACHE_SIZE = 8  # files whose deep marks are held at once


class _DeepMarks:
    """Every mark of one file, read again from its text when needed (a few files at a time)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def marks(self) -> tuple[dict[PathKey, Any], dict[PathKey, Any]]:
        found = _DEEP_CACHE.get(self)
        if found is not None:
            _DEEP_CACHE.move_to_end(self)
            return found
        parser = _CParser(self.text)
        try:
            builder = _FastBuilder(parser, self.text, None)
            builder.document()  # read once already: it cannot fail now
        finally:
            parser.dispose()
        found = (builder.value_marks, builder.key_marks)
        _DEEP_CACHE[self] = found
        if len(_DEEP_CACHE) > _DEEP_CACHE_SIZE:
            _DEEP_CACHE.popitem(last=False)
        return found


class _Marks(Mapping[PathKey, tuple[int, int]]):
    """Value or key marks (`which` 0 or 1) of a fast-read file: the shallow ones at hand."""

    __slots__ = ("deep", "shallow", "which")

    def __init__(self, shallow: dict[PathKey, Any], deep: _DeepMarks, which: int) -> None:
        self.shallow = shallow
        self.deep = deep
        self.which = which

    def __getitem__(self, path: PathKey) -> tuple[int, int]:
        if len(path) <= SHALLOW:
            return self.shallow[path]  # type: ignore[no-any-return]
        return self.deep.marks()[self.which][path]  # type: ignore[no-any-return]

    def __contains__(self, path: object) -> bool:
        if isinstance(path, tuple) and len(path) <= SHALLOW:
            return path in self.shallow
        return path in self.deep.marks()[self.which]

    def __iter__(self) -> Iterator[PathKey]:
        return iter(self.deep.marks()[self.which])

    def __len__(self) -> int:
        return len(self.deep.marks()[self.which])


class _FastBuilder:
    """Values and marks from libyaml's events, for a file with nothing to report."""

    def __init__(self, parser: Any, text: str, limit: int | None = SHALLOW) -> None:
        self.next = parser.get_event
        self.text = text
        self.limit = limit  # marks of paths at most this long (None: all)
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
        if self.limit is None:
            return LoadedDocument(data, self.value_marks, self.key_marks)
        deep = _DeepMarks(self.text)
        return LoadedDocument(
            data, _Marks(self.value_marks, deep, 0), _Marks(self.key_marks, deep, 1)
        )

    def child(self, path: PathKey | None, step: str | int) -> PathKey | None:
        """The path of a child, or None past the depth whose marks are kept."""
        if path is None or (self.limit is not None and len(path) >= self.limit):
            return None
        return (*path, step)

    def value(self, event: Any, path: PathKey | None, depth: int) -> Any:
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
        if path is not None:
            mark = event.start_mark
            self.value_marks[path] = (mark.line + 1, mark.column + 1)
        if kind is ScalarEvent:
            if not event.implicit[0]:
                return event.value
            if not event.value:
                raise _Bail  # an empty value: libyaml may place it elsewhere than PyYAML
            return _resolved(event.value)[1]
        if kind is SequenceStartEvent:
            items: list[Any] = []
            item = self.next()
            while type(item) is not SequenceEndEvent:
                items.append(self.value(item, self.child(path, len(items)), depth + 1))
                item = self.next()
            return items
        return self.mapping(path, depth)

    def mapping(self, path: PathKey | None, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        key_event: Any = self.next()
        while type(key_event) is not MappingEndEvent:
            if type(key_event) is not ScalarEvent or key_event.tag or key_event.anchor:
                raise _Bail  # a non-scalar key, an alias as a key, a tag or an anchor
            key: str = key_event.value
            if key in result or (key_event.implicit[0] and key in ("<<", "")):
                raise _Bail  # a duplicate, a merge key, or an empty key (placed differently)
            key_path = self.child(path, key)
            if key_path is not None:
                mark: Any = key_event.start_mark
                self.key_marks[key_path] = (mark.line + 1, mark.column + 1)
            result[key] = self.value(self.next(), key_path, depth + 1)
            key_event = self.next()
        return result
