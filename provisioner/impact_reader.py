"""`plan --impact`: read what a plan's operations touch, within a request budget (issue 15).

`read_impact(client, plan, budget)` reads, for the needs `impact.needs_of(plan)` names:

1. one `page[limit]=1` request per flow whose needs a total answers (a flow deletion's
   entries, the records a new required field will be missing in), unless that flow is
   scanned anyway;
2. then the records of each flow a need must scan, flow after flow in slug order, each scan
   given what is left of the budget (`client.records.read_records`: the first page, then
   the others concurrently within the client's pace).

Core flows whose resource provisioner does not list (orders, products, ...) and flows past
the budget are reported not measured, with the reason; a store that refuses a list (403)
too. The counts themselves are made by `impact_counts.count`, which is pure.
"""

from __future__ import annotations

import asyncio

from provisioner.client import Client
from provisioner.client.records import count_records, read_records
from provisioner.errors import ApiError
from provisioner.impact import needs_of
from provisioner.impact_counts import ImpactReport, report, unreadable_note
from provisioner.plan import Plan
from provisioner.records import RecordScan

__all__ = ["read_impact"]

BUDGET_SPENT = "the request budget (--impact-budget) ran out before this flow was read"


async def read_impact(client: Client, plan: Plan, budget: int) -> ImpactReport:
    """The counts of every need of `plan`, read with at most `budget` GET requests."""
    needs = needs_of(plan)
    notes: dict[str, str] = {}
    for need in needs:
        note = unreadable_note(need.flow)
        if note is not None:
            notes[need.flow] = note
    scanned = sorted({n.flow for n in needs if n.scan and n.flow not in notes})
    counted = sorted({n.flow for n in needs if not n.scan and n.flow not in notes} - set(scanned))
    requests = 0
    totals: dict[str, int | None] = {}
    affordable, rest = counted[:budget], counted[budget:]
    for flow in rest:
        notes[flow] = BUDGET_SPENT
    answers = await asyncio.gather(
        *(_count(client, flow) for flow in affordable), return_exceptions=False
    )
    requests += len(affordable)
    for flow, (total, refused) in zip(affordable, answers, strict=True):
        totals[flow] = total
        if refused is not None:
            notes[flow] = refused
    scans: dict[str, RecordScan] = {}
    for flow in scanned:
        left = budget - requests
        if left < 1:
            notes[flow] = BUDGET_SPENT
            continue
        try:
            scan = await read_records(client, flow, budget=left)
        except ApiError as error:
            if error.status not in (401, 403):
                raise
            notes[flow] = f"the store refused to list the records ({error.status})"
            requests += 1
            continue
        requests += scan.requests
        scans[flow] = scan
    return report(needs, scans, totals, notes, budget, requests)


async def _count(client: Client, flow: str) -> tuple[int | None, str | None]:
    """(the flow's total, None) or (None, why it could not be read)."""
    try:
        return await count_records(client, flow), None
    except ApiError as error:
        if error.status not in (401, 403):
            raise
        return None, f"the store refused to list the records ({error.status})"
