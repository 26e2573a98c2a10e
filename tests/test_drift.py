"""Drift told apart from pending file changes by the applied record (issue 13.5)."""

from __future__ import annotations

from provisioner.drift import drift_state, drifted, record, recorded_objects
from provisioner.model import Field, Flow, State
from provisioner.planner import plan


def state(name: str = "Nickname", *, prune: bool = False, extra: bool = False) -> State:
    fields = {"nickname": Field(slug="nickname", field_type="string", name=name)}
    if extra:
        fields["fax"] = Field(slug="fax", field_type="string", name="Fax", id="f2")
    return State(flows={"customers": Flow(slug="customers", name="C", fields=fields, prune=prune)})


def live(name: str = "Nickname", *, extra: bool = False) -> State:
    fields = {"nickname": Field(slug="nickname", field_type="string", name=name, id="f1")}
    if extra:
        fields["fax"] = Field(slug="fax", field_type="string", name="Fax", id="f2")
    return State(flows={"customers": Flow(slug="customers", name="C", fields=fields, id="c1")})


def test_a_live_change_to_an_object_the_files_did_not_change_is_drift() -> None:
    applied = recorded_objects(record("staging", state()))
    changed_live = plan(state(), live("Nick"))
    assert [op.describe() for op in drifted(changed_live, state(), applied)] == [
        "~ update_field customers.nickname"
    ]
    assert drift_state(changed_live, state(), applied) is True


def test_a_change_in_the_files_is_pending_not_drift() -> None:
    applied = recorded_objects(record("staging", state()))
    pending = plan(state("Nick"), live())
    assert drifted(pending, state("Nick"), applied) == []
    assert drift_state(pending, state("Nick"), applied) is False


def test_without_a_record_drift_is_unknown_unless_sure() -> None:
    pending = plan(state("Nick"), live())
    assert drift_state(pending, state("Nick"), None) is None
    assert drift_state(plan(state(), live()), state(), None) is False
    # A field the files never declared, pruned: it can only have been added by hand.
    pruned = plan(state(prune=True), live(extra=True))
    assert [op.describe() for op in drifted(pruned, state(prune=True), None)] == [
        "- delete_field customers.fax"
    ]


def test_records_we_did_not_write_are_not_read() -> None:
    assert recorded_objects({"format_version": 2, "objects": {}}) is None
    assert recorded_objects({"format_version": 1, "objects": {"a": 1}}) is None
    assert recorded_objects([]) is None
