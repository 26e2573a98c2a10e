"""Show an apply as it runs: a progress bar on a terminal, one plain line per step elsewhere.

The applier emits `ApplyEvent`s; this view turns them into output and never decides anything.
On a terminal (rich) a bar counts the operations and a line is printed as each one finishes;
in CI and pipes each finished operation is one plain line (`+ create_field customers.x ...
done`), so logs stay readable and greppable. `finish` prints the outcome and the client's
request statistics.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType
from typing import IO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from provisioner.events import ApplyEvent, EventKind, interrupted_message
from provisioner.plan import Operation
from provisioner.printable import escape_controls


class ApplyProgress:
    """Context manager and event callback: `with ApplyProgress(n) as p: apply(..., on_event=p)`."""

    def __init__(
        self,
        total: int,
        *,
        stream: IO[str] | None = None,
        terminal: bool | None = None,
        color: bool = False,
    ) -> None:
        self.total = total
        self.applied: list[Operation] = []
        self.failed: list[tuple[Operation, str]] = []
        self.skipped: list[tuple[Operation, str]] = []
        self._console = Console(
            file=stream,
            force_terminal=terminal,
            no_color=not color,
            highlight=False,
            soft_wrap=True,
        )
        self._terminal = self._console.is_terminal if terminal is None else terminal
        self._progress: Progress | None = None
        self._task_id: TaskID | None = None

    def __enter__(self) -> ApplyProgress:
        if self._terminal and self.total:
            self._progress = Progress(
                TextColumn("[bold]Applying"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("{task.description}"),
                console=self._console,
                transient=True,
            )
            self._progress.start()
            self._task_id = self._progress.add_task("", total=self.total)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def __call__(self, event: ApplyEvent) -> None:
        op = event.operation
        if event.kind is EventKind.STARTED:
            self._advance(0, op.describe())
            return
        # A failure quotes the store's own words: one line, every control shown escaped.
        why = escape_controls(str(event.error)) if event.error else None
        if event.kind is EventKind.SUCCEEDED:
            self.applied.append(op)
            self._line(f"{op.describe()} ... done")
        elif event.kind is EventKind.SKIPPED:
            self.skipped.append((op, why or "a dependency failed"))
            self._line(f"{op.describe()} ... skipped: {why}", style="yellow")
        else:
            self.failed.append((op, why or "failed"))
            self._line(f"{op.describe()} ... FAILED: {why}", style="red")
        self._advance(1, "")

    def _advance(self, steps: int, description: str) -> None:
        if self._progress is not None and self._task_id is not None:
            self._progress.update(self._task_id, advance=steps, description=description)

    def _line(self, text: str, style: str | None = None) -> None:
        self._console.print(text, style=style, markup=False)

    def finish(self, stats_summary: str | None = None) -> None:
        """Print the outcome and the stats; after a failure, one summary of every operation.

        The summary lists what was applied, every failure with its reason and every operation
        skipped because it depends on a failed one (Terraform's graph walk: independent
        operations still ran).
        """
        if self.failed:
            skipped = f", {len(self.skipped)} skipped" if self.skipped else ""
            self._line(
                f"Apply stopped: {len(self.applied)} of {self.total} operation(s) applied, "
                f"{len(self.failed)} failed{skipped}.",
                style="red",
            )
            for op in self.applied:
                self._line(f"  applied: {op.describe()}")
            for op, why in self.failed:
                self._line(f"  failed:  {op.describe()}: {why}")
            for op, why in self.skipped:
                self._line(f"  skipped: {op.describe()} ({why})")
        else:
            self._line(f"Apply complete: {len(self.applied)} operation(s) applied.")
        if stats_summary:
            self._line(stats_summary)

    def interrupted(
        self, abandoned: Sequence[Operation] = (), stats_summary: str | None = None
    ) -> None:
        """Print the outcome of an interrupted apply: never "complete", and how to finish."""
        self._line(interrupted_message(len(self.applied), self.total), style="red")
        for op in abandoned:
            self._line(f"  abandoned in flight (outcome unknown): {op.describe()}")
        if stats_summary:
            self._line(stats_summary)
