"""`run(coroutine)`: `asyncio.run` for the commands, without formatting the result.

Python 3.11's `asyncio.run` installs a SIGINT handler that holds the main task, and on the way
out asks `signal.getsignal`, which tries to turn that handler into a `signal.Handlers` member:
the failed lookup formats `repr(handler)`, so the repr of the task and of its result, in full,
twice. For a plan of 50,000 operations or a state of 25,000 fields that was a tenth of the
command's CPU (issue 16, BENCHMARKS.md "Scale"). Here the task's own result is None and the
value is handed back beside it. Pure: no I/O.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(coroutine)`, returning its value without ever formatting it."""
    box: list[T] = []

    async def main() -> None:
        box.append(await coroutine)

    asyncio.run(main())
    return box[0]


__all__ = ["run"]
