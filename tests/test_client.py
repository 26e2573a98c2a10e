"""The client against the local store over real HTTP, with the store's fault knobs.

Token sharing and expiry, 429 storms with and without `Retry-After`, injected 5xx, answers lost
after commit (never a duplicate), pagination across pages, the rate limit held (as the store
counts it), read-only implicit grant, timeouts and refused connections, and no secret in any
error or log line. What the store cannot produce is in test_client_mock.py.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import socket
import subprocess
import sys
import time
import traceback
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar

import httpx
import pytest
from support.api import ApiClient

from provisioner.client import Client, ClientConfig
from provisioner.errors import (
    ApiError,
    AuthError,
    ConcurrentChangeError,
    NotFoundError,
    RateLimitedError,
    ReadOnlyError,
    ServerError,
    TransportError,
)
from provisioner.localstore import auth as store_auth

T = TypeVar("T")
TOKEN_ROUTE = "/oauth/access_token"
WRONG_SECRET = "wrong-secret-7d1c"  # a constant: a traceback shows source lines, not values


class Store(Protocol):
    base_url: str
    client_id: str
    client_secret: str

    def stats(self) -> dict[str, Any]: ...

    def write_count(self) -> int: ...


StoreFactory = Callable[..., Store]


def config(store: Store, **overrides: Any) -> ClientConfig:
    """Fast settings for tests: no client-side pacing unless asked, short backoff."""
    settings: dict[str, Any] = {
        "base_url": store.base_url,
        "client_id": store.client_id,
        "client_secret": store.client_secret,
        "rate_limit": 2000.0,
        "backoff_base": 0.02,
        "backoff_max": 0.2,
        "deadline": 30.0,
        "timeout": 10.0,
    }
    settings.update(overrides)
    return ClientConfig(**settings)


def with_client(
    cfg: ClientConfig,
    action: Callable[[Client], Awaitable[T]],
    transport: httpx.AsyncBaseTransport | None = None,
) -> tuple[T, Client]:
    async def main() -> tuple[T, Client]:
        async with Client(cfg, transport) as client:
            return await action(client), client

    return asyncio.run(main())


def store_counts(store: Store) -> Counter[tuple[str, str, int]]:
    """The store's own statistics as (method, route, status) -> count."""
    stats = store.stats()
    data = stats.get("data", stats)
    return Counter(
        {(r["method"], r["route"], int(r["status"])): int(r["count"]) for r in data["requests"]}
    )


def count(
    counts: Counter[tuple[str, str, int]],
    method: str | None = None,
    route: str | None = None,
    status: int | Callable[[int], bool] | None = None,
) -> int:
    def status_ok(s: int) -> bool:
        if status is None:
            return True
        return status(s) if callable(status) else s == status

    return sum(
        n
        for (m, r, s), n in counts.items()
        if (method is None or m == method) and (route is None or r == route) and status_ok(s)
    )


def flow_attrs(slug: str) -> dict[str, Any]:
    return {"name": slug.title(), "slug": slug, "description": f"The {slug} flow", "enabled": True}


def field_attrs(slug: str, order: int = 1) -> dict[str, Any]:
    return {
        "name": slug,
        "slug": slug,
        "field_type": "string",
        "description": f"The {slug} field",
        "required": False,
        "enabled": True,
        "order": order,
    }


async def build(client: Client, flows: int, fields_per_flow: int) -> None:
    """Create flows and their fields concurrently (as the applier does)."""

    async def one(n: int) -> None:
        created = await client.create_flow(flow_attrs(f"flow-{n:03d}"))
        await asyncio.gather(
            *(
                client.create_field(created["id"], field_attrs(f"field_{k:03d}", k))
                for k in range(fields_per_flow)
            )
        )

    await asyncio.gather(*(one(n) for n in range(flows)))


async def inventory(client: Client) -> tuple[list[str], list[tuple[str, str]]]:
    """Every flow slug and every (flow id, field slug), duplicates kept."""
    flows = await client.list_flows()
    fields = await client.list_fields()
    return (
        sorted(f["slug"] for f in flows),
        sorted((f["relationships"]["flow"]["data"]["id"], f["slug"]) for f in fields),
    )


def assert_built(cfg: ClientConfig, flows: int, fields_per_flow: int) -> None:
    """Exactly the objects `build` asked for: none missing, none twice."""

    async def check(client: Client) -> None:
        slugs, fields = await inventory(client)
        assert slugs == [f"flow-{n:03d}" for n in range(flows)]
        assert len(fields) == len(set(fields)) == flows * fields_per_flow

    with_client(cfg, check)


