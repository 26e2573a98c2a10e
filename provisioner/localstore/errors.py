"""What the local store's storage and checks raise: domain errors, not HTTP answers.

Storage (`storage`, `extensions_storage`) and the body checks (`validation`) say what went wrong
in the store's own words; `answers.error_answer` is the one place that turns each of these into
the error body of the API the request belongs to (the flows' 422 with an integer `status`, or
Commerce Extensions' 400 with a string `status`). Nothing here imports starlette.
"""

from __future__ import annotations

import sqlite3


class StoreError(Exception):
    """A request the store refuses or cannot serve; `detail` is said to the client."""

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(detail)


class Invalid(StoreError):
    """The body breaks a rule (flows: 422 Failed Validation; extensions: 400 Bad Request)."""


class NotFound(StoreError):
    """No such object; `kind` names it ("flow", "entry", "Custom API", ...)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        super().__init__(f"{kind} not found")


class Conflict(StoreError):
    """The object already exists, or another one depends on it (409)."""


class NotAllowed(StoreError):
    """The API never does this to this object (405), e.g. deleting a core flow."""


class PreconditionFailed(StoreError):
    """`If-Match` names another version of the entry (412)."""


class TooLarge(StoreError):
    """The object is larger than the API keeps (413)."""


class StoreFailure(StoreError, sqlite3.OperationalError):
    """The store's own disk or database failed: `kind` is "full", "read-only" or "io".

    An answer for the API (507 for a full disk, else 503, with the detail), and still the
    `sqlite3.OperationalError` it was for callers outside a request (`serve`, the embedded
    store's set-up) that report database errors themselves.
    """

    def __init__(self, kind: str, detail: str) -> None:
        self.kind = kind
        super().__init__(detail)
