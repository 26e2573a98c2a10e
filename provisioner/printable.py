"""The one escaping of control characters for everything the program prints (issue 10.19).

Bidirectional controls (U+202A-U+202E, U+2066-U+2069, and the marks U+200E, U+200F, U+061C)
reorder what a terminal or a pull request shows ("Trojan Source"): a name holding one could
display as something else. C0 controls, DEL and C1 controls can fake a line or drive the
terminal. All are shown as their `\\uXXXX` escape, as JSON writes C0 controls: in plans (text
and Markdown) and in diagnostics (`validate`, `plan`, every `Error:` line, a store's own
message quoted in one) alike.
"""

from __future__ import annotations

_BIDI = {
    code: f"\\u{code:04x}"
    for code in (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C)
}
# C0 controls, DEL and the C1 controls (U+0080-U+009F: U+009B is a terminal's CSI, as ESC [).
_C0 = {code: f"\\u{code:04x}" for code in (*range(0x20), *range(0x7F, 0xA0))}
_ONE_LINE = {**_C0, **_BIDI}
# A message of several lines: every control but the new line and the tab.
_LINES = {code: escaped for code, escaped in _ONE_LINE.items() if chr(code) not in "\n\t"}


def escape_controls(text: str, *, layout: bool = False, lines: bool = False) -> str:
    """`text` with every bidirectional control, C0 and C1 control and DEL shown as `\\uXXXX`.

    With `layout`, C0 controls and DEL are kept (new lines, tabs, terminal colours): for a
    whole output whose values were escaped already (a plan); the bidirectional controls are
    escaped all the same. With `lines`, only new lines and tabs are kept: for a message of
    several lines holding text from elsewhere (an `Error:` line quoting a store's answer).
    """
    if layout:
        return text.translate(_BIDI)
    return text.translate(_LINES if lines else _ONE_LINE)
