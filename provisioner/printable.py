"""The one escaping of control characters for everything the program prints (issue 10.19).

Bidirectional controls (U+202A-U+202E, U+2066-U+2069, and the marks U+200E, U+200F, U+061C)
reorder what a terminal or a pull request shows ("Trojan Source"): a name holding one could
display as something else. C0 controls and DEL can fake a line or drive the terminal. Both are
shown as their `\\uXXXX` escape, as JSON writes C0 controls: in plans (text and Markdown) and
in diagnostics (`validate`, `plan`, every `Error:` line) alike.
"""

from __future__ import annotations

_BIDI = {
    code: f"\\u{code:04x}"
    for code in (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C)
}
_C0 = {code: f"\\u{code:04x}" for code in (*range(0x20), 0x7F)}
_ONE_LINE = {**_C0, **_BIDI}


def escape_controls(text: str, *, layout: bool = False) -> str:
    """`text` with every bidirectional control, C0 control and DEL shown as `\\uXXXX`.

    With `layout`, C0 controls and DEL are kept (new lines, tabs, terminal colours): for a
    whole output whose values were escaped already (a plan, a multi-line error); the
    bidirectional controls are escaped all the same.
    """
    return text.translate(_BIDI if layout else _ONE_LINE)
