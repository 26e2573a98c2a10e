"""`Session`: one store's connection, its token, its statistics, and the verbs of the API.

The verbs (`_get`, `_put`, `_delete`, `_create`, `_request`) go through `Sender`, the retry and
adoption policy; the domain methods (`provisioner.client.domain`) and the lists
(`provisioner.client.paging`) are built on them.
"""

from __future__ import annotations

import functools
import logging
import os
import ssl
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, Self

import httpx

from provisioner import __version__
from provisioner.client.auth import TOKEN_PATH, TokenAuth
from provisioner.client.calls import Adopted, Call, Finder
from provisioner.client.readback import DUPLICATE_STATUSES, read_back
from provisioner.client.redaction import RedactingFilter
from provisioner.client.responses import JsonObject, data_object, json_body
from provisioner.client.retry import Sender
from provisioner.client.settings import ClientConfig
from provisioner.client.stats import RequestStats
from provisioner.client.transport import Liveness, ThrottledTransport
from provisioner.errors import ApiError, AuthError, ConcurrentChangeError, ProvisionerError
from provisioner.pacing import InFlight, Pacer

log = logging.getLogger(__name__)


# The names of the attributes in which an object found in the store differs from a create.
Differ = Callable[[JsonObject], list[str]]
# §2.2: "The maximum records you can offset is 10,000" (flows and Commerce Extensions specs).
MAX_PAGE_OFFSET = 10_000


def tls_context() -> ssl.SSLContext:
    """The verifying TLS context of every connection this process opens, made once.

    httpx makes one per transport by default, and loading the CA bundle is ~30 ms of CPU
    (`plan --all` over 20 stores spent 0.6 s on it, issue 13). The same context, as httpx
    builds it (certifi's bundle, or `SSL_CERT_FILE` / `SSL_CERT_DIR`), is shared instead:
    an `SSLContext` may serve many connections at once.
    """
    return _tls_context(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))


@functools.cache
def _tls_context(cert_file: str | None, cert_dir: str | None) -> ssl.SSLContext:
    del cert_file, cert_dir  # the cache key: httpx reads them from the environment itself
    return httpx.create_ssl_context()


