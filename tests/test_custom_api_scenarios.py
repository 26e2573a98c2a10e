"""Golden scenarios for Custom APIs (issue 14 proofs), each applied for real.

Every `tests/custom_api_cases/<name>/` holds `start.yaml` and `desired.yaml`. The start is
applied to a fresh local store over HTTP, the desired files are planned against it (text,
Markdown and JSON compared with the case's `plan.txt`, `plan.md`, `plan.json`, live IDs shown
as `<id>`, fingerprints as `<digest>`), applied with `--allow-destructive`, and planned
again: nothing is left to do.
`UPDATE_GOLDEN=1` rewrites the expected files (review the diff).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from support.store import LocalStore

from provisioner.applier import apply_plan
from provisioner.client import Client, ClientConfig
from provisioner.config import load_desired
from provisioner.custom_api_reader import count_into, live_for
from provisioner.model import State
from provisioner.plan import OpKind, Plan, Safety
from provisioner.planner import plan as make_plan
from provisioner.reader import read_live_state
from provisioner.views.json import render_json
from provisioner.views.markdown import render_markdown
from provisioner.views.text import render_text

CASES = Path(__file__).parent / "custom_api_cases"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_DIGEST = re.compile(r'": "[0-9a-f]{16}"')  # fingerprints digest the live IDs
NAMES = sorted(path.name for path in CASES.iterdir() if (path / "start.yaml").is_file())


def _compare(case: Path, name: str, text: str) -> None:
    expected = case / name
    if UPDATE:
        expected.write_text(text, encoding="utf-8")
    assert text == expected.read_text(encoding="utf-8")


def _add_entries(store: LocalStore, api_slug: str, count: int) -> None:
    with httpx.Client(base_url=store.base_url, headers=store.headers(), timeout=30) as http:
        for index in range(count):
            body = {"data": {"type": f"{api_slug}_ext", "value": index}}
            answer = http.post(f"/v2/extensions/{api_slug}", json=body)
            assert answer.status_code == 201, answer.text


async def _planned(client: Client, desired: State) -> tuple[Plan, State]:
    """What `provisioner plan` computes: the live state (Custom APIs included), the plan,
    and the entry counts of the Custom APIs it deletes."""
    live = await live_for(client, await read_live_state(client), True)
    return await count_into(client, make_plan(desired, live), live), live


@pytest.mark.parametrize("name", NAMES)
def test_scenario_plans_as_expected_applies_and_converges(
    name: str, local_store_factory: Callable[..., LocalStore]
) -> None:
    case = CASES / name
    store = local_store_factory()
    start, desired = load_desired([case / "start.yaml"]), load_desired([case / "desired.yaml"])
    config = ClientConfig(store.base_url, store.client_id, store.client_secret, rate_limit=1000)

    async def run() -> tuple[Plan, Plan]:
        async with Client(config) as client:
            await apply_plan(client, (await _planned(client, start))[0])
            if name == "delete":
                _add_entries(store, "legacy", 2)  # a deletion says how many entries it loses
            plan, _ = await _planned(client, desired)
            await apply_plan(client, plan, allow_destructive=True)
            return plan, (await _planned(client, desired))[0]

    plan, again = asyncio.run(run())
    _compare(case, "plan.txt", render_text(plan))
    _compare(case, "plan.md", render_markdown(plan))
    as_json = render_json(plan)
    assert json.loads(as_json)["format_version"] == 2
    _compare(case, "plan.json", _DIGEST.sub('": "<digest>"', _UUID.sub("<id>", as_json)))
    assert again.is_empty, render_text(again)


def test_the_scenarios_cover_every_custom_api_operation() -> None:
    plans = [
        Plan.from_json((CASES / name / "plan.json").read_text(encoding="utf-8")) for name in NAMES
    ]
    kinds = {op.kind for plan in plans for op in plan.operations}
    assert kinds == {kind for kind in OpKind if kind.custom}
    assert {op.safety for plan in plans for op in plan.operations} == set(Safety)
    assert any(plan.unmanaged for plan in plans)
