"""The one package that speaks HTTP to a store, real or local: `Client` and its domain methods.

Everything else talks to a store through `Client`'s domain methods (list flows, create a field,
...), which return the API's raw `data` objects. Underneath, every request goes through the same
machinery, built so that a run against a production store in CI can be trusted. One job per
module:

- `settings`: `ClientConfig` from the epcc-cli variables; base URL and rate-limit checks;
- `auth`: the shared token, refreshed before expiry and after a 401; with no client secret the
  implicit grant, and every write refused up front with `ReadOnlyError` (epcc-api.md §1);
- `transport`: the pacing hooks on the wire (the `provisioner.pacing.Pacer` slows the whole
  client on a 429; a bound on requests in flight), request statistics, the store's liveness;
- `failures`: what a request that got no answer ran into, for messages and for retries;
- `calls`: what one request is (`Call`), the budget its attempts run in, `Retry-After`;
- `retry`: retries with backoff and `Retry-After` within `max_attempts` and a `deadline`, and
  adoption of creates and updates whose answers were lost (§2.5, §2.7, §9);
- `watchdog`: a store silent for a whole deadline is frozen: every request under way is cut;
- `giveup`: the error a request gives up with, its attempts counted;
- `readback`: reading back whether a lost write was applied, within its operation's deadline;
- `responses`: error bodies parsed leniently into the typed exceptions of `provisioner.errors`
  (§2.4), and the JSON:API bodies;
- `redaction`: no token, secret or Authorization header in any error, log line or repr;
- `stats`: `RequestStats`, requests by method and status, retries, adoptions, waits;
- `session`: the connection and the verbs (GET, PUT, DELETE, a create that adopts);
- `paging`: whole lists, pages read concurrently, checked against the reported total (§2.2);
- `domain`: `Client`, the domain methods (flows, fields, customers, the entry count).
"""

from __future__ import annotations

from provisioner.client.auth import TOKEN_PATH, TokenAuth
from provisioner.client.calls import parse_retry_after
from provisioner.client.domain import Client
from provisioner.client.failures import TransportFailure, classify_transport_error
from provisioner.client.paging import MAX_PAGES, PAGE_LIMIT
from provisioner.client.readback import DUPLICATE_STATUSES
from provisioner.client.redaction import REDACTED, redact
from provisioner.client.responses import JsonObject, error_from_response
from provisioner.client.retry import RETRY_STATUSES
from provisioner.client.session import MAX_PAGE_OFFSET
from provisioner.client.settings import (
    DEFAULT_BASE_URL,
    DEFAULT_MAX_IN_FLIGHT,
    DEFAULT_RATE_LIMIT,
    DEPRECATED_BASE_URL,
    MAX_RATE_LIMIT,
    MIN_RATE_LIMIT,
    RECONNECT_BACKOFF_MAX,
    RECONNECT_DEADLINE,
    ClientConfig,
    check_base_url,
    parse_rate_limit,
)
from provisioner.client.stats import CEILING_NOTE_SECONDS, RequestStats
from provisioner.errors import IncompleteListError, ListTooLongError
from provisioner.storeurl import display_url

__all__ = [
    "CEILING_NOTE_SECONDS",
    "DEFAULT_BASE_URL",
    "DEFAULT_MAX_IN_FLIGHT",
    "DEFAULT_RATE_LIMIT",
    "DEPRECATED_BASE_URL",
    "DUPLICATE_STATUSES",
    "MAX_PAGES",
    "MAX_PAGE_OFFSET",
    "MAX_RATE_LIMIT",
    "MIN_RATE_LIMIT",
    "PAGE_LIMIT",
    "RECONNECT_BACKOFF_MAX",
    "RECONNECT_DEADLINE",
    "REDACTED",
    "RETRY_STATUSES",
    "TOKEN_PATH",
    "Client",
    "ClientConfig",
    "IncompleteListError",
    "JsonObject",
    "ListTooLongError",
    "RequestStats",
    "TokenAuth",
    "TransportFailure",
    "check_base_url",
    "classify_transport_error",
    "display_url",
    "error_from_response",
    "parse_rate_limit",
    "parse_retry_after",
    "redact",
]
