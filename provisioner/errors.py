"""One exception tree for the whole program.

Every error we raise on purpose derives from `ProvisionerError` and carries the exit code the
CLI uses for it (README "Exit codes"): 1 for errors, 3 for plans refused as destructive (or out
of promotion order), 130 for an interrupted apply. The CLI
is the one place that catches these, prints `str(error)` and exits with `error.exit_code`.

    ProvisionerError
    ├── ConfigError          bad YAML input; holds every `Diagnostic` found (file:line:col, path)
    ├── ApiError             an HTTP answer we could not use (method, path, status, title,
    │   │                    detail, request id; never headers, tokens or secrets)
    │   ├── AuthError            401/403, and any failure of the token endpoint
    │   ├── NotFoundError        404
    │   ├── ConflictError        409
    │   │   └── ConcurrentChangeError  a duplicate create whose live object differs
    │   ├── ValidationApiError   400/422
    │   ├── ListTooLongError     a list longer than `page[offset]` can reach
    │   ├── IncompleteListError  a list whose records do not add up to its total
    │   ├── RateLimitedError     429 once retries are exhausted
    │   └── ServerError          5xx once retries are exhausted
    ├── TransportError       timeouts and connection failures once retries are exhausted
    ├── ReadOnlyError        a write attempted with read-only (implicit) credentials
    ├── UnsafePlanError      the plan holds destructive operations that were not allowed (exit 3)
    ├── PlanError            the desired state cannot be reached in this store (e.g. field limit)
    ├── StalePlanError       a saved plan whose live objects changed since it was made
    ├── PlanFormatError      a saved plan file we cannot read
    ├── ApplyError           an apply that stopped part-way: what was applied, what failed
    ├── ApplyInterrupted     an apply stopped by Ctrl-C: what was applied, abandoned (exit 130)
    ├── CycleError           plan operations that depend on each other in a circle
    ├── ProjectError         a project-level mistake (an unknown `--env`)
    ├── OrderError           an environment `after` another is not in step yet (exit 3)
    ├── ExportError          an export that cannot be written as asked
    ├── OutputError          output that cannot be written as asked
    └── TargetError          no safe store to talk to (e.g. CI without a configured store)

Modules keep private exceptions that never leave them (yamlload's `_Fatal` and `_Bail`,
schemacheck's `Unsupported`: control flow, caught where raised); the local store's HTTP
problems live in `provisioner.localstore`. This module imports nothing of ours at run time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from provisioner.printable import escape_controls

if TYPE_CHECKING:
    from provisioner.operations import Operation


class ProvisionerError(Exception):
    """Base of every error the program raises on purpose."""

    exit_code: int = 1


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One problem in the user's input, located precisely.

    `path` is the dotted YAML path (`flows.customers.fields.x.default`), empty for the file
    itself; `line` and `column` are 1-based (0 when the problem has no position in the file).
    """

    file: str
    line: int
    column: int
    path: str
    message: str
    expected: str = ""

    def __str__(self) -> str:
        """One line; control characters (C0, bidirectional) escaped, as plans show them."""
        where = f"{self.file}:{self.line}:{self.column}"
        path = f" {self.path}:" if self.path else ""
        expected = f" (expected {self.expected})" if self.expected else ""
        return escape_controls(f"{where}:{path} {self.message}{expected}")


class ConfigError(ProvisionerError):
    """The desired-state files are invalid; `diagnostics` lists every problem, sorted."""

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        self.diagnostics = tuple(sorted(diagnostics))
        count = len(self.diagnostics)
        lines = [str(d) for d in self.diagnostics]
        lines.append(f"{count} problem{'s' if count != 1 else ''} found.")
        super().__init__("\n".join(lines))


