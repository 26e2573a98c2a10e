"""`apply` on a terminal: it shows the plan and asks; "no" changes nothing, "yes" applies.

Runs the real CLI in a subprocess on a pseudo-terminal, against the embedded local store.
"""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

PROMPT = b"Apply these changes to the store?"
DESIRED = """\
flows:
  wishlists:
    name: Wishlists
    fields:
      title:
        name: Title
        field_type: string
"""


def _run_on_a_terminal(args: list[str], answer: bytes, cwd: Path) -> tuple[int, str]:
    """Run `provisioner ARGS` on a pty, answer the prompt, return (exit code, output)."""
    master, slave = pty.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith("EPCC_") and k != "CI"}
    env["NO_COLOR"] = "1"
    process = subprocess.Popen(
        [sys.executable, "-m", "provisioner", *args],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        cwd=cwd,
        env=env,
        close_fds=True,
    )
    os.close(slave)
    output = b""
    answered = False
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 4096)
                except OSError:  # the child closed the terminal (Linux raises EIO)
                    break
                if not chunk:
                    break
                output += chunk
            if not answered and PROMPT in output:
                os.write(master, answer + b"\n")
                answered = True
            if process.poll() is not None and not ready:
                break
        code = process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(master)
    assert answered, output.decode(errors="replace")
    return code, output.decode(errors="replace").replace("\r\n", "\n")


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_apply_asks_on_a_terminal_no_changes_nothing_yes_applies(tmp_path: Path) -> None:
    desired = tmp_path / "flows.yaml"
    desired.write_text(DESIRED, encoding="utf-8")
    args = ["apply", str(desired), "--db", str(tmp_path / "store.sqlite")]

    code, output = _run_on_a_terminal(args, b"n", tmp_path)
    assert code == 1
    assert "+ create flow wishlists" in output
    assert "Apply cancelled: nothing was changed." in output

    code, output = _run_on_a_terminal(args, b"y", tmp_path)
    assert code == 0, output
    assert "Apply complete: 2 operation(s) applied." in output

    again = subprocess.run(
        [
            sys.executable,
            "-m",
            "provisioner",
            "plan",
            str(desired),
            "--detailed-exitcode",
            "--db",
            str(tmp_path / "store.sqlite"),
        ],
        cwd=tmp_path,
        env={k: v for k, v in os.environ.items() if not k.startswith("EPCC_") and k != "CI"},
        capture_output=True,
        check=False,
    )
    assert again.returncode == 0
