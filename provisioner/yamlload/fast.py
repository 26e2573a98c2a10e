"""The fast loading path (issue 16): libyaml's events straight to plain values and marks, for a
file with nothing to report; anything else is left to the pure-Python path (`fast_load` answers
None), so every diagnostic is exactly that path's."""

from __future__ import annotations

import importlib
import math
import re
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
        return _FastBuilder(parser).document()
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
            return _resolved(event.value)[1]
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
