"""Reading back whether a write whose answer was lost was applied, within its deadline.

POST is not idempotent and the API has no idempotency keys (epcc-api.md §2.7): a create whose
answer was lost, or that was refused as a duplicate after a lost attempt, is read back (its
`Call.find`) and what is found is adopted (§0, §3.6, §4.7); an update's `Call.verify` is read
back the same way. A read-back is part of its operation's budget: `read_back` marks the
operation's end, and every request the read-back sends ends by then (`operation_end`).
"""

from __future__ import annotations

import contextvars

from provisioner.client.calls import Finder
from provisioner.client.responses import JsonObject
from provisioner.errors import RateLimitedError, ServerError, TransportError

# Statuses a duplicate create is refused with: 422 locally, 400 or 409 plausibly (§0).
DUPLICATE_STATUSES = frozenset({400, 409, 422})
# A read-back that failed this way is one failed attempt of its operation, tried again.
READ_BACK_RETRYABLE = (ServerError, RateLimitedError, TransportError)
# The deadline of the operation a read-back belongs to (monotonic seconds), if any.
_OPERATION_END: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "provisioner_operation_end", default=None
)


def operation_end() -> float | None:
    """The end of the operation whose read-back is sending, if a read-back is."""
    return _OPERATION_END.get()


async def read_back(find: Finder, end: float) -> JsonObject | None:
    """Ask `find` whether a lost write was applied, within the operation's deadline."""
    token = _OPERATION_END.set(end)
    try:
        return await find()
    finally:
        _OPERATION_END.reset(token)