class ApiError(ProvisionerError):
    """An HTTP answer that the program could not use."""

    def __init__(
        self,
        method: str,
        path: str,
        status: int,
        title: str = "",
        detail: str = "",
        request_id: str | None = None,
    ) -> None:
        self.method = method
        self.path = path
        self.status = status
        self.title = title
        self.detail = detail
        self.request_id = request_id
        # An answer that came (200) but cannot be used is not a failed request: no status.
        text = f"{method} {path}:" if status < 300 else f"{method} {path} failed: {status}"
        # The store's own words, quoted on one line: every control (a new line too) escaped,
        # wherever the message is printed (`Error:` lines, apply's per-operation lines).
        if title:
            text += f" {escape_controls(title)}"
        if detail and detail != title:
            text += f": {escape_controls(detail)}"
        if request_id:
            text += f" (request id {request_id})"
        super().__init__(text)


class AuthError(ApiError):
    """Authentication failed or the token lacks permission (401/403)."""


class NotFoundError(ApiError):
    """The object does not exist (404)."""


class ConflictError(ApiError):
    """A write conflict (409)."""


class ConcurrentChangeError(ConflictError):
    """A create refused as a duplicate: another writer made the object, not as we would.

    The store holds an object we were about to create, with other attributes than those we
    sent; it changed since the plan was made, so the plan no longer describes what to do.
    """

    def __init__(self, refused: ApiError, what: str, attributes: Sequence[str]) -> None:
        self.what = what
        self.attributes = tuple(attributes)
        super().__init__(
            refused.method,
            refused.path,
            refused.status,
            "another writer changed the store",
            f"{what} already exists with a different {', '.join(self.attributes)}; it was "
            "created since the plan was made: run `provisioner plan` again",
            refused.request_id,
        )


class ValidationApiError(ApiError):
    """The API rejected the body (400/422)."""


class RateLimitedError(ApiError):
    """Still rate limited (429) after every retry."""

    # The wait the store asked for (`Retry-After`, seconds) when it ran past the deadline.
    retry_after: float | None = None


class ServerError(ApiError):
    """The server failed (5xx) on every attempt."""


class ListTooLongError(ApiError):
    """A list holds more records than `page[offset]` can reach (§2.2: at most 10,000).

    Raised after the first page, before any other is asked for: the caller reads the list
    another way (the reader lists fields per flow) or reports it."""

    def __init__(self, path: str, total: int | None, max_offset: int, page_size: int) -> None:
        counted = f"{total} records" if total is not None else "more records"
        super().__init__(
            "GET",
            path,
            200,
            "List too long",
            f"the store reports {counted}, but page[offset] stops at {max_offset} (epcc-api.md "
            f"2.2), so a list can show at most {max_offset + page_size}",
        )
        self.total = total


class IncompleteListError(ApiError):
    """The records of a list do not add up to the `meta.results.total` the store reported."""

    def __init__(self, path: str, read: int, total: int) -> None:
        super().__init__(
            "GET",
            path,
            200,
            "Incomplete list",
            f"read {read} records but the store reports {total} (meta.results.total): the list "
            "changed while it was read, or the store did not serve every page; nothing is "
            "planned or written from a partial list, run again",
        )
        self.read = read
        self.total = total


class TransportError(ProvisionerError):
    """The request never got an answer (timeout, connection error) on every attempt."""


class ReadOnlyError(ProvisionerError):
    """A write was attempted with read-only credentials (implicit grant, no client secret)."""


class UnsafePlanError(ProvisionerError):
    """The plan holds destructive operations and `--allow-destructive` was not given."""

    exit_code = 3

    def __init__(self, operations: Sequence[str]) -> None:
        self.operations = tuple(operations)
        listed = "\n".join(f"  {op}" for op in self.operations)
        super().__init__(
            "refusing to apply: the plan holds destructive operations "
            f"(re-run with --allow-destructive to apply them):\n{listed}"
        )


class PlanError(ProvisionerError):
    """The configuration cannot be applied to this store as it stands (found while planning)."""


class MigrationError(PlanError):
    """A migration (`--migrate`, issue 15) that cannot run: values that do not convert, a
    store in no stage a migration leaves, records that cannot all be read."""


