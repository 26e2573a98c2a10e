"""`run(coroutine)`: `asyncio.run` for the commands, without formatting the result.

Python 3.11's `asyncio.run` installs a SIGINT handler that holds the main task, and on the way
out asks `signal.getsignal`, which tries to turn that handler into a `signal.Handlers` member:
the failed lookup formats `repr(handler)`, so the repr of the task and of its result, in full,
twice. For a plan of 50,000 operations or a state of 25,000 fields that was a tenth of the
command's CPU (issue 16, BENCHMARKS.md "Scale"). Here the task's own result is None and the
value is handed back beside it.

`background(coroutine)`: a task started now that the caller may stop awaiting (another read
failed first): its exception is always retrieved, so a failed run prints its one error line
and never asyncio's "Task exception was never retrieved" with a traceback (issue 10).
Pure: no I/O.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def background(coroutine: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
    """`asyncio.create_task(coroutine)` whose exception counts as retrieved whoever awaits it.

    Awaiting the task still raises its exception; abandoning it (after another failure) no
    longer makes asyncio log it with a traceback when the task is collected. The caller
    cancels it when it stops waiting for it.
    """
    task = asyncio.create_task(coroutine)
    task.add_done_callback(_retrieve)
    return task


def _retrieve(task: asyncio.Task[Any]) -> None:
    if not task.cancelled():
        task.exception()


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(coroutine)`, returning its value without ever formatting it."""
    box: list[T] = []

    async def main() -> None:
        box.append(await coroutine)

    asyncio.run(main())
    return box[0]


__all__ = ["background", "run"]