# --------------------------------------------------------------------------- basics


def test_every_flow_and_field_method_round_trips(local_store: Store) -> None:
    async def action(client: Client) -> None:
        flow = await client.create_flow(flow_attrs("wishlists"))
        assert (flow["type"], flow["slug"]) == ("flow", "wishlists")
        assert (await client.get_flow(flow["id"]))["name"] == "Wishlists"
        updated = await client.update_flow(flow["id"], {"description": "Changed"})
        assert updated["description"] == "Changed"
        field = await client.create_field(flow["id"], field_attrs("note"))
        assert field["relationships"]["flow"]["data"]["id"] == flow["id"]
        assert [f["slug"] for f in await client.list_flow_fields("wishlists")] == ["note"]
        assert (await client.update_field(field["id"], {"name": "Note!"}))["name"] == "Note!"
        assert [f["id"] for f in await client.list_fields()] == [field["id"]]
        await client.delete_field(field["id"])
        assert await client.list_flow_fields("wishlists") == []
        await client.delete_flow(flow["id"])
        assert await client.list_flows() == []
        with pytest.raises(NotFoundError) as caught:
            await client.get_flow(flow["id"])
        assert caught.value.request_id  # every answer carries X-Moltin-Request-Id

    _, client = with_client(config(local_store), action)
    assert client.stats.retries == 0
    assert client.stats.count("POST", 201) == 2


def test_customers_and_entries_round_trip(local_store: Store) -> None:
    async def action(client: ApiClient) -> None:
        customers = await client.create_flow({**flow_attrs("customers"), "slug": "customers"})
        await client.create_field(customers["id"], field_attrs("delivery_details"))
        ron = await client.create_customer(
            {"name": "Ron Swanson", "email": "ron@example.com", "delivery_details": "porch"}
        )
        assert ron["delivery_details"] == "porch"
        await client.update_customer(ron["id"], {"delivery_details": "office"})
        assert (await client.get_customer(ron["id"]))["delivery_details"] == "office"
        found = await client.list_customers(filter="eq(email,ron@example.com)")
        assert [c["id"] for c in found] == [ron["id"]]

        notes = await client.create_flow(flow_attrs("notes"))
        await client.create_field(notes["id"], field_attrs("text"))
        entry = await client.create_entry("notes", {"text": "hello"})
        assert (await client.get_entry("notes", entry["id"]))["text"] == "hello"
        assert [e["id"] for e in await client.list_entries("notes")] == [entry["id"]]

    async def main() -> None:
        async with ApiClient(config(local_store)) as client:
            await action(client)

    asyncio.run(main())


def test_a_lost_customer_create_is_adopted_despite_keys_the_store_drops(
    local_store_factory: StoreFactory,
) -> None:
    # `nickname` is no field of the customers flow, so the store drops it (section 0) and the
    # customer read back has none: it is still the one created, never to be created again.
    store = local_store_factory(lost_write_rate=1.0)
    attrs = {"name": "Ron Swanson", "email": "ron@example.com", "nickname": "Ron"}
    ron, client = with_client(config(store), lambda client: client.create_customer(attrs))
    assert client.stats.adopted == 1
    assert ron["email"] == "ron@example.com"
    assert count(store_counts(store), "POST", "/v2/customers", 201) == 1


def test_a_duplicate_made_by_another_writer_is_adopted_only_when_it_is_as_sent(
    local_store: Store,
) -> None:
    # Issue 10.12 changes this test (it was "a duplicate without a lost answer is an error"):
    # the object already holding what we sent is converged, not an error; one that differs
    # is an error that says another writer changed the store.
    async def action(client: Client) -> None:
        first = await client.create_flow(flow_attrs("twice"))
        again = await client.create_flow(flow_attrs("twice"))
        assert again["id"] == first["id"]
        with pytest.raises(ConcurrentChangeError) as caught:
            await client.create_flow({**flow_attrs("twice"), "name": "Other"})
        assert caught.value.status == 422
        assert "`twice` already exists with a different name" in str(caught.value)
        assert "another writer changed the store" in str(caught.value)

    _, client = with_client(config(local_store), action)
    assert client.stats.adopted == 0
    assert client.stats.converged == 1
    assert count(store_counts(local_store), "POST", "/v2/flows") == 3  # never re-sent