class NotConvertible(ProvisionerError, ValueError):
    """A value without a lossless form in a field's new type; the message says why."""


class StalePlanError(ProvisionerError):
    """Objects touched by a saved plan changed in the store since the plan was made."""

    SHOWN = 30  # past this many, the rest are counted, not listed (issue 16)

    def __init__(self, objects: Sequence[str]) -> None:
        self.objects = tuple(objects)
        shown = self.objects[: self.SHOWN]
        listed = "\n".join(f"  - {key}" for key in shown)
        if len(self.objects) > len(shown):
            listed += (
                f"\n  ... and {len(self.objects) - len(shown)} more "
                f"({len(self.objects)} objects changed)"
            )
        super().__init__(
            f"the saved plan is stale: these objects changed since it was made:\n{listed}\n"
            "Run `provisioner plan` again."
        )


class PlanFormatError(ProvisionerError):
    """A saved plan file that is not a plan this version can execute."""


class ApplyError(ProvisionerError):
    """An apply that could not finish: what was applied, what failed, what was skipped.

    Operations that did not depend on a failed one ran anyway; `skipped` holds the dependants
    of the failures (operation, why), which were not attempted.
    """

    def __init__(
        self,
        applied: Sequence[str],
        failed: Sequence[tuple[str, str]],
        skipped: Sequence[tuple[str, str]] = (),
        *,
        listed_above: bool = False,
    ) -> None:
        self.applied = tuple(applied)
        self.failed = tuple(failed)
        self.skipped = tuple(skipped)
        head = f"apply stopped: {len(self.failed)} operation(s) failed"
        if self.skipped:
            head += f", {len(self.skipped)} skipped because they depend on a failed one"
        head += f"; {len(self.applied)} applied"
        # `listed_above`: the progress view already printed every operation (one summary).
        lines = [head + (" (listed above)." if listed_above else ".")]
        if not listed_above:  # each reason quotes the store: one line, controls escaped
            lines += [f"  failed: {op}: {escape_controls(why)}" for op, why in self.failed]
            lines += [f"  skipped: {op} ({escape_controls(why)})" for op, why in self.skipped]
        lines.append("Fix the cause and run apply again: it finishes the job.")
        super().__init__("\n".join(lines))


class TargetError(ProvisionerError):
    """No store to talk to safely (for example CI set and no store configured)."""


class ProjectError(ProvisionerError):
    """A project-level mistake that is not about one position (an unknown `--env`)."""


class OrderError(ProvisionerError):
    """An environment in `after` does not match the files yet: the apply is refused (exit 3)."""

    exit_code = 3


class CycleError(ProvisionerError):
    """The operations depend on each other in a circle; `nodes` names them in cycle order."""

    def __init__(self, nodes: Sequence[str]) -> None:
        self.nodes = tuple(nodes)
        super().__init__(
            "cannot order the plan: these operations depend on each other in a cycle: "
            + " -> ".join(self.nodes)
        )


EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a Ctrl-C


def interrupted_message(applied: int, total: int) -> str:
    """The one line an interrupted apply ends with."""
    return f"Apply interrupted: {applied} of {total} operations applied; run apply again to finish"


class ApplyInterrupted(ProvisionerError):
    """An apply stopped by an interrupt (Ctrl-C, SIGINT): what was applied, what was abandoned.

    Nothing new started after the interrupt; the operations in flight finished within the
    grace period (counted in `applied` when they succeeded) or were abandoned (`abandoned`:
    their outcome is unknown, and the next apply plans from the store as it is).
    """

    exit_code = EXIT_INTERRUPTED

    def __init__(self, applied: int, total: int, abandoned: tuple[Operation, ...] = ()) -> None:
        self.applied = applied
        self.total = total
        self.abandoned = abandoned
        super().__init__(interrupted_message(applied, total))


class ExportError(ProvisionerError):
    """An export that cannot be written as asked (a target exists, a flow is missing)."""


class OutputError(ProvisionerError):
    """Output that cannot be written as asked (a target exists, a place is not writable)."""
