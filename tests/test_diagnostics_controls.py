"""Bidirectional controls in diagnostics (issue 10 item 19): escaped like the C0 controls.

Plans escaped them already; `validate` and `plan` printed them raw in the messages (a
`field_type: "str\\u0007ing\\u202eX"` showed the BEL escaped but U+202E raw) and in the paths
(a field slug key `g\\u202eh`). Diagnostics and plans now share one escaping
(`provisioner.printable`). Real files, the CLI run in-process; `plan` against the local store.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from support import Cli

if TYPE_CHECKING:
    from support.store import LocalStore

BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
YAML = (
    "flows:\n"
    "  x:\n"
    "    name: X\n"
    "    fields:\n"
    '      "g\\u202Eh": {name: G, field_type: "str\\u0007ing\\u202eX"}\n'
    '      "a\\u2066b\\u0007": {name: N, field_type: string}\n'
)


def _bad_file(tmp_path: Path) -> Path:
    path = tmp_path / "bidi.yaml"
    path.write_text(YAML, encoding="utf-8")
    return path


def _assert_escaped(output: str) -> None:
    assert not set(output) & set(BIDI), output
    assert "\a" not in output
    assert 'unknown value "str\\u0007ing\\u202eX"' in output
    assert "flows.x.fields.g\\u202eh:" in output
    assert '"g\\u202eh" is not a valid field slug' in output
    assert "flows.x.fields.a\\u2066b\\u0007:" in output


def test_validate_escapes_bidi_controls_in_paths_and_values(cli: Cli, tmp_path: Path) -> None:
    result = cli("validate", _bad_file(tmp_path))
    assert result.code == 1
    _assert_escaped(result.out + result.err)


def test_plan_escapes_bidi_controls_in_its_diagnostics(
    cli: Cli, tmp_path: Path, local_store: LocalStore
) -> None:
    result = cli("plan", _bad_file(tmp_path), env=local_store.env())
    assert result.code == 1
    assert "Error:" in result.err
    _assert_escaped(result.out + result.err)
