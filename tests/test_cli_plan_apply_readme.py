"""README "## plan and apply": its command block runs as written, in order, on a fresh store.

Each line is run through the real CLI (in-process) in a directory holding a copy of
`examples/`, on the embedded local store (`--db` added), and must exit 0: the saved plan
applies, after which `apply examples/` has nothing to do and the last plan is empty.
"""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest

from provisioner.cli import main

REPO = Path(__file__).parent.parent


def _readme_block(section: str) -> list[list[str]]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    body = text.split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", body, re.DOTALL)
    assert block is not None
    return [shlex.split(line, comments=True) for line in block.group(1).splitlines()]


def test_the_plan_and_apply_block_runs_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copytree(REPO / "examples", tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    for name in ("EPCC_API_BASE_URL", "EPCC_CLIENT_ID", "EPCC_CLIENT_SECRET", "CI"):
        monkeypatch.delenv(name, raising=False)
    commands = _readme_block("plan and apply")
    assert len(commands) >= 5
    outputs = []
    for words in commands:
        assert words[0] == "provisioner"
        with pytest.raises(SystemExit) as exited:
            main([*words[1:], "--db", str(tmp_path / "store.sqlite")])
        out, err = capsys.readouterr()
        assert exited.value.code == 0, f"{' '.join(words)}\n{out}\n{err}"
        outputs.append(out)
    assert (tmp_path / "plan.json").is_file()
    assert "Apply complete:" in outputs[4]
    assert "No changes." in outputs[-1]
