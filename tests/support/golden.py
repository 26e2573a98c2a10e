"""Golden plans: a start state as the live objects a store lists, and a plan in its three
formats (tests/test_golden.py, tests/test_impact_golden.py)."""

from __future__ import annotations

from typing import Any

from provisioner.model import State
from provisioner.normalize import field_attributes, flow_attributes, state_from_api
from provisioner.plan import Plan
from provisioner.views.json import render_json
from provisioner.views.markdown import render_markdown
from provisioner.views.text import render_text


def api_objects(state: State) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The flows and fields a store holding `state` lists (epcc-api.md 3.3, 4.3)."""
    meta = {"owner": "store", "timestamps": {"created_at": "2024-01-01T00:00:00.000Z"}}
    flows: list[dict[str, Any]] = []
    fields: list[dict[str, Any]] = []
    for flow_slug, flow in state.flows.items():
        flow_id = f"id-{flow_slug}"
        flows.append(
            {
                "id": flow_id,
                "type": "flow",
                "slug": flow_slug,
                **flow_attributes(flow),
                "links": {"self": f"https://store.test/v2/flows/{flow_id}"},
                "relationships": {},
                "meta": meta,
            }
        )
        for field_slug, field in flow.fields.items():
            field_id = f"id-{flow_slug}.{field_slug}"
            fields.append(
                {
                    "id": field_id,
                    "type": "field",
                    "slug": field_slug,
                    **field_attributes(field),
                    "links": {"self": f"https://store.test/v2/fields/{field_id}"},
                    "relationships": {"flow": {"data": {"type": "flow", "id": flow_id}}},
                    "meta": meta,
                }
            )
    return flows, fields


def live_state(start: State) -> State:
    return state_from_api(*api_objects(start))


def rendered(result: Plan) -> dict[str, str]:
    return {
        "plan.txt": render_text(result),
        "plan.json": render_json(result),
        "plan.md": render_markdown(result),
    }
