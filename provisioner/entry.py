"""The console-script entry point: a Ctrl-C at any moment is one line and exit code 130.

`provisioner` (and `python -m provisioner`) starts here, not in `provisioner.cli`, so that an
interrupt while Python imports click and the commands, or while a command reads its files
before anything reaches a store, is caught: importing this module imports nothing but the
standard library's `signal` and `sys`. The command-line interface itself (`provisioner.cli`)
turns the interrupts that reach it into the same line and exit code (README "Exit codes").
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Sequence
from typing import NoReturn

EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a Ctrl-C (errors.EXIT_INTERRUPTED)


def interrupted_line(args: Sequence[str]) -> str:
    """The one line for an interrupt that reached the entry point (before anything was sent).

    An interrupt during an apply is reported by the apply itself (how many operations were
    applied); one that reaches the entry point came before any write.
    """
    return "Interrupted: nothing was applied." if "apply" in args else "Interrupted."


def interrupted(args: Sequence[str]) -> NoReturn:
    """Say that the run was interrupted and exit 130."""
    sys.stderr.write(interrupted_line(args) + "\n")
    sys.stderr.flush()
    sys.exit(EXIT_INTERRUPTED)


def main(argv: Sequence[str] | None = None) -> None:
    """Run the command-line interface; an interrupt anywhere (even in an import) exits 130."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        from provisioner.cli import main as run_cli

        run_cli(args)
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C while exiting: ignored
        interrupted(args)
