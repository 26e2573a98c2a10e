"""A baseline that behaves like the tools users have today, measured in the same run as ours.

It works the way a Terraform provider or a hand-written script does against this API: it keeps
a state file of the IDs it created (slug -> ID), reads the live state with one GET per object
it knows (`GET /v2/flows/:id`, `GET /v2/fields/:id`), and sends one request at a time, waiting
for each answer (httpx directly, synchronous). It decides what to do with our own canonical
forms (`provisioner.normalize`), so the only difference from `provisioner` is the I/O strategy
under measurement: what is read, and how many requests are in flight.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from provisioner.model import State
from provisioner.normalize import (
    create_body,
    field_attributes,
    field_from_api,
    flow_attributes,
    flow_from_api,
)
from provisioner.operations import Operation, OpKind


@dataclass
class BaselineResult:
    """What one baseline run did."""

    requests: int = 0
    writes: int = 0
    retries: int = 0
    wall: float = 0.0


@dataclass
class Baseline:
    """A sequential, per-object client with a Terraform-like state file (`ids`)."""

    base_url: str
    client_id: str
    client_secret: str = field(repr=False)
    ids: dict[str, str] = field(default_factory=dict)  # "flow" or "flow/field" -> ID

    def __post_init__(self) -> None:
        self._http = httpx.Client(base_url=self.base_url, timeout=30)
        self._token: str | None = None
        self._result = BaselineResult()

    def close(self) -> None:
        self._http.close()

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One request; a 429 or 5xx is retried after a fixed second, as simple tools do."""
        for _ in range(10):
            headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}
            response = self._http.request(method, path, headers=headers, **kwargs)
            self._result.requests += 1
            if method != "GET" and not path.startswith("/oauth"):
                self._result.writes += 1
            if response.status_code in (429, 500, 502, 503, 504):
                self._result.retries += 1
                time.sleep(1.0)
                continue
            response.raise_for_status()
            return response
        raise RuntimeError(f"{method} {path}: still failing after 10 attempts")

    def _authenticate(self) -> None:
        form = {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self.client_secret,
        }
        self._token = None
        self._token = str(
            self._send("POST", "/oauth/access_token", data=form).json()["access_token"]
        )

    def run(self, desired: State, *, apply: bool) -> BaselineResult:
        """Read what the state file knows, one GET per object, then (`apply`) write the diff."""
        self._result = BaselineResult()
        started = time.perf_counter()
        self._authenticate()
        live_flows: dict[str, dict[str, Any]] = {}
        live_fields: dict[str, dict[str, Any]] = {}
        for key, object_id in sorted(self.ids.items()):
            if "/" in key:
                data = self._send("GET", f"/v2/fields/{object_id}").json()["data"]
                live_fields[key] = field_attributes(field_from_api(data))
            else:
                data = self._send("GET", f"/v2/flows/{object_id}").json()["data"]
                live_flows[key] = flow_attributes(flow_from_api(data))
        if apply:
            self._write(desired, live_flows, live_fields)
        self._result.wall = time.perf_counter() - started
        return self._result

    def _write(
        self,
        desired: State,
        live_flows: dict[str, dict[str, Any]],
        live_fields: dict[str, dict[str, Any]],
    ) -> None:
        for flow_slug, flow in desired.flows.items():
            attrs = create_body(
                Operation(OpKind.CREATE_FLOW, flow_slug, after=flow_attributes(flow))
            )
            if flow_slug not in live_flows:
                body = {"data": {"type": "flow", **attrs}}
                created = self._send("POST", "/v2/flows", json=body).json()["data"]
                self.ids[flow_slug] = str(created["id"])
            elif live_flows[flow_slug] != flow_attributes(flow):
                body = {"data": {"type": "flow", "id": self.ids[flow_slug], **attrs}}
                self._send("PUT", f"/v2/flows/{self.ids[flow_slug]}", json=body)
            flow_id = self.ids[flow_slug]
            for field_slug, fld in flow.fields.items():
                key = f"{flow_slug}/{field_slug}"
                after = field_attributes(fld)
                attrs = create_body(
                    Operation(OpKind.CREATE_FIELD, flow_slug, field_slug, after=after)
                )
                if key not in live_fields:
                    relationships = {"flow": {"data": {"type": "flow", "id": flow_id}}}
                    body = {"data": {"type": "field", **attrs, "relationships": relationships}}
                    created = self._send("POST", "/v2/fields", json=body).json()["data"]
                    self.ids[key] = str(created["id"])
                elif live_fields[key] != field_attributes(fld):
                    body = {"data": {"type": "field", "id": self.ids[key], **attrs}}
                    self._send("PUT", f"/v2/fields/{self.ids[key]}", json=body)
