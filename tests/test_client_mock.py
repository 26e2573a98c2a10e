"""Client behaviour the local store cannot produce, over `httpx.MockTransport`.

Malformed bodies, `Retry-After` as an HTTP date, the legacy 403 auth body, errors as a string,
a token wrapped in `data`, unpaginated and pagination-ignoring lists (epcc-api.md §1.2, §1.4,
§2.2, §2.4, §2.5). Everything else is tested against the real local store in test_client.py.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from provisioner.client import Client, ClientConfig, parse_retry_after
from provisioner.errors import (
    ApiError,
    AuthError,
    NotFoundError,
    RateLimitedError,
    ServerError,
    ValidationApiError,
)

SECRET = "mock-secret-0f9e8d7c6b5a"
TOKEN = "mocktoken4f1c2b3a4d5e6f708192a3b4c5d6e7f8"
Handler = Callable[[httpx.Request], httpx.Response]


def config(**overrides: Any) -> ClientConfig:
    settings: dict[str, Any] = {
        "base_url": "http://store.test",
        "client_id": "mock-id",
        "client_secret": SECRET,
        "rate_limit": 1000.0,
        "backoff_base": 0.01,
        "backoff_max": 0.02,
        "deadline": 10.0,
    }
    settings.update(overrides)
    return ClientConfig(**settings)


def token_response(**extra: Any) -> httpx.Response:
    body = {
        "access_token": TOKEN,
        "token_type": "Bearer",
        "expires_in": 3600,
        "expires": int(time.time()) + 3600,
        "identifier": "client_credentials",
        **extra,
    }
    return httpx.Response(200, json=body)


class Recorder:
    """A mock store: token calls answered, API calls passed to `api`, everything recorded."""

    def __init__(self, api: Handler, token: Handler | None = None) -> None:
        self.api = api
        self.token = token or (lambda request: token_response())
        self.calls: list[tuple[str, str]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls.append((request.method, request.url.path))
        if request.url.path == "/oauth/access_token":
            return self.token(request)
        assert request.headers["Authorization"] == f"Bearer {TOKEN}"
        return self.api(request)

    def api_calls(self) -> list[tuple[str, str]]:
        return [call for call in self.calls if call[1] != "/oauth/access_token"]


def run(recorder: Recorder, action: Callable[[Client], Any], **overrides: Any) -> Any:
    async def main() -> Any:
        async with Client(config(**overrides), httpx.MockTransport(recorder)) as client:
            result = await action(client)
            return result, client

    return asyncio.run(main())


def flow(n: int) -> dict[str, Any]:
    return {"id": f"id-{n}", "type": "flow", "slug": f"flow-{n}", "name": f"Flow {n}"}


# --------------------------------------------------------------------------- error bodies


@pytest.mark.parametrize(
    ("status", "body", "kind", "title", "detail"),
    [
        # the legacy bad-credentials body on an API call (§1.4): errors is a string
        (403, {"status": False, "errors": "Forbidden"}, AuthError, "Forbidden", ""),
        # errors as a plain string, status absent
        (400, {"errors": "Could not parse the supplied filter"}, ValidationApiError, "", ""),
        # status as a string, source beside the detail
        (
            422,
            {
                "errors": [
                    {
                        "status": "422",
                        "source": "slug",
                        "title": "Failed Validation",
                        "detail": "must be unique",
                    }
                ]
            },
            ValidationApiError,
            "Failed Validation",
            "slug: must be unique",
        ),
        # only a title (REC integrations)
        (
            400,
            {"errors": [{"title": "Missing required property: observes"}]},
            ValidationApiError,
            "Missing required property: observes",
            "",
        ),
        # the 500 body: top-level fields and a request id in the body
        (
            500,
            {
                "status": 500,
                "title": "Internal Server Error",
                "detail": "report it",
                "request_id": "req-500",
            },
            ServerError,
            "Internal Server Error",
            "report it",
        ),
        # not JSON at all: the status phrase and an excerpt of the page
        (
            404,
            b"<html><body><h1>Not here</h1></body></html>",
            NotFoundError,
            "Not Found",
            "Not here",
        ),
        # JSON but no usable key: the status phrase
        (409, {"unexpected": True}, ApiError, "Conflict", ""),
        # an empty body
        (405, b"", ApiError, "Method Not Allowed", ""),
    ],
)
def test_error_bodies_are_parsed_leniently(
    status: int, body: Any, kind: type[ApiError], title: str, detail: str
) -> None:
    def api(request: httpx.Request) -> httpx.Response:
        headers = {"X-Moltin-Request-Id": "req-header"} if status != 500 else {}
        if isinstance(body, bytes):
            return httpx.Response(status, content=body, headers=headers)
        return httpx.Response(status, json=body, headers=headers)

    recorder = Recorder(api)
    with pytest.raises(kind) as caught:
        run(recorder, lambda client: client.get_flow("abc"), max_attempts=1)
    error = caught.value
    assert (error.method, error.path, error.status) == ("GET", "/v2/flows/abc", status)
    if title:
        assert error.title == title
    else:
        assert error.title == str(body["errors"])
    assert detail in error.detail
    assert error.request_id == ("req-500" if status == 500 else "req-header")
    assert str(status) in str(error)


def test_errors_as_a_list_of_strings_keep_every_message() -> None:
    recorder = Recorder(lambda r: httpx.Response(422, json={"errors": ["first", "second"]}))
    with pytest.raises(ValidationApiError) as caught:
        run(recorder, lambda client: client.create_flow({"slug": "x"}))
    assert caught.value.title == "first"
    assert "second" in caught.value.detail
    # A 4xx is never re-sent. Issue 10.12: a create refused 400/409/422 may be a duplicate
    # made by another writer (the API does not say which, epcc-api.md 3.6), so the flow list
    # is read back once; no flow `x` there, so the refusal stands.
    assert recorder.api_calls() == [("POST", "/v2/flows"), ("GET", "/v2/flows")]


def test_legacy_403_from_the_token_endpoint_is_an_auth_error_with_a_hint() -> None:
    recorder = Recorder(
        lambda r: httpx.Response(200, json={"data": []}),
        token=lambda r: httpx.Response(403, json={"status": False, "errors": "Forbidden"}),
    )
    with pytest.raises(AuthError) as caught:
        run(recorder, lambda client: client.list_flows())
    error = caught.value
    assert (error.method, error.path, error.status, error.title) == (
        "POST",
        "/oauth/access_token",
        403,
        "Forbidden",
    )
    assert "EPCC_CLIENT_SECRET" in str(error)
    assert SECRET not in str(error)
    assert recorder.calls == [("POST", "/oauth/access_token")]  # never retried


def test_token_wrapped_in_data_is_accepted() -> None:
    def token(request: httpx.Request) -> httpx.Response:
        inner = json.loads(token_response().content)
        return httpx.Response(200, json={"data": inner})

    recorder = Recorder(lambda r: httpx.Response(200, json={"data": [flow(1)]}), token=token)
    flows, _ = run(recorder, lambda client: client.list_flows())
    assert [f["slug"] for f in flows] == ["flow-1"]


@pytest.mark.parametrize(
    "body",
    [
        b"this is not json",
        json.dumps({"token_type": "Bearer"}).encode(),  # no access_token
        json.dumps(["a", "list"]).encode(),
    ],
)
def test_malformed_token_response_is_an_auth_error(body: bytes) -> None:
    recorder = Recorder(
        lambda r: httpx.Response(200, json={"data": []}),
        token=lambda r: httpx.Response(200, content=body),
    )
    with pytest.raises(AuthError, match="Malformed"):
        run(recorder, lambda client: client.list_flows())


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"{not json", "not JSON"),
        (json.dumps({"data": "flows"}).encode(), "not a list"),
        (json.dumps({"data": [1, 2]}).encode(), "not an object"),
        (json.dumps([1, 2]).encode(), "not an object"),
    ],
)
def test_malformed_list_bodies_are_reported(body: bytes, why: str) -> None:
    recorder = Recorder(lambda r: httpx.Response(200, content=body))
    with pytest.raises(ApiError, match=why) as caught:
        run(recorder, lambda client: client.list_flows())
    assert caught.value.title == "Malformed response"


def test_malformed_object_body_is_reported() -> None:
    recorder = Recorder(lambda r: httpx.Response(201, json={"data": None}))
    with pytest.raises(ApiError, match="not an object"):
        run(recorder, lambda client: client.create_flow({"slug": "x", "name": "X"}))


# --------------------------------------------------------------------------- Retry-After


def test_retry_after_parsing() -> None:
    now = 1_700_000_000.0
    date = email.utils.formatdate(now + 7, usegmt=True)
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(" 0.5 ") == 0.5
    assert parse_retry_after(date, now=now) == 7.0
    assert parse_retry_after(email.utils.formatdate(now - 30, usegmt=True), now=now) == 0.0
    assert parse_retry_after("-4") == 0.0
    for junk in (None, "", "soon", "nan", "Mon, 99 Foo 2020"):
        assert parse_retry_after(junk, now=now) is None


def test_retry_after_http_date_is_honoured() -> None:
    answers = iter([429, 503, 200])

    def api(request: httpx.Request) -> httpx.Response:
        status = next(answers)
        if status == 200:
            return httpx.Response(200, json={"data": [flow(1)]})
        # one second in the past and a few tenths ahead: both mean "retry (about) now"
        when = time.time() + (-1 if status == 429 else 0.3)
        headers = {"Retry-After": email.utils.formatdate(when, usegmt=True)}
        return httpx.Response(status, json={"errors": [{"title": "slow down"}]}, headers=headers)

    recorder = Recorder(api)
    flows, client = run(recorder, lambda client: client.list_flows())
    assert [f["id"] for f in flows] == ["id-1"]
    assert client.stats.retries == 2
    assert client.stats.count("GET", 429) == 1
    assert client.stats.count("GET", 503) == 1
    assert client.stats.backoff_seconds == 0  # the waits came from Retry-After


def test_retry_after_beyond_the_deadline_gives_up_at_once() -> None:
    def api(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, json={"errors": []}, headers={"Retry-After": "3600"})

    recorder = Recorder(api)
    started = time.monotonic()
    with pytest.raises(RateLimitedError) as caught:
        run(recorder, lambda client: client.list_flows(), deadline=5.0)
    assert time.monotonic() - started < 5.0  # did not sleep an hour (nor the deadline)
    assert "gave up after 1 attempt" in str(caught.value)
    assert recorder.api_calls() == [("GET", "/v2/flows")]


def test_retries_stop_at_max_attempts() -> None:
    recorder = Recorder(lambda r: httpx.Response(502, text="Bad Gateway"))
    with pytest.raises(ServerError) as caught:
        run(recorder, lambda client: client.get_flow("x"), max_attempts=3)
    assert caught.value.status == 502
    assert "gave up after 3 attempts" in str(caught.value)
    assert len(recorder.api_calls()) == 3


@pytest.mark.parametrize("status", [400, 401, 403, 404, 405, 409, 415, 422])
def test_other_4xx_are_never_retried(status: int) -> None:
    recorder = Recorder(lambda r: httpx.Response(status, json={"errors": [{"title": "no"}]}))
    with pytest.raises(ApiError) as caught:
        run(recorder, lambda client: client.update_flow("f1", {"name": "N"}))
    assert caught.value.status == status
    # a 401 is answered by one token refresh and one re-send, nothing more
    expected = 2 if status == 401 else 1
    assert recorder.api_calls() == [("PUT", "/v2/flows/f1")] * expected


# --------------------------------------------------------------------------- pagination


def test_unpaginated_reply_is_the_whole_list() -> None:
    flows = [flow(n) for n in range(150)]  # more than a page, yet no meta: take it all
    recorder = Recorder(lambda r: httpx.Response(200, json={"data": flows}))
    listed, _ = run(recorder, lambda client: client.list_flows())
    assert len(listed) == 150
    assert recorder.api_calls() == [("GET", "/v2/flows")]


def test_an_entry_count_without_a_total_counts_the_unpaginated_list() -> None:
    """`count_entries` reads `meta.results.total`; a reply without it (section 0) is the whole
    list, counted in full (the local store always sends the total, hence a mock)."""
    entries = [{"id": f"e{n}", "type": "entry"} for n in range(3)]
    recorder = Recorder(lambda r: httpx.Response(200, json={"data": entries}))
    counted, _ = run(recorder, lambda client: client.count_entries("notes"))
    assert counted == 3
    assert recorder.api_calls() == [("GET", "/v2/flows/notes/entries")] * 2


def test_a_server_ignoring_page_offset_is_read_once() -> None:
    page = [flow(n) for n in range(100)]
    body = {"data": page, "meta": {"page": {"limit": 100}, "results": {}}}
    recorder = Recorder(lambda r: httpx.Response(200, json=body))
    listed, _ = run(recorder, lambda client: client.list_flows())
    assert [f["id"] for f in listed] == [f["id"] for f in page]
    assert len(recorder.api_calls()) == 2  # the second page repeated the first: stop


def test_pagination_uses_offsets_in_records_and_the_servers_page_limit() -> None:
    everything = [flow(n) for n in range(60)]
    offsets: list[str] = []

    def api(request: httpx.Request) -> httpx.Response:
        offset = int(request.url.params["page[offset]"])
        offsets.append(request.url.params["page[offset]"])
        assert request.url.params["page[limit]"] == "100"
        page = everything[offset : offset + 25]  # the server caps page[limit] at 25
        meta = {"page": {"limit": 25, "offset": offset}, "results": {"total": 60}}
        return httpx.Response(200, json={"data": page, "meta": meta})

    listed, _ = run(Recorder(api), lambda client: client.list_flows())
    assert [f["id"] for f in listed] == [f["id"] for f in everything]
    assert offsets == ["0", "25", "50"]


# --------------------------------------------------------------------------- read-only


def test_implicit_grant_sends_no_secret_and_refuses_writes_before_sending() -> None:
    forms: list[str] = []

    def token(request: httpx.Request) -> httpx.Response:
        forms.append(request.content.decode())
        return token_response(identifier="implicit")

    recorder = Recorder(lambda r: httpx.Response(200, json={"data": []}), token=token)

    async def action(client: Client) -> None:
        assert client.read_only
        await client.list_flows()
        with pytest.raises(Exception, match="needs client credentials") as caught:
            await client.create_flow({"slug": "x"})
        assert type(caught.value).__name__ == "ReadOnlyError"

    run(recorder, action, client_secret=None)
    assert forms == ["grant_type=implicit&client_id=mock-id"]
    assert recorder.api_calls() == [("GET", "/v2/flows")]


# --------------------------------------------------------------------------- lost answers


class FlakyFlows:
    """Flows whose writes commit and then lose their answer on chosen calls.

    `stale_reads` list reads that still miss a just-committed flow (a lagging replica), so
    the client's read-back fails and the re-sent create is refused as a duplicate.
    """

    def __init__(self, lose: set[int], stale_reads: int = 0) -> None:
        self.flows: dict[str, dict[str, Any]] = {}
        self.lose = lose
        self.stale_reads = stale_reads
        self.writes = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            if self.stale_reads:
                self.stale_reads -= 1
                return httpx.Response(200, json={"data": []})
            return httpx.Response(200, json={"data": list(self.flows.values())})
        self.writes += 1
        if request.method == "POST":
            data = json.loads(request.content)["data"]
            if any(f["slug"] == data["slug"] for f in self.flows.values()):
                return httpx.Response(
                    422, json={"errors": [{"title": "Failed Validation", "detail": "duplicate"}]}
                )
            created = {**data, "id": f"id-{len(self.flows)}"}
            self.flows[created["id"]] = created
            answer = httpx.Response(201, json={"data": created})
        else:  # DELETE /v2/flows/{id}
            flow_id = request.url.path.rsplit("/", 1)[-1]
            if self.flows.pop(flow_id, None) is None:
                return httpx.Response(404, json={"errors": [{"title": "Flow not found"}]})
            answer = httpx.Response(204)
        if self.writes in self.lose:
            raise httpx.ReadError("connection reset after the write committed", request=request)
        return answer


def test_duplicate_refusal_after_a_lost_create_is_adopted() -> None:
    store = FlakyFlows(lose={1}, stale_reads=1)
    recorder = Recorder(store)
    created, client = run(recorder, lambda client: client.create_flow({"slug": "a", "name": "A"}))
    assert created["id"] == "id-0"
    assert len(store.flows) == 1
    assert client.stats.adopted == 1
    assert recorder.api_calls() == [
        ("POST", "/v2/flows"),  # committed, answer lost
        ("GET", "/v2/flows"),  # read-back misses it (stale)
        ("POST", "/v2/flows"),  # re-sent: 422 duplicate
        ("GET", "/v2/flows"),  # read-back finds it: adopted
    ]


def test_a_lost_answer_on_the_last_attempt_is_still_adopted() -> None:
    store = FlakyFlows(lose={1})
    created, client = run(
        Recorder(store), lambda client: client.create_flow({"slug": "a"}), max_attempts=1
    )
    assert created["slug"] == "a"
    assert client.stats.adopted == 1


def test_a_lost_delete_answered_404_on_retry_is_done() -> None:
    store = FlakyFlows(lose={2})

    async def action(client: Client) -> None:
        created = await client.create_flow({"slug": "a"})
        await client.delete_flow(created["id"])  # committed, answer lost, then 404: done
        with pytest.raises(NotFoundError):
            await client.delete_flow(created["id"])  # a plain 404 is still an error

    _, client = run(Recorder(store), action)
    assert store.flows == {}
    assert client.stats.count("DELETE", 404) == 2


def test_a_create_whose_read_back_fails_is_not_resent() -> None:
    # Without knowing whether the lost create was applied, sending it again could duplicate
    # it: the read-back's own failure is reported instead.
    def api(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            raise httpx.ReadTimeout("no answer", request=request)
        return httpx.Response(403, json={"errors": [{"title": "Forbidden"}]})

    recorder = Recorder(api)
    with pytest.raises(AuthError):
        run(recorder, lambda client: client.create_flow({"slug": "a"}))
    assert recorder.api_calls() == [("POST", "/v2/flows"), ("GET", "/v2/flows")]


def test_a_retry_after_beyond_the_deadline_does_not_hold_back_later_requests() -> None:
    # The request that got it gives up at once; the client must not then make every other
    # request wait the hour out (concurrent apply operations would hang far past the deadline).
    answers = iter([429])

    def api(request: httpx.Request) -> httpx.Response:
        if next(answers, 200) == 429:
            return httpx.Response(429, json={"errors": []}, headers={"Retry-After": "3600"})
        return httpx.Response(200, json={"data": [flow(1)]})

    async def action(client: Client) -> list[dict[str, Any]]:
        with pytest.raises(RateLimitedError):
            await client.list_flows()
        return await asyncio.wait_for(client.list_flows(), timeout=5.0)

    flows, _ = run(Recorder(api), action, deadline=2.0)
    assert [f["id"] for f in flows] == ["id-1"]


def test_a_failed_token_call_fails_every_request_that_waited_for_it() -> None:
    # Eight requests wait for one token; the token endpoint is down. They share that one
    # failure instead of each retrying the token call in turn (8 x the attempts and deadline).
    recorder = Recorder(
        lambda r: httpx.Response(200, json={"data": []}),
        token=lambda r: httpx.Response(503, json={"errors": [{"title": "down"}]}),
    )

    async def action(client: Client) -> list[BaseException | list[Any]]:
        outcomes = await asyncio.gather(
            *(client.list_flows() for _ in range(8)), return_exceptions=True
        )
        assert recorder.calls == [("POST", "/oauth/access_token")] * 3
        with pytest.raises(AuthError):  # a later request tries again
            await client.list_flows()
        assert recorder.calls == [("POST", "/oauth/access_token")] * 6
        return outcomes

    outcomes, _ = run(recorder, action, max_attempts=3)
    assert all(isinstance(outcome, AuthError) for outcome in outcomes)
