"""Golden scenarios: the plan of every `tests/cases/<name>/`, in text, JSON and Markdown.

Each scenario holds `start.yaml` (what the store holds first, in our YAML format),
`desired.yaml` (or a `desired/` folder) and the expected `plan.txt`, `plan.json` and `plan.md`.
This test is pure: the start state becomes live API objects with deterministic IDs
(`id-<flow>`, `id-<flow>.<field>`, with the server's keys a real answer carries), goes back
through `normalize.state_from_api`, and is planned against the desired state.

Run `UPDATE_GOLDEN=1 pytest tests/test_golden.py` to rewrite the expected files, then review
the diff. The end-to-end convergence of the same scenarios against the local store lives with
the applier's tests; `scenario_names`, `desired_paths` and `load_start` are shared with them.
"""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path

import pytest
from support.golden import live_state, rendered

from provisioner.config import load_desired
from provisioner.model import State
from provisioner.plan import OpKind, Plan, Safety, entries_key
from provisioner.planner import plan

CASES = Path(__file__).parent / "cases"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
OUTPUTS = ("plan.txt", "plan.json", "plan.md")


def scenario_names() -> list[str]:
    return sorted(path.name for path in CASES.iterdir() if (path / "start.yaml").is_file())


def desired_paths(case: Path) -> list[Path]:
    folder = case / "desired"
    return [folder] if folder.is_dir() else [case / "desired.yaml"]


def load_start(case: Path) -> State:
    return load_desired([case / "start.yaml"])


def scenario_plan(name: str) -> Plan:
    """The planner's plan, with what `provisioner plan` adds after its one read per deleted
    flow: the entry count (0: a start state holds no entries)."""
    case = CASES / name
    result = plan(load_desired(desired_paths(case)), live_state(load_start(case)))
    return result.with_fingerprints({entries_key(slug): "0" for slug in result.deleted_flows})


@pytest.mark.parametrize("name", scenario_names())
def test_golden_plan(name: str) -> None:
    case = CASES / name
    result = scenario_plan(name)
    outputs = rendered(result)
    if UPDATE:
        for file_name, text in outputs.items():
            (case / file_name).write_text(text, encoding="utf-8")
    for file_name, text in outputs.items():
        expected = (case / file_name).read_text(encoding="utf-8")
        assert text == expected, f"{name}/{file_name} differs (UPDATE_GOLDEN=1 rewrites it)"
    assert Plan.from_json(outputs["plan.json"]) == result


def test_scenarios_cover_every_operation_and_class() -> None:
    plans = [scenario_plan(name) for name in scenario_names()]
    operations = [op for result in plans for op in result.operations]
    # Custom API kinds (issue 14) are covered by tests/custom_api_cases/; migrations (issue 15,
    # planned with the records read over HTTP) by tests/migration_cases/.
    planned_here = {kind for kind in OpKind if not kind.custom} - {OpKind.MIGRATE_FIELD}
    assert {op.kind for op in operations} == planned_here
    assert {op.safety for op in operations} == set(Safety)
    assert any(result.is_empty for result in plans)
    assert any(result.unmanaged for result in plans)
    assert any(op.kind is OpKind.REPLACE_FIELD and op.from_flow_slug for op in operations)
    assert any(op.kind is OpKind.UPDATE_FLOW for op in operations)
    assert len(plans) >= 10


def test_every_scenario_has_all_its_files() -> None:
    for name in scenario_names():
        case = CASES / name
        missing = [f for f in ("desired.yaml", *OUTPUTS) if not (case / f).exists()]
        if missing == ["desired.yaml"] and (case / "desired").is_dir():
            missing = []
        assert missing == [], f"{name} lacks {missing}"


def test_readme_plan_examples_are_the_golden_files() -> None:
    """Every README block marked `<!-- golden: NAME/FILE -->` is that expected file verbatim."""
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    examples = re.findall(r"<!-- golden: ([\w./-]+) -->\n```\w*\n(.*?)```\n", readme, re.S)
    assert examples, "README.md shows no golden plan"
    for path, text in examples:
        assert text == (CASES / path).read_text(encoding="utf-8"), f"README example {path}"


def test_the_desired_state_as_a_store_lists_it_plans_nothing() -> None:
    """Pure convergence: what a store holds after the apply (absent things gone) plans empty."""
    for name in scenario_names():
        desired = load_desired(desired_paths(CASES / name))
        applied = State(
            flows={
                slug: dataclasses.replace(
                    flow, fields={s: f for s, f in flow.fields.items() if not f.absent}
                )
                for slug, flow in desired.flows.items()
                if not flow.absent
            }
        )
        again = plan(desired, live_state(applied))
        assert again.is_empty, f"{name}: {[op.describe() for op in again.operations]}"
