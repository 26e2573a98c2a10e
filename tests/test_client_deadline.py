"""The per-request budget holds end to end, and its error counts as the README does (issue 17.4).

Over real HTTP against the local store's fault knobs (`fail_rate` with a seed draws the same
statuses for the same requests every run; `retry_after` adds `Retry-After` to its 429s), with
deadlines of a second or less. Before this, a 429 restarted the request's deadline (an
injected-500 failure read `gave up after 7 attempts in 171.2 s` against the documented 6
attempts and 120 s), and the 7 counted the 429 as an attempt like a failure.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx
import pytest
from support.store import LocalStore

from provisioner.client import Client, ClientConfig
from provisioner.errors import RateLimitedError, ServerError, TransportError

T = TypeVar("T")
StoreFactory = Callable[..., LocalStore]

NOTE = re.compile(
    r"gave up after (\d+) attempts? in ([\d.]+) s(?:: (\d+) failed, (\d+) answered 429)?"
)


def config(store: LocalStore, **overrides: Any) -> ClientConfig:
    settings: dict[str, Any] = {
        "base_url": store.base_url,
        "client_id": store.client_id,
        "client_secret": store.client_secret,
        "rate_limit": 2000.0,
        "timeout": 10.0,
        **overrides,
    }
    return ClientConfig(**settings)


def with_client(cfg: ClientConfig, action: Callable[[Client], Awaitable[T]]) -> T:
    async def main() -> T:
        async with Client(cfg) as client:
            return await action(client)

    return asyncio.run(main())


def count(store: LocalStore, status: Callable[[int], bool], route: str = "/v2/flows") -> int:
    """How many GETs of `route` the store answered with a status `status` accepts."""
    return sum(
        int(r["count"])
        for r in store.stats()["requests"]
        if r["method"] == "GET" and r["route"] == route and status(int(r["status"]))
    )


def note(error: BaseException) -> tuple[int, float, int, int]:
    """(attempts, seconds, failed, 429s) from an error's `gave up after ...` note."""
    found = NOTE.search(str(error))
    assert found is not None, str(error)
    attempts, seconds = int(found[1]), float(found[2])
    failed = int(found[3]) if found[3] is not None else attempts
    return attempts, seconds, failed, int(found[4] or 0)


def test_a_429_is_an_attempt_but_not_a_failed_one(local_store_factory: StoreFactory) -> None:
    # Seed 7 answers GETs 502, 500, 500, 500, 502, 429, 502: six failures and a 429 in
    # seven attempts (the 429 late, so the pace it lowers costs little). The README bounds
    # failed attempts at 6; the message says which attempts were not failures.
    store = local_store_factory(fail_rate=1.0, seed=7)
    cfg = config(store, max_attempts=6, backoff_base=0.001, backoff_max=0.002)
    with pytest.raises(ServerError) as caught:
        with_client(cfg, lambda client: client.list_flows())
    attempts, _, failed, refused = note(caught.value)
    assert (attempts, failed, refused) == (7, 6, 1)
    assert re.search(
        r"gave up after 7 attempts in [\d.]+ s: 6 failed, 1 answered 429\)", str(caught.value)
    )
    assert count(store, lambda s: s >= 500) == failed == cfg.max_attempts
    assert count(store, lambda s: s == 429) == refused


def test_429s_do_not_move_the_deadline() -> None:
    # One request is refused (429, Retry-After 0.3 s) every time while the store accepts the
    # client's other requests: a store cannot be told to do that on demand, hence the mock
    # transport. Its deadline of 0.5 s fits one Retry-After wait: it is sent twice at most,
    # then gives up. Before, each 429 started its deadline again and, the store accepting
    # others, it was never given up at all.
    sent: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/access_token":
            return httpx.Response(200, json={"access_token": "t0k3n", "expires_in": 3600})
        sent.append(request.url.path)
        if request.url.path == "/v2/flows/refused":
            headers = {"Retry-After": "0.3"}
            return httpx.Response(429, json={"errors": [{"title": "slow down"}]}, headers=headers)
        return httpx.Response(200, json={"data": {"id": "x", "type": "flow"}})

    cfg = ClientConfig(
        "http://store.test", "id", "secret", rate_limit=1000.0, deadline=0.5, backoff_base=0.01
    )

    async def main() -> BaseException | None:
        async with Client(cfg, httpx.MockTransport(handler)) as client:
            for _ in range(40):  # 40 accepted: one 429 among them is not the store's limit
                await client.get_flow("accepted")
            refused = asyncio.create_task(client.get_flow("refused"))
            limit = time.monotonic() + 5.0
            while not refused.done() and time.monotonic() < limit:
                await client.get_flow("accepted")  # the store keeps accepting the others
            if not refused.done():
                refused.cancel()
                pytest.fail("still retrying after 5 s")
            return refused.exception()

    error = asyncio.run(main())
    assert isinstance(error, RateLimitedError), error
    assert 1 <= sent.count("/v2/flows/refused") <= 2
    attempts, _, failed, refused = note(error)
    assert (attempts, failed, refused) == (sent.count("/v2/flows/refused"), 0, attempts)
    assert "no request succeeded" not in str(error)  # others did


def test_a_request_that_never_got_its_turn_says_so(local_store_factory: StoreFactory) -> None:
    # A healthy store and a pace of 4 requests/s: eight requests at once cannot all start
    # within 0.6 s. Those that could not say why (their turn, not the store); the store is
    # not taken for frozen, and the next request goes through.
    store = local_store_factory()
    cfg = config(store, rate_limit=4.0, deadline=0.6)

    async def action(client: Client) -> tuple[list[Any], list[Any]]:
        outcomes = await asyncio.gather(
            *(client.list_flows() for _ in range(8)), return_exceptions=True
        )
        return outcomes, await client.list_flows()

    outcomes, after = with_client(cfg, action)
    errors = [o for o in outcomes if isinstance(o, BaseException)]
    assert errors
    for error in errors:
        assert isinstance(error, TransportError), error
        assert "not sent within 0.6 s: it waited for its turn at 4 req/s" in str(error)
    assert after == []
    assert count(store, lambda s: s == 200) == 9 - len(errors)
