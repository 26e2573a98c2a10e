"""Ctrl-C early in a run (issue 10 item 3): one line and exit code 130, never a traceback.

A real `provisioner` process (the installed console script, as a user runs it) is blocked at
a known point, then sent SIGINT: while it reads a YAML file (a FIFO the test holds open without
writing) and while it imports click (a `sitecustomize` on PYTHONPATH, test-only, blocks the
import of click on a FIFO). The test waits until the process has opened the FIFO, so the
interrupt lands exactly there, whatever the machine's speed.

The signal is sent only once the process sleeps inside `read()` on the FIFO (its kernel wait
channel, /proc/PID/wchan, is a pipe read): a SIGINT that lands between `open()` returning and
the `read()` system call starting only sets CPython's pending-signal flag, and the `read()` then
blocks with nobody to run the handler (a race of CPython's, one run in about a hundred here;
a real file never blocks, so a user never meets it).
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from support import STORE_VARIABLES

SCRIPT = Path(sys.executable).parent / "provisioner"

# Blocks the first import of click until the FIFO named by the variable gets a writer.
SITECUSTOMIZE = """\
import os
import sys


class _BlockClick:
    def find_spec(self, name, path=None, target=None):
        if name == "click":
            sys.meta_path.remove(self)
            with open(os.environ["BLOCK_CLICK_FIFO"], "rb") as fifo:
                fifo.read()
        return None


sys.meta_path.insert(0, _BlockClick())
"""


def _interrupt_while_blocked(
    args: Sequence[str], fifo: Path, cwd: Path, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """Run the console script; once it has opened `fifo` to read, send SIGINT."""
    process = subprocess.Popen(
        [str(SCRIPT), *args],
        cwd=cwd,
        env={**{k: v for k, v in os.environ.items() if k not in STORE_VARIABLES}, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    writer = -1
    try:
        deadline = time.monotonic() + 30
        while writer < 0:
            # A non-blocking open for writing succeeds only once a reader has the FIFO open.
            try:
                writer = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError as error:
                if error.errno != errno.ENXIO:
                    raise
                assert process.poll() is None, process.communicate()
                assert time.monotonic() < deadline, "the process never opened the FIFO"
                time.sleep(0.005)
        _wait_until_reading(process, deadline)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    finally:
        if writer >= 0:
            os.close(writer)
        process.kill()
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def _wait_until_reading(process: subprocess.Popen[str], deadline: float) -> None:
    """Wait until `process` sleeps in a pipe read (where a signal interrupts it)."""
    wchan = Path(f"/proc/{process.pid}/wchan")
    while "pipe_read" not in wchan.read_text(encoding="ascii", errors="replace"):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the process never blocked reading the FIFO"
        time.sleep(0.005)


def _fifo(tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    os.mkfifo(path)
    return path


def test_ctrl_c_while_validate_reads_a_file_is_one_line_and_exit_130(tmp_path: Path) -> None:
    fifo = _fifo(tmp_path, "flows.yaml")
    done = _interrupt_while_blocked(["validate", str(fifo)], fifo, tmp_path, {})
    assert done.returncode == 130, done.stderr
    assert done.stderr == "Interrupted.\n"
    assert done.stdout == ""


def test_ctrl_c_while_apply_reads_its_files_says_nothing_was_applied(tmp_path: Path) -> None:
    fifo = _fifo(tmp_path, "flows.yaml")
    env = {
        "EPCC_API_BASE_URL": "http://127.0.0.1:9",
        "EPCC_CLIENT_ID": "id",
        "EPCC_CLIENT_SECRET": "secret",
    }
    done = _interrupt_while_blocked(["apply", str(fifo), "--auto-approve"], fifo, tmp_path, env)
    assert done.returncode == 130, done.stderr
    assert done.stderr == "Interrupted: nothing was applied.\n"
    assert done.stdout == ""


def test_ctrl_c_while_importing_click_is_one_line_and_exit_130(tmp_path: Path) -> None:
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(SITECUSTOMIZE, encoding="utf-8")
    fifo = _fifo(tmp_path, "block-click")
    env = {"PYTHONPATH": str(hooks), "BLOCK_CLICK_FIFO": str(fifo)}
    done = _interrupt_while_blocked(["validate", "--help"], fifo, tmp_path, env)
    assert "Traceback" not in done.stderr
    assert done.returncode == 130, done.stderr
    assert done.stderr == "Interrupted.\n"
