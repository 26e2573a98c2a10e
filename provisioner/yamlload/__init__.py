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

One module per job: `document` (the result, its marks and the limits), `scalars` (how a plain
scalar resolves and what value it builds, shared by both paths), `pure` (the pure-Python path,
which alone reports problems) and `fast` (the libyaml path).
"""

from __future__ import annotations

import codecs
from pathlib import Path

from provisioner.yamlload.document import (
    MAX_ALIASES,
    MAX_DEPTH,
    MAX_FILE_BYTES,
    MAX_NODES,
    LoadedDocument,
    PathKey,
    Problem,
    failed,
    size_limit,
)
from provisioner.yamlload.fast import fast_load
from provisioner.yamlload.pure import slow_load

__all__ = [
    "MAX_ALIASES",
    "MAX_DEPTH",
    "MAX_FILE_BYTES",
    "MAX_NODES",
    "LoadedDocument",
    "PathKey",
    "Problem",
    "load_bytes",
    "load_file",
]


def load_file(path: Path) -> LoadedDocument:
    """Read and load one file; problems (including an unreadable file) are in the result."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            return failed(1, 1, f"file is too large ({size} bytes)", size_limit())
        with path.open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        return failed(0, 0, f"cannot read the file: {error.strerror or error}", "a readable file")
    return load_bytes(raw)


def load_bytes(raw: bytes) -> LoadedDocument:
    """Load one YAML document from bytes; never raises for bad input."""
    if len(raw) > MAX_FILE_BYTES:
        return failed(1, 1, f"file is too large ({len(raw)} bytes)", size_limit())
    bom = len(codecs.BOM_UTF8) if raw.startswith(codecs.BOM_UTF8) else 0
    try:
        text = raw[bom:].decode("utf-8")
    except UnicodeDecodeError as error:
        offset = bom + error.start
        line, column = _byte_position(raw[bom:], error.start)
        return failed(line, column, f"not UTF-8 (byte 0x{raw[offset]:02x})", "UTF-8 text")
    if not text.strip():
        return failed(1, 1, "the file is empty", "a mapping with a `flows` key")
    fast = fast_load(text)
    if fast is not None:
        return fast
    return slow_load(text)


def _byte_position(raw: bytes, offset: int) -> tuple[int, int]:
    before = raw[:offset]
    line_start = before.rfind(b"\n") + 1
    return (before.count(b"\n") + 1, len(before[line_start:].decode("utf-8", "replace")) + 1)
