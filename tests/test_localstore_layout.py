"""The local store's shape (issue 12.5): the checks load without the web framework, the store
imports only the API's facts, the rules and its own errors, and no module grows past ~400 lines.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from support.store import LocalStore

from provisioner.localstore import STATS_ROUTE, TOKEN_ROUTE

STORE = Path(__file__).resolve().parents[1] / "provisioner" / "localstore"
WEB = ["starlette", "uvicorn", "httpx"]
# What the local store may import from the rest of the package.
ALLOWED = ("provisioner.localstore", "provisioner.epcc", "provisioner.rules",
           "provisioner.custom_api_rules", "provisioner.errors")  # fmt: skip


@pytest.mark.parametrize("module", ["validation", "errors", "storage", "settings"])
def test_the_checks_and_storage_load_without_the_web_framework(module: str) -> None:
    code = (
        f"import sys, provisioner.localstore.{module}\n"
        f"print(','.join(m for m in {WEB!r} if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


def test_the_public_names_still_load_on_first_use() -> None:
    import provisioner.localstore as store

    assert store.StoreSettings(latency_ms=1).latency_ms == 1
    assert store.STATS_ROUTE == "/v2/local-store/stats"
    with pytest.raises(AttributeError):
        _ = store.no_such_name


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


@pytest.mark.parametrize("path", sorted(STORE.glob("*.py")), ids=lambda p: p.name)
def test_the_store_imports_only_the_facts_the_rules_and_errors(path: Path) -> None:
    outside = sorted(
        name
        for name in _imports(path)
        if name.startswith("provisioner.") and not name.startswith(ALLOWED)
    )
    assert outside == []
    assert len(path.read_text(encoding="utf-8").splitlines()) <= 420, path.name


def test_each_api_words_the_same_domain_errors_its_own_way(local_store: LocalStore) -> None:
    """One mapping (problems.error_answer): flows answer integer statuses and 422, Commerce
    Extensions string statuses and 400, each with its own titles."""
    apis = "/v2/settings/extensions/custom-apis"
    with httpx.Client(
        base_url=local_store.base_url, headers=local_store.headers(), timeout=10
    ) as client:
        missing = client.get("/v2/flows/00000000-0000-4000-8000-000000000000").json()
        assert missing["errors"][0]["status"] == 404
        assert missing["errors"][0]["title"] == "Flow not found"
        blank = {"type": "flow", "name": " ", "slug": "x", "description": "", "enabled": True}
        refused = client.post("/v2/flows", json={"data": blank}).json()["errors"][0]
        assert (refused["status"], refused["title"]) == (422, "Failed Validation")

        body = {"type": "custom_api", "name": "Notes", "slug": "notes", "api_type": "notes_ext"}
        api = client.post(apis, json={"data": body}).json()["data"]
        again = client.post(apis, json={"data": body}).json()["errors"][0]
        assert (again["status"], again["title"]) == ("409", "Conflict")
        gone = client.get(f"{apis}/00000000-0000-4000-8000-000000000000").json()["errors"][0]
        assert (gone["status"], gone["title"]) == ("404", "Not Found")
        field = {"type": "custom_field", "name": "t", "slug": "t", "field_type": "string"}
        client.post(f"{apis}/{api['id']}/fields", json={"data": field})
        entry = client.post("/v2/extensions/notes", json={"data": {"type": "notes_ext", "t": "a"}})
        put = client.put(
            f"/v2/extensions/notes/{entry.json()['data']['id']}",
            json={"data": {"type": "notes_ext", "t": "b"}},
            headers={"If-Match": 'W/"stale"'},
        )
        stale = put.json()["errors"][0]
        assert (put.status_code, stale["status"], stale["title"]) == (
            412,
            "412",
            "Precondition Failed",
        )
        wrong = client.post("/v2/extensions/notes", json={"data": {"type": "notes_ext", "t": 1}})
        assert (wrong.json()["errors"][0]["status"], wrong.status_code) == ("400", 400)


def test_the_layers_apply_in_their_documented_order(
    local_store_factory: Callable[..., LocalStore],
) -> None:
    """layers.LAYERS: the request id and the stats see every answer; the rate limit and
    injected failures come before authentication, lost answers after it; the stats route is
    exempt from the knobs."""
    # A bucket of one request that refills once in 1,000 s: the second request is refused.
    limited = local_store_factory(rate_limit=0.001)
    with httpx.Client(base_url=limited.base_url, timeout=10) as client:
        first = client.get("/v2/flows", headers=limited.headers())
        refused = client.get("/v2/flows")  # no token: the rate limit answers before auth
        stats = client.get(STATS_ROUTE, headers=limited.headers())  # exempt, never counted
    assert (first.status_code, refused.status_code, stats.status_code) == (200, 429, 200)
    assert refused.headers["x-moltin-request-id"] != first.headers["x-moltin-request-id"]
    counted = {(r["route"], r["status"]): r["count"] for r in stats.json()["data"]["requests"]}
    assert counted == {("/v2/flows", 200): 1, ("/v2/flows", 429): 1}

    failing = local_store_factory(fail_rate=1.0, lost_write_rate=1.0, seed=3)
    with httpx.Client(base_url=failing.base_url, timeout=10) as client:
        failed = client.post("/v2/flows", json={"data": {"type": "flow"}})  # no token either
        unauthorized = client.post(TOKEN_ROUTE, data={"grant_type": "implicit"})
    assert failed.status_code in (500, 502, 503, 429)
    if failed.status_code >= 500:  # a 5xx body names the request, as the real API does
        request_id = failed.json()["errors"][0]["request_id"]
        assert request_id == failed.headers["x-moltin-request-id"]
    # The token route is exempt from injected failures and lost answers: a complete 400.
    assert unauthorized.status_code == 400
    assert failing.stats()["total"] == 2
