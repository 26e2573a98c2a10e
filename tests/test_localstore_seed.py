"""Proof: the seed walkthrough's five requests, exactly as written, against the local store.

The requests are read from `../shared/seed/extend-customer-resources.md` at test time (CI runs
in a fresh clone with `shared/` beside it); only the URL, the token and the placeholder ids are
changed. The bodies are sent byte for byte, `"default": 0` on a string field included.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from support import shared_file
from support.store import LocalStore

SEED = shared_file("seed", "extend-customer-resources.md")
SEED_BASE = "https://api.moltin.com"


@dataclass(frozen=True)
class SeedRequest:
    method: str
    path: str
    headers: tuple[tuple[str, str], ...]
    body: bytes | None


def seed_requests() -> list[SeedRequest]:
    """The curl commands of the walkthrough: method, path, headers and the `$'...'` body."""
    if not SEED.is_file():
        pytest.skip(f"the seed walkthrough is not beside the repository ({SEED})")
    text = SEED.read_text(encoding="utf-8")
    requests = []
    for block in re.findall(r"```sh\n(.*?)```", text, flags=re.S):
        command = re.search(r"curl -X (\w+) (\S+)", block)
        assert command is not None, block
        method, url = command.groups()
        assert url.startswith(SEED_BASE)
        headers = tuple(
            (name.strip(), value.strip())
            for name, value in (h.split(":", 1) for h in re.findall(r'-H "([^"]*)"', block))
        )
        body_match = re.search(r"-d \$'(.*)'\s*$", block, flags=re.S)
        body = None
        if body_match is not None:
            raw = body_match.group(1)
            assert "\\" not in raw  # nothing for bash's $'...' to unescape: sent as written
            body = raw.encode("utf-8")
        requests.append(SeedRequest(method, url[len(SEED_BASE) :], headers, body))
    return requests


def send(
    client: httpx.Client, request: SeedRequest, token: str, ids: dict[str, str]
) -> httpx.Response:
    """Send one seed request: same method, headers and body; only URL, token and ids change."""
    path, body = request.path, request.body
    for placeholder, value in ids.items():
        path = path.replace(placeholder, value)
        if body is not None:
            body = body.replace(placeholder.encode(), value.encode())
    headers = [
        (name, f"Bearer {token}" if name.lower() == "authorization" else value)
        for name, value in request.headers
    ]
    return client.request(request.method, path, headers=headers, content=body)


def test_seed_walkthrough_runs_as_written(local_store: LocalStore) -> None:
    steps = seed_requests()
    assert [(s.method, s.path.split("/")[2]) for s in steps] == [
        ("POST", "flows"),
        ("POST", "fields"),
        ("POST", "customers"),
        ("GET", "customers"),
        ("PUT", "customers"),
    ]
    assert steps[1].body is not None
    assert b'"default": 0' in steps[1].body
    token = local_store.token()
    ids: dict[str, str] = {}
    with httpx.Client(base_url=local_store.base_url, timeout=10) as client:
        flow = send(client, steps[0], token, ids)
        assert flow.status_code == 201, flow.text
        assert flow.json()["data"]["slug"] == "customers"
        ids["FLOW-ID"] = flow.json()["data"]["id"]

        field = send(client, steps[1], token, ids)
        assert field.status_code == 201, field.text
        field_data = field.json()["data"]
        assert field_data["slug"] == "delivery_details"
        assert field_data["default"] == 0  # accepted and stored as sent (section 0)
        assert field_data["relationships"]["flow"]["data"]["id"] == ids["FLOW-ID"]

        created = send(client, steps[2], token, ids)
        assert created.status_code == 201, created.text
        customer = created.json()["data"]
        assert customer["delivery_details"] == "Do NOT leave in a government building"
        assert customer["password"] is False
        ids[":customer-id"] = ids["CUSTOMER-ID"] = customer["id"]

        got = send(client, steps[3], token, ids)
        assert got.status_code == 200, got.text
        assert got.json()["data"] == customer

        updated = send(client, steps[4], token, ids)
        assert updated.status_code == 200, updated.text
        after = updated.json()["data"]
        assert after["delivery_details"] == "Leave in Leslie Knope’s office"
        for key in ("id", "name", "email", "external_ref", "password"):
            assert after[key] == customer[key], key
        assert (
            after["meta"]["timestamps"]["created_at"]
            == customer["meta"]["timestamps"]["created_at"]
        )

        final = client.get(
            f"/v2/customers/{customer['id']}", headers={"Authorization": f"Bearer {token}"}
        )
        assert final.json()["data"] == after


README = Path(__file__).resolve().parents[1] / "README.md"


def readme_walkthrough() -> str:
    text = README.read_text(encoding="utf-8")
    section = text.split("### The seed walkthrough with curl", 1)[1]
    match = re.search(r"```sh\n(.*?)```", section, flags=re.S)
    assert match is not None
    return match.group(1)


def test_readme_curl_walkthrough_runs(local_store: LocalStore) -> None:
    if shutil.which("curl") is None or shutil.which("bash") is None:
        pytest.skip("curl and bash are needed to run the README's shell block")
    env = {
        **os.environ,
        "EPCC_API_BASE_URL": local_store.base_url,
        "EPCC_CLIENT_ID": local_store.client_id,
        "EPCC_CLIENT_SECRET": local_store.client_secret,
    }
    script = "set -euo pipefail\n" + readme_walkthrough()
    result = subprocess.run(
        ["bash", "-c", script], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    customers = httpx.get(f"{local_store.base_url}/v2/customers", headers=local_store.headers())
    [customer] = customers.json()["data"]
    assert customer["name"] == "Ron Swanson"
    assert customer["delivery_details"] == "Leave in Leslie Knope’s office"
    assert '"default":0' in result.stdout