class Session:
    """An async connection to one store: `async with Client(config) as client: ...`.

    `transport` replaces the network (the embedded local store, or a test's mock transport).
    """

    def __init__(
        self, config: ClientConfig, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.config = config
        self.stats = RequestStats()
        self.read_only = config.read_only
        # The highest `page[offset]` a list may ask for (§2.2); a test may lower it.
        self.max_page_offset = MAX_PAGE_OFFSET
        self.auth = TokenAuth(self._fetch_token)
        self.pacer = Pacer(config.rate_limit, max_in_flight=config.max_in_flight)
        self.stats.ceiling = config.rate_limit
        self.stats.lowest_rate = config.rate_limit
        liveness = Liveness()
        self._redaction = RedactingFilter(self._secrets)
        if transport is None:
            # As many connections as requests in flight (and one for the token call), all
            # kept alive: httpx's default pool keeps 20, fewer than --parallelism may send.
            places = config.max_in_flight + 1
            limits = httpx.Limits(max_connections=places, max_keepalive_connections=places)
            transport = httpx.AsyncHTTPTransport(verify=tls_context(), limits=limits)
        wire = ThrottledTransport(
            transport,
            self.pacer,
            InFlight(self.pacer),
            self.stats,
            liveness,
        )
        self._http = httpx.AsyncClient(
            base_url=config.base_url,
            transport=wire,
            timeout=config.timeout,
            follow_redirects=False,
            headers={"Accept": "application/json", "User-Agent": f"provisioner/{__version__}"},
        )
        self._sender = Sender(
            config, self._http, self.auth, self.pacer, self.stats, liveness, self._secrets
        )
        self._filtering = False

    def __repr__(self) -> str:
        mode = "read-only" if self.read_only else "read-write"
        return f"Client({self.config.base_url!r}, {mode})"

    async def __aenter__(self) -> Self:
        if not self._filtering:
            self._redaction.install()
            self._filtering = True
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connections and stop filtering log records."""
        await self._http.aclose()
        if self._filtering:
            self._redaction.remove()
            self._filtering = False

    def _secrets(self) -> tuple[str, ...]:
        secret = (self.config.client_secret,) if self.config.client_secret else ()
        return secret + self.auth.secrets()

    async def _fetch_token(self) -> Mapping[str, Any]:
        """The token call (§1.1): client credentials with a secret, the implicit grant without."""
        form = {"grant_type": "implicit", "client_id": self.config.client_id}
        if self.config.client_secret is not None:
            form["grant_type"] = "client_credentials"
            form["client_secret"] = self.config.client_secret
        outcome = await self._sender.send(Call("POST", TOKEN_PATH, form=form))
        assert isinstance(outcome, httpx.Response)
        return json_body("POST", TOKEN_PATH, outcome, error_type=AuthError)

    # ----------------------------------------------------------------------- verbs

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: JsonObject | None = None,
        missing_ok_on_retry: bool = False,
    ) -> httpx.Response:
        call = Call(
            method,
            path,
            params=params,
            json_body=json_body,
            missing_ok_on_retry=missing_ok_on_retry,
        )
        outcome = await self._sender.send(call)
        assert isinstance(outcome, httpx.Response)  # only a write with a read-back adopts
        return outcome

    async def _get(self, path: str) -> JsonObject:
        response = await self._request("GET", path)
        return data_object("GET", path, response)

    async def _put(self, path: str, body: JsonObject) -> JsonObject:
        """A partial update. PUT is idempotent, so a lost answer is simply re-sent; when the
        answer to the last attempt is lost too, the object is read back and the update counts
        as done if the store holds every attribute sent (issue 10 item 4)."""
        sent = without_keys(body.get("data") or {})

        async def verify() -> JsonObject | None:
            try:
                stored = await self._get(path)
            except ProvisionerError:
                return None  # the read-back failed too: report the PUT's own failure
            return stored if _holds(stored, sent) else None

        outcome = await self._sender.send(Call("PUT", path, json_body=body, verify=verify))
        if isinstance(outcome, Adopted):
            return outcome.data
        return data_object("PUT", path, outcome)

    async def _update(
        self, path: str, kind: str, object_id: str, attrs: Mapping[str, Any]
    ) -> JsonObject:
        """A partial update of one object: PUT sends its `type` and `id` (§3.5)."""
        body = {"data": {**without_keys(attrs), "type": kind, "id": object_id}}
        return await self._put(path, body)

    async def _delete(self, path: str) -> None:
        """A delete (a 404 after a lost answer means it is done)."""
        await self._request("DELETE", path, missing_ok_on_retry=True)

    async def _create(
        self,
        path: str,
        body: JsonObject,
        find: Finder | None,
        concurrent: tuple[str, Differ] | None = None,
    ) -> JsonObject:
        """POST a create; `concurrent` (what, differs) makes a duplicate refusal cooperative.

        A duplicate refusal that `Sender` did not adopt (none of our attempts can have applied
        it) means another writer created the object since our plan: it is read back and
        adopted when `differs` finds no attribute that differs from what we sent, else the
        error says that another writer changed the store. That read-back runs within the
        create's deadline, like its others.
        """
        end = time.monotonic() + self.config.deadline
        try:
            outcome = await self._sender.send(Call("POST", path, json_body=body, find=find))
        except ApiError as error:
            if find is None or concurrent is None or error.status not in DUPLICATE_STATUSES:
                raise
            found = await read_back(find, end)
            if found is None:
                raise
            what, differs = concurrent
            different = differs(found)
            if different:
                raise ConcurrentChangeError(error, what, different) from None
            self.stats.converged += 1
            log.info(
                "POST %s: %s already exists as desired (another writer made it); adopting %s",
                path,
                what,
                found.get("id", "?"),
            )
            return found
        if isinstance(outcome, Adopted):
            return outcome.data
        return data_object("POST", path, outcome)


def without_keys(attrs: Mapping[str, Any]) -> JsonObject:
    """`attrs` without `type` and `id`, which the client sets itself."""
    return {k: v for k, v in attrs.items() if k not in ("type", "id")}


def _holds(stored: Mapping[str, Any], sent: Mapping[str, Any]) -> bool:
    """True when an object read back holds every attribute a PUT sent.

    Null and `""` are one value (the API stores an empty default or description either way,
    4.3); a key the object does not show counts only if null was sent (`omit_null`); the
    password is never returned (6). An object sent (a Custom Field's `validation`, which an
    update sends without its create-only keys) is held when the stored object holds every
    key sent: like is compared with like, not a part with the whole (issue 14 follow-up H).
    """
    for key, value in sent.items():
        if key == "password":
            continue
        have = stored.get(key)
        if have == value or (value in (None, "") and have in (None, "")):
            continue
        if isinstance(value, Mapping) and isinstance(have, Mapping) and _holds(have, value):
            continue
        return False
    return True