def test_not_found_is_not_retried(local_store: Store) -> None:
    async def action(client: Client) -> None:
        with pytest.raises(NotFoundError):
            await client.get_flow("6d320b42-237d-4474-8452-d49f884d4ae1")
        with pytest.raises(NotFoundError):
            await client.delete_field("6d320b42-237d-4474-8452-d49f884d4ae1")

    with_client(config(local_store), action)
    counts = store_counts(local_store)
    assert count(counts, "GET", status=404) == 1
    assert count(counts, "DELETE", status=404) == 1


# --------------------------------------------------------------------------- tokens


def test_one_token_serves_concurrent_requests(local_store: Store) -> None:
    async def action(client: Client) -> None:
        await asyncio.gather(*(client.list_flows() for _ in range(30)))

    _, client = with_client(config(local_store), action)
    counts = store_counts(local_store)
    assert count(counts, "POST", TOKEN_ROUTE) == 1
    assert count(counts, "GET", "/v2/flows", 200) == 30
    assert client.auth.fetches == 1


def test_token_is_refreshed_before_it_expires(local_store_factory: StoreFactory) -> None:
    # A 2 s token: the client renews it after half its life, before the store refuses it.
    store = local_store_factory(token_ttl=2)

    async def action(client: Client) -> None:
        await client.list_flows()
        await asyncio.sleep(1.3)
        await client.list_flows()

    with_client(config(store), action)
    counts = store_counts(store)
    assert count(counts, "POST", TOKEN_ROUTE, 200) == 2
    assert count(counts, status=401) == 0


class JumpedClock:
    """The local store's wall clock, `offset` seconds ahead of ours (a clock jump)."""

    def __init__(self, offset: float) -> None:
        self.offset = offset

    def time(self) -> float:
        return time.time() + self.offset


