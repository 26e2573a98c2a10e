"""Pause Python's cyclic garbage collector while building large acyclic structures.

Loading 50,000 fields allocates millions of dicts, tuples and dataclasses, none of them in a
reference cycle, and each allocation burst triggers a collection that walks every object still
alive: a third to a half of the CPU time of `validate` and `plan` at that size went to it
(issue 16, BENCHMARKS.md "Scale"). Reference counting still frees everything as usual; the
collector is only held off for the duration of the call and runs again afterwards. Nested
pauses are free: only the outermost one turns it back on. After a pause that left more than
`FREEZE_ABOVE` new objects, they are frozen (`gc.freeze`): never walked by the collector again,
still freed by reference counting. Pure: no I/O.
"""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

# Tracked objects allocated during a pause past which they are frozen when it ends.
FREEZE_ABOVE = 50_000

P = ParamSpec("P")
R = TypeVar("R")


@contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic collection inside the block (unless it was already off)."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        if gc.get_count()[0] > FREEZE_ABOVE:
            # What a large pause leaves alive is long-lived data (a state, a plan): the first
            # collection after it would walk all of it, and later ones again (0.3-0.6 s at
            # 50,000 fields). Moved to the permanent generation, it is never walked again;
            # reference counting still frees it.
            gc.freeze()
        gc.enable()


def without_gc(function: Callable[P, R]) -> Callable[P, R]:
    """Decorator: `function` runs under `paused_gc`."""

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with paused_gc():
            return function(*args, **kwargs)

    return wrapper


__all__ = ["paused_gc", "without_gc"]
