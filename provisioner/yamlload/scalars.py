"""How a plain scalar resolves (PyYAML's safe resolver, without timestamps) and the value it
builds: one place for both loading paths."""

from __future__ import annotations

from typing import Any

from yaml.constructor import SafeConstructor
from yaml.nodes import ScalarNode
from yaml.resolver import Resolver

TAG = "tag:yaml.org,2002:"
MERGE = TAG + "merge"
NULL = TAG + "null"
BOOL = TAG + "bool"
INT = TAG + "int"
FLOAT = TAG + "float"
# Scalars kept as the text written: strings, timestamps (dates are strings in the API, 4.4),
# and the `=` value key.
STRING_TAGS = frozenset({TAG + "str", TAG + "timestamp", TAG + "value"})
# The tags `construct` builds a value of; any other keeps its text.
KNOWN_TAGS = STRING_TAGS | {NULL, BOOL, INT, FLOAT}


class SafeResolver(Resolver):
    """PyYAML's implicit resolvers without timestamps: dates stay strings (4.4)."""


SafeResolver.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != TAG + "timestamp"]
    for first, resolvers in Resolver.yaml_implicit_resolvers.items()
}

_CONSTRUCTOR = SafeConstructor()


def construct(tag: str, text: str) -> Any:
    """The plain value of a scalar resolved to `tag`, as PyYAML's safe loader builds it (a float
    may be infinite or NaN: the caller decides); the text itself for a string or any tag not in
    `KNOWN_TAGS`."""
    if tag == NULL:
        return None
    if tag not in KNOWN_TAGS or tag in STRING_TAGS:
        return text
    node = ScalarNode(tag, text)
    if tag == BOOL:
        return bool(_CONSTRUCTOR.construct_yaml_bool(node))
    if tag == INT:
        return int(_CONSTRUCTOR.construct_yaml_int(node))
    return float(_CONSTRUCTOR.construct_yaml_float(node))


def mark(position: Any) -> tuple[int, int]:
    """A PyYAML mark as a 1-based (line, column)."""
    return (int(position.line) + 1, int(position.column) + 1)