def test_token_expired_mid_run_is_refreshed_once_after_a_401(
    local_store_factory: StoreFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The client's clock stands still, so it believes its token is fresh when the store has
    # expired it (clock trouble, a revoked token): one 401, one refresh, one re-send. The store
    # (in this process) expires it by a jump of its clock past the token's minute, not by a
    # wait: under load a wait-based token could expire again before the re-send arrives.
    store = local_store_factory(token_ttl=60)

    async def action(client: Client) -> list[dict[str, Any]]:
        frozen = time.monotonic()
        client.auth.clock = lambda: frozen
        await client.create_flow(flow_attrs("before"))
        monkeypatch.setattr(store_auth, "time", JumpedClock(120))
        await client.create_flow(flow_attrs("after"))
        return await client.list_flows()

    flows, client = with_client(config(store), action)
    assert sorted(f["slug"] for f in flows) == ["after", "before"]
    counts = store_counts(store)
    assert count(counts, "POST", "/v2/flows", 401) == 1
    assert count(counts, "POST", "/v2/flows", 201) == 2
    assert count(counts, "POST", TOKEN_ROUTE, 200) == 2
    assert client.stats.retries == 0  # the re-send after a 401 is the auth's, not a retry


def test_bad_credentials_are_an_auth_error_without_retry(local_store: Store) -> None:
    cfg = config(local_store, client_secret="not-the-secret")
    with pytest.raises(AuthError) as caught:
        with_client(cfg, lambda client: client.list_flows())
    error = caught.value
    assert (error.method, error.path, error.status) == ("POST", TOKEN_ROUTE, 401)
    assert "EPCC_CLIENT_SECRET" in str(error)
    assert "not-the-secret" not in str(error)
    assert count(store_counts(local_store), "POST", TOKEN_ROUTE) == 1


def test_implicit_grant_reads_and_refuses_to_write(local_store: Store) -> None:
    async def setup(client: Client) -> None:
        await client.create_flow(flow_attrs("existing"))

    with_client(config(local_store), setup)
    writes_before = local_store.write_count()

    async def action(client: Client) -> None:
        assert client.read_only
        assert [f["slug"] for f in await client.list_flows()] == ["existing"]
        with pytest.raises(ReadOnlyError, match="needs client credentials"):
            await client.create_flow(flow_attrs("new"))
        with pytest.raises(ReadOnlyError, match="EPCC_CLIENT_SECRET"):
            await client.delete_flow("any")
        # an implicit token has no access to customers (epcc-api.md §1.3)
        with pytest.raises(AuthError) as caught:
            await client.list_customers()
        assert caught.value.status == 403

    with_client(config(local_store, client_secret=None), action)
    assert local_store.write_count() == writes_before


# --------------------------------------------------------------------------- rate limits


@pytest.mark.slow
def test_client_rate_limit_holds_the_stores_limit(local_store_factory: StoreFactory) -> None:
    # The store refuses anything beyond 40 req/s; the client paces itself at the same rate,
    # and the store's own statistics show it never had to refuse one.
    store = local_store_factory(rate_limit=40)

    async def action(client: Client) -> None:
        await asyncio.gather(*(client.list_flows() for _ in range(70)))

    _, client = with_client(config(store, rate_limit=40, max_attempts=1), action)
    counts = store_counts(store)
    assert count(counts, status=429) == 0
    assert count(counts, "GET", "/v2/flows", 200) == 70
    assert client.stats.throttled_seconds > 0


@pytest.mark.slow
def test_429_storm_without_retry_after(local_store_factory: StoreFactory) -> None:
    # The client sends as fast as it likes into a store allowing 10 req/s: a storm of 429s
    # (with no Retry-After, like the real API) that backoff rides out.
    # The first burst (a token and 16 flow creations at once) is beyond the store's bucket of
    # 10 however slowly a loaded machine sends it, so there are 429s to ride out.
    store = local_store_factory(rate_limit=10)
    cfg = config(store, rate_limit=500, max_attempts=20, backoff_base=0.05, backoff_max=0.5)
    _, client = with_client(cfg, lambda client: build(client, flows=16, fields_per_flow=1))
    counts = store_counts(store)
    assert count(counts, status=429) > 0
    assert client.stats.count(status=429) == count(counts, status=429)
    assert client.stats.retries >= client.stats.count(status=429)
    assert client.stats.retry_after_seconds == 0
    assert_built(config(store, rate_limit=10), flows=16, fields_per_flow=1)


@pytest.mark.slow
def test_429_storm_with_retry_after(local_store_factory: StoreFactory) -> None:
    # As above: a first burst of 17 requests is beyond the bucket of 10, whatever the load.
    store = local_store_factory(rate_limit=10, retry_after=0.5)
    cfg = config(store, rate_limit=500, max_attempts=20)
    _, client = with_client(cfg, lambda client: build(client, flows=16, fields_per_flow=1))
    counts = store_counts(store)
    assert count(counts, status=429) > 0
    assert client.stats.retry_after_seconds > 0
    assert "Retry-After" in client.stats.summary()
    assert_built(config(store, rate_limit=10), flows=16, fields_per_flow=1)


@pytest.mark.slow
def test_a_429_does_not_use_up_the_attempts_meant_for_errors(
    local_store_factory: StoreFactory,
) -> None:
    # One attempt per request for errors, a store allowing 5 req/s and a client paced at 200:
    # the store refuses many requests, none fails, and the whole client slows down.
    # The first burst (a token and 8 flow creations at once) is beyond the bucket of 5 however
    # slowly a loaded machine sends it.
    store = local_store_factory(rate_limit=5)
    cfg = config(store, rate_limit=200, max_attempts=1)
    _, client = with_client(cfg, lambda client: build(client, flows=8, fields_per_flow=1))
    counts = store_counts(store)
    assert count(counts, status=429) > 0
    assert client.stats.count(status=429) == count(counts, status=429)
    # A 5 req/s bucket holding 5 accepts at most 10 in a second: the pace went to 90% of
    # that or less, far below the ceiling.
    assert client.stats.lowest_rate is not None
    assert client.stats.lowest_rate <= 9.0
    assert client.stats.to_dict()["pacing"]["rate_limited"] == count(counts, status=429)
    assert_built(config(store, rate_limit=5), flows=8, fields_per_flow=1)


@pytest.mark.slow
def test_a_store_that_refuses_everything_is_given_up_with_advice(
    local_store_factory: StoreFactory,
) -> None:
    store = local_store_factory(rate_limit=0.01)  # the token call, then 429s for 100 s
    cfg = config(store, rate_limit=50, deadline=1.5, max_attempts=1)
    with pytest.raises(RateLimitedError) as caught:
        with_client(cfg, lambda client: client.list_flows())
    message = str(caught.value)
    assert "the store kept refusing at" in message
    # Counted from the last success (the token call, inside the request's 1.5 s): at most
    # the deadline, less however long a loaded machine took to get the token.
    succeeded = re.search(r"no request succeeded for (\d+\.\d) s", message)
    assert succeeded is not None, message
    assert 0.5 <= float(succeeded.group(1)) <= 1.6
    assert "set a lower EPCC_RATE_LIMIT (now 50 req/s)" in message
    assert count(store_counts(store), "GET", status=429) > 1  # retried: not one attempt


# --------------------------------------------------------------------------- failures


@pytest.mark.slow
def test_injected_5xx_and_429_are_retried_and_counted(local_store_factory: StoreFactory) -> None:
    # Seed 11 draws 429 for the 7th API request and 503, 500 for the 10th and 11th: the 13
    # requests below (at least) meet both kinds whatever the order. (A larger build only
    # spends seconds at the pace the 429 lowered.)
    store = local_store_factory(fail_rate=0.3, seed=11)

    async def action(client: Client) -> None:
        await build(client, flows=3, fields_per_flow=2)
        flows = await client.list_flows()
        await asyncio.gather(*(client.update_flow(f["id"], {"enabled": False}) for f in flows))

    _, client = with_client(config(store, max_attempts=10), action)
    counts = store_counts(store)
    assert count(counts, status=lambda s: s >= 500) > 0
    # The client counts exactly what the store served, by method and status.
    by_method_status: Counter[tuple[str, int]] = Counter()
    for (method, _route, status), n in counts.items():
        by_method_status[(method, status)] += n
    assert client.stats.requests == by_method_status
    assert client.stats.retries > 0
    assert_built(config(store, max_attempts=10), flows=3, fields_per_flow=2)


def test_lost_answers_never_create_duplicates(local_store_factory: StoreFactory) -> None:
    # 40% of committed writes lose their answer (the connection drops): each lost create is
    # read back and adopted, each lost delete is done, and nothing exists twice.
    store = local_store_factory(lost_write_rate=0.4, seed=5)

    async def action(client: Client) -> None:
        for n in range(8):  # sequential, so the seeded draws fall the same way every run
            flow = await client.create_flow(flow_attrs(f"flow-{n:03d}"))
            for k in range(3):
                await client.create_field(flow["id"], field_attrs(f"field_{k:03d}", k))
            await client.update_flow(flow["id"], {"description": "updated"})
        for field in await client.list_fields():
            if field["slug"] == "field_002":
                await client.delete_field(field["id"])

    _, client = with_client(config(store, max_attempts=8), action)
    assert client.stats.adopted > 0
    assert client.stats.failures["connection error"] > 0
    # Each request whose answer was lost left the pace's count of requests on their way.
    assert client.pacer.on_way_before(client.pacer.epoch + 1) == 0
    counts = store_counts(store)
    assert count(counts, "POST", "/v2/flows", 201) == 8  # each flow committed exactly once
    assert count(counts, "POST", "/v2/fields", 201) == 24
    assert count(counts, "DELETE", "/v2/fields/{field_id}", 204) == 8

    async def check(client: Client) -> None:
        slugs, fields = await inventory(client)
        assert slugs == [f"flow-{n:03d}" for n in range(8)]
        assert len(fields) == len(set(fields)) == 16
        assert all(f["description"] == "updated" for f in await client.list_flows())

    with_client(config(store), check)


def test_lost_answers_under_concurrency(local_store_factory: StoreFactory) -> None:
    store = local_store_factory(lost_write_rate=0.3, fail_rate=0.1, seed=2)
    _, client = with_client(
        config(store, max_attempts=10), lambda client: build(client, flows=10, fields_per_flow=4)
    )
    assert client.stats.adopted > 0
    assert_built(config(store, max_attempts=10), flows=10, fields_per_flow=4)


def test_retries_stop_within_the_deadline(local_store_factory: StoreFactory) -> None:
    store = local_store_factory(fail_rate=1.0, seed=1)  # every API request fails
    # A deadline of 1.5 s: long enough for a first answer on a loaded machine (a deadline
    # that cuts the first attempt reports a timeout instead), far below 1000 attempts.
    cfg = config(store, max_attempts=1000, deadline=1.5, backoff_base=0.05, backoff_max=0.1)
    started = time.monotonic()
    with pytest.raises((ServerError, RateLimitedError)) as caught:
        with_client(cfg, lambda client: client.list_flows())
    assert time.monotonic() - started < 10  # bounded by the deadline, not by 1000 attempts
    assert "gave up after" in str(caught.value)


def test_timeouts_are_retried_then_reported(local_store_factory: StoreFactory) -> None:
    store = local_store_factory(latency_ms=400)
    cfg = config(store, timeout=0.05, max_attempts=2)
    with pytest.raises(TransportError, match="timeout") as caught:
        with_client(cfg, lambda client: client.list_flows())
    assert "gave up after 2 attempts" in str(caught.value)


def test_refused_connections_are_retried_then_reported() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    cfg = ClientConfig(
        f"http://127.0.0.1:{port}", "id", "secret", max_attempts=3, backoff_base=0.01
    )
    with pytest.raises(TransportError, match="connection error") as caught:
        with_client(cfg, lambda client: client.list_flows())
    assert "gave up after 3 attempts" in str(caught.value)


# --------------------------------------------------------------------------- pagination


def test_lists_follow_pagination_across_pages(local_store: Store) -> None:
    async def action(client: Client) -> None:
        flows = await asyncio.gather(
            *(client.create_flow(flow_attrs(f"flow-{n:03d}")) for n in range(130))
        )
        big, small = flows[0], flows[1]
        await asyncio.gather(
            *(client.create_field(big["id"], field_attrs(f"f_{k:03d}", k)) for k in range(100)),
            *(client.create_field(small["id"], field_attrs(f"g_{k:03d}", k)) for k in range(30)),
        )
        listed = await client.list_flows()
        assert sorted(f["slug"] for f in listed) == [f"flow-{n:03d}" for n in range(130)]
        fields = await client.list_fields()
        assert len({f["id"] for f in fields}) == len(fields) == 130
        assert len(await client.list_flow_fields("flow-000")) == 100

    with_client(config(local_store, max_in_flight=8), action)
    counts = store_counts(local_store)
    assert count(counts, "GET", "/v2/flows", 200) == 2  # 100 + 30
    assert count(counts, "GET", "/v2/fields", 200) == 2
    assert count(counts, "GET", "/v2/flows/{flow_slug}/fields", 200) == 1  # total reached


# --------------------------------------------------------------------------- secrets


class Recording(httpx.AsyncBaseTransport):
    """Real HTTP, remembering every Authorization header sent (to look for it later)."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.authorizations: set[str] = set()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if "authorization" in request.headers:
            self.authorizations.add(request.headers["authorization"])
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def test_no_secret_or_token_in_errors_reprs_or_debug_logs(
    local_store_factory: StoreFactory, caplog: pytest.LogCaptureFixture
) -> None:
    store = local_store_factory(fail_rate=0.3, lost_write_rate=0.3, seed=4)
    recording = Recording()
    errors: list[BaseException] = []

    async def action(client: Client) -> None:
        await build(client, flows=3, fields_per_flow=2)
        for failing in (
            client.get_flow("no-such-flow"),
            client.update_flow("no-such-flow", {"name": "x"}),
            client.create_flow({"slug": "$bad"}),
        ):
            try:
                await failing
            except ApiError as error:
                errors.append(error)

    with caplog.at_level(logging.DEBUG):
        _, client = with_client(config(store, max_attempts=10), action, recording)
        with pytest.raises(AuthError) as caught:
            with_client(config(store, client_secret=WRONG_SECRET), lambda c: c.list_flows())
    errors.append(caught.value)

    tokens = {header.split()[-1] for header in recording.authorizations}
    assert tokens  # the run did authenticate
    secrets = {store.client_secret, WRONG_SECRET, *tokens}
    texts = [caplog.text, repr(client), repr(client.config), repr(client.auth)]
    for error in errors:
        texts.append(str(error))
        texts.append("".join(traceback.format_exception(error)))  # what --debug prints
    assert "GET /v2/flows" in caplog.text  # the debug log did record the requests
    assert len(errors) == 4
    for text in texts:
        for secret in secrets:
            assert secret not in text
        assert "Bearer " not in text


def test_debug_output_of_a_failing_command_holds_no_secret(
    local_store: Store, tmp_path: Path
) -> None:
    # The CLI end to end: `--debug` prints the traceback of the error, and a wrong secret
    # must not appear in it, nor the right one.
    desired = tmp_path / "flows.yaml"
    desired.write_text("flows:\n  wishlists:\n    name: Wishlists\n    description: Saved\n")
    env = {
        **os.environ,
        "EPCC_API_BASE_URL": local_store.base_url,
        "EPCC_CLIENT_ID": local_store.client_id,
        "EPCC_CLIENT_SECRET": WRONG_SECRET,
    }
    env.pop("CI", None)
    result = subprocess.run(
        [sys.executable, "-m", "provisioner", "--debug", "plan", str(desired)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "Traceback" in output  # --debug did print the traceback
    assert "POST /oauth/access_token failed: 401" in output
    assert WRONG_SECRET not in output
    assert local_store.client_secret not in output
