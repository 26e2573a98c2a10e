"""The wording the rules and `validate` share: values quoted and described for people."""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from provisioner.printable import escape_controls

# What a slug may hold, as people read `epcc.flows.FIELD_SLUG_PATTERN` (2.8): ASCII only.
SLUG_ALPHABET = "ASCII letters, digits, `_` and `-`"
# `epcc.flows.FLOW_SLUG_PATTERN` (3.4): the same, or a PXM template's flow.
FLOW_SLUG_ALPHABET = SLUG_ALPHABET + ", or a template like `products(book)`"


def quote(value: Any) -> str:
    """A value as JSON, cut to 60 characters; control characters escaped (`\\u202e`)."""
    text = escape_controls(json.dumps(value, ensure_ascii=False))
    return text if len(text) <= 60 else text[:57] + "..."


def describe(value: Any) -> str:
    """`the integer 0`, `the string "x"`, `a mapping`..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int):
        return f"the integer {value}"
    if isinstance(value, float):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the string {quote(value)}"
    if isinstance(value, dict):
        return "a mapping"
    return "a list"


def one_of(values: Sequence[Any]) -> str:
    words = [str(v) if isinstance(v, str) else quote(v) for v in values]
    return "one of " + ", ".join(words) if len(words) > 1 else (words[0] if words else "nothing")


def article(word: str) -> str:
    return f"{'an' if word[:1] in 'aeiou' else 'a'} {word}"


_TYPE_WORDS: Mapping[str, str] = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
    "object": "a mapping",
    "array": "a list",
}


def suggest(word: str, candidates: Iterable[str]) -> str:
    """`; did you mean `x`?` for a close candidate, else nothing."""
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.75)
    return f"; did you mean `{close[0]}`?" if close else ""


def type_words(json_types: Iterable[str]) -> str:
    return " or ".join(_TYPE_WORDS.get(t, t) for t in json_types)
