"""What an apply reports as it runs: one `ApplyEvent` per step, for the progress view.

The applier emits them; `views/progress.py` shows them; neither imports the other. Pure.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from provisioner.errors import interrupted_message
from provisioner.operations import Operation

__all__ = ["ApplyEvent", "EventCallback", "EventKind", "interrupted_message"]


class EventKind(StrEnum):
    STARTED = "started"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"  # not run: it depends on an operation that failed (`error` names it)


@dataclass(frozen=True)
class ApplyEvent:
    """One step of an apply, for the progress display: operation `index` of `total`."""

    kind: EventKind
    index: int
    total: int
    operation: Operation
    error: str | None = None


EventCallback = Callable[[ApplyEvent], None]
