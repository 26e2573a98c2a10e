"""`plan --impact` over real HTTP against the local store (issue 15): counts in every format,
"not measured" without it, a scan stopped at `--impact-budget`, and a saved plan whose
counts grew is stale (nothing applied)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from support import Cli
from support.store import LocalStore, create_flow, field_body

from provisioner.localstore.storage import Storage, new_id, now_iso

DESIRED = """\
flows:
  customers:
    name: Customers
    description: ""
    fields:
      nickname: {name: Nickname, field_type: string, required: true}
  notes:
    name: Notes
    description: ""
    fields:
      body: {state: absent}
      rating: {name: Rating, field_type: integer, required: true}
"""


def started(api: httpx.Client, tmp_path: Path) -> Path:
    """The store holds START, 4 notes (3 with a body, 2 without a rating) and 3 customers
    (1 without a nickname); returns the path of DESIRED."""
    for flow_slug, fields in (("customers", ["nickname"]), ("notes", ["body", "rating"])):
        flow = create_flow(api, flow_slug)
        for slug in fields:
            kind = "integer" if slug == "rating" else "string"
            name = slug.title()
            body = field_body(flow["id"], slug, kind, name=name)
            assert api.post("/v2/fields", json=body).status_code == 201
    for data in ({"body": "a", "rating": 1}, {"body": "b"}, {"body": "c", "rating": 3}, {}):
        response = api.post("/v2/flows/notes/entries", json={"data": {"type": "entry", **data}})
        assert response.status_code == 201, response.text
    for name, nickname in (("Ron", "ron"), ("Leslie", None), ("April", "april")):
        data = {"type": "customer", "name": name, "email": f"{name}@example.com"}
        if nickname:
            data["nickname"] = nickname
        assert api.post("/v2/customers", json={"data": data}).status_code == 201
    desired = tmp_path / "desired.yaml"
    desired.write_text(DESIRED, encoding="utf-8")
    return desired


def add_notes_directly(store: LocalStore, count: int) -> None:
    """`count` notes with a body and a rating, in one transaction of the store's own storage
    (quick; the HTTP path is tested above)."""
    storage = Storage(store.db_path)
    with storage.transaction(write=True) as conn:
        flow_id = conn.execute("SELECT id FROM flows WHERE slug = 'notes'").fetchone()[0]
        fields = dict(conn.execute("SELECT slug, id FROM fields WHERE flow_id = ?", (flow_id,)))
        for index in range(count):
            entry_id, stamp = new_id(), now_iso()
            conn.execute(
                "INSERT INTO entries (id, flow_id, created_at, updated_at) VALUES (?, ?, ?, ?)",
                (entry_id, flow_id, stamp, stamp),
            )
            for slug, value in (("body", f"n{index}"), ("rating", index)):
                conn.execute(
                    "INSERT INTO field_values (owner_id, field_id, value) VALUES (?, ?, ?)",
                    (entry_id, fields[slug], json.dumps(value)),
                )


def measures(plan_json: str) -> dict[str, tuple[int | None, int | None, bool]]:
    data = json.loads(plan_json)
    assert data["format_version"] == 3
    return {
        f"{m['kind']}:{m['key']}": (m["count"], m["total"], m["complete"])
        for m in data["impact"]["measures"]
    }


def test_plan_impact_counts_in_every_format(
    cli: Cli, local_store: LocalStore, api: httpx.Client, tmp_path: Path
) -> None:
    desired = started(api, tmp_path)
    env = local_store.env()

    plain = cli("plan", desired, env=env)
    assert plain.code == 0
    assert "Impact not measured: `plan --impact` counts the records" in plain.out
    as_json = json.loads(cli("plan", desired, "--format", "json", env=env).out)
    assert as_json["format_version"] == 1
    assert "impact" not in as_json

    text = cli("plan", desired, "--impact", env=env)
    assert text.code == 0, text.err
    assert "# values in 3 of 4 records" in text.out  # notes.body, deleted
    assert "# no value in 2 of 4 records" in text.out  # notes.rating, required
    assert "# no value in 1 of 3 records" in text.out  # customers.nickname: core flow
    assert "Commerce Manager cannot create customers without it" in text.out
    assert "Impact measured with 2 requests (--impact-budget 100)." in text.out
    assert "not measured" not in text.out
    markdown = cli("plan", desired, "--impact", "--format", "markdown", env=env).out
    assert "values in 3 of 4 records" in markdown
    assert "*Impact measured with 2 requests (--impact-budget 100).*" in markdown
    counted = measures(cli("plan", desired, "--impact", "--format", "json", env=env).out)
    assert counted == {
        "missing:field:customers.nickname": (1, 3, True),
        "values:field:notes.body": (3, 4, True),
        "missing:field:notes.rating": (2, 4, True),
    }

    # Read-only credentials (the implicit grant) may not list customers (403): that count is
    # not measured and says why; the entries still are.
    read_only = cli(
        "plan", desired, "--impact", "--format", "json", env=local_store.env(secret=False)
    )
    assert read_only.code == 0, read_only.err
    assert measures(read_only.out) == {
        **counted,
        "missing:field:customers.nickname": (None, None, False),
    }
    assert "the store refused to list the records (403)" in read_only.out


def test_a_scan_past_the_budget_says_at_least(
    cli: Cli, local_store: LocalStore, api: httpx.Client, tmp_path: Path
) -> None:
    desired = started(api, tmp_path)
    add_notes_directly(local_store, 150)
    local_store.reset_stats()
    result = cli("plan", desired, "--impact", "--impact-budget", "2", env=local_store.env())
    assert result.code == 0, result.err
    # customers first (one page), then what is left for notes: its first page of 100.
    assert "# values in at least 99 of the 100 scanned (154 records; the scan" in result.out
    assert "Impact measured with 2 requests (--impact-budget 2)." in result.out
    listed = {
        item["route"]: item["count"]
        for item in local_store.stats()["requests"]
        if item["method"] == "GET"
        and (item["route"].endswith("/entries") or item["route"] == "/v2/customers")
    }
    assert sum(listed.values()) == 2

    refused = cli("plan", desired, "--impact-budget", "5", env=local_store.env())
    assert refused.code != 0
    assert "--impact-budget sets the budget of --impact" in refused.err


def test_a_narrowed_enum_counts_the_values_the_store_keeps_and_new_writes_fail(
    cli: Cli, local_store: LocalStore, api: httpx.Client, tmp_path: Path
) -> None:
    flow = create_flow(api, "tickets")
    rules = [{"type": "enum", "options": ["low", "high", "legacy"]}]
    body = field_body(flow["id"], "level", name="Level", validation_rules=rules)
    assert api.post("/v2/fields", json=body).status_code == 201
    for level in ("low", "legacy", "high", "legacy"):
        data = {"type": "entry", "level": level}
        assert api.post("/v2/flows/tickets/entries", json={"data": data}).status_code == 201
    desired = tmp_path / "tickets.yaml"
    desired.write_text(
        "flows:\n  tickets:\n    name: Tickets\n    description: ''\n    fields:\n"
        "      level:\n        name: Level\n        field_type: string\n"
        "        validation_rules: [{type: enum, options: [low, high]}]\n",
        encoding="utf-8",
    )
    env = local_store.env()
    planned = cli("plan", desired, "--impact", env=env)
    assert "# values outside the new rule in 2 of 4 records" in planned.out
    assert cli("apply", desired, "--auto-approve", env=env).code == 0
    # What the reason says: the store keeps the values, new writes of them fail.
    held = [e["level"] for e in api.get("/v2/flows/tickets/entries").json()["data"]]
    assert sorted(held) == ["high", "legacy", "legacy", "low"]
    again = api.post(
        "/v2/flows/tickets/entries", json={"data": {"type": "entry", "level": "legacy"}}
    )
    assert again.status_code == 422


def test_a_saved_plan_whose_count_grew_is_stale(
    cli: Cli, local_store: LocalStore, api: httpx.Client, tmp_path: Path
) -> None:
    desired = started(api, tmp_path)
    env = local_store.env()
    saved = tmp_path / "plan.json"
    assert cli("plan", desired, "--impact", "--out", saved, env=env).code == 0
    assert "impact" in json.loads(saved.read_text(encoding="utf-8"))

    # One more note holding a body: the deletion now loses 4 values, not the 3 reviewed.
    more = api.post("/v2/flows/notes/entries", json={"data": {"type": "entry", "body": "d"}})
    assert more.status_code == 201
    writes = local_store.write_count()
    stale = cli("apply", saved, "--auto-approve", "--allow-destructive", env=env)
    assert stale.code == 1
    assert "stale" in stale.err
    assert "impact:values:field:notes.body" in stale.err
    assert local_store.write_count() == writes  # nothing applied

    # Planned again, the same counts hold at apply time: it applies.
    assert cli("plan", desired, "--impact", "--out", saved, env=env).code == 0
    applied = cli("apply", saved, "--auto-approve", "--allow-destructive", env=env)
    assert applied.code == 0, applied.err
    fields = api.get("/v2/flows/notes/fields").json()["data"]
    assert [f["slug"] for f in fields] == ["rating"]
