"""The apply progress view: plain lines off a terminal, a bar on one, and the outcome."""

from __future__ import annotations

import io

from provisioner.applier import ApplyEvent, EventKind
from provisioner.plan import Operation, OpKind
from provisioner.views.progress import ApplyProgress

OPS = (
    Operation(OpKind.CREATE_FLOW, "wishlists"),
    Operation(OpKind.CREATE_FIELD, "customers", "nickname"),
    Operation(OpKind.DELETE_FIELD, "customers", "legacy"),
)


def _events(failing: int | None = None) -> list[ApplyEvent]:
    events = []
    for index, op in enumerate(OPS):
        events.append(ApplyEvent(EventKind.STARTED, index, len(OPS), op))
        if index == failing:
            events.append(ApplyEvent(EventKind.FAILED, index, len(OPS), op, "422 Failed"))
        else:
            events.append(ApplyEvent(EventKind.SUCCEEDED, index, len(OPS), op))
    return events


def test_plain_lines_off_a_terminal() -> None:
    stream = io.StringIO()
    with ApplyProgress(len(OPS), stream=stream) as progress:
        for event in _events():
            progress(event)
    progress.finish("Requests: 4 (GET 1, POST 3)")
    assert stream.getvalue().splitlines() == [
        "+ create_flow wishlists ... done",
        "+ create_field customers.nickname ... done",
        "- delete_field customers.legacy ... done",
        "Apply complete: 3 operation(s) applied.",
        "Requests: 4 (GET 1, POST 3)",
    ]
    assert "\x1b[" not in stream.getvalue()


def test_a_failure_lists_what_was_applied_and_what_failed() -> None:
    stream = io.StringIO()
    with ApplyProgress(len(OPS), stream=stream) as progress:
        for event in _events(failing=1):
            progress(event)
    progress.finish()
    lines = stream.getvalue().splitlines()
    assert "+ create_field customers.nickname ... FAILED: 422 Failed" in lines
    assert lines[-4:] == [
        "Apply stopped: 2 of 3 operation(s) applied, 1 failed.",
        "  applied: + create_flow wishlists",
        "  applied: - delete_field customers.legacy",
        "  failed:  + create_field customers.nickname: 422 Failed",
    ]


def test_a_terminal_gets_a_bar_and_still_every_finished_operation() -> None:
    stream = io.StringIO()
    with ApplyProgress(len(OPS), stream=stream, terminal=True) as progress:
        for event in _events():
            progress(event)
    progress.finish()
    output = stream.getvalue()
    assert "Applying" in output
    for op in OPS:
        assert f"{op.describe()} ... done" in output
    assert "Apply complete: 3 operation(s) applied." in output


def test_skipped_operations_are_shown_and_summarised_with_the_failures() -> None:
    stream = io.StringIO()
    with ApplyProgress(len(OPS), stream=stream) as progress:
        progress(ApplyEvent(EventKind.STARTED, 0, len(OPS), OPS[0]))
        progress(ApplyEvent(EventKind.FAILED, 0, len(OPS), OPS[0], "500 Internal"))
        why = "depends on + create_flow wishlists, which failed"
        progress(ApplyEvent(EventKind.SKIPPED, 1, len(OPS), OPS[1], why))
        progress(ApplyEvent(EventKind.STARTED, 2, len(OPS), OPS[2]))
        progress(ApplyEvent(EventKind.SUCCEEDED, 2, len(OPS), OPS[2]))
    progress.finish()
    lines = stream.getvalue().splitlines()
    assert f"+ create_field customers.nickname ... skipped: {why}" in lines
    assert lines[-4:] == [
        "Apply stopped: 1 of 3 operation(s) applied, 1 failed, 1 skipped.",
        "  applied: - delete_field customers.legacy",
        "  failed:  + create_flow wishlists: 500 Internal",
        f"  skipped: + create_field customers.nickname ({why})",
    ]
