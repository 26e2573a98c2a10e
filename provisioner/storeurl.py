"""The rules for a store's base URL and rate limit, shared by the CLI and the project file.

`EPCC_API_BASE_URL` / `--base-url` and a project file's `base_url` go through one rule
(`base_url_rule`); `EPCC_RATE_LIMIT` / `--rate-limit` and a project file's `rate_limit` through
one bound (`MIN_RATE_LIMIT` .. `MAX_RATE_LIMIT`). The client adds its own last check (httpx
parses the URL) on top. Pure: no network, no CLI library.
"""

from __future__ import annotations

import math
import re
from urllib.parse import urlsplit

from provisioner.errors import TargetError

# EPCC_RATE_LIMIT / --rate-limit / rate_limit: below 0.1 a run would crawl (1e-9 never
# finishes), above 10,000 the number means nothing (a production store allows 100,
# epcc-api.md 2.5). schemas/provisioner-project.schema.json states the same bounds (a test
# keeps them equal).
MIN_RATE_LIMIT = 0.1
MAX_RATE_LIMIT = 10_000.0
RATE_LIMIT_EXPECTED = (
    f"a number of requests per second from {MIN_RATE_LIMIT:g} to {MAX_RATE_LIMIT:,.0f}"
)
BASE_URL_EXPECTED = "http(s)://host[:port], e.g. https://euwest.api.elasticpath.com"
# A plain decimal number: what float() takes beyond it (`1_0`, full-width digits, `nan`,
# `infinity`) is refused, not read as something the user may not have meant.
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_PORT = re.compile(r"^(?:\[[^\]]*\]|[^:\[\]]*)(?::(?P<port>.*))?$")
_REDACTED = "***"


def rate_limit_ok(rate: float) -> bool:
    """True when `rate` requests per second is within the bounds (finite, 0.1 to 10,000)."""
    if isinstance(rate, int):  # TOML integers may be past a float's range
        return MIN_RATE_LIMIT <= rate <= MAX_RATE_LIMIT
    return math.isfinite(rate) and MIN_RATE_LIMIT <= rate <= MAX_RATE_LIMIT


def parse_rate_limit(value: str | float, source: str = "rate_limit") -> float:
    """Requests per second from `value`, within [0.1, 10,000]; else a `TargetError` naming
    `source` (`EPCC_RATE_LIMIT` or `--rate-limit`)."""
    text = value.strip() if isinstance(value, str) else None
    try:
        if text is not None and not _NUMBER.fullmatch(text):
            raise ValueError(text)
        rate = float(value if text is None else text)
    except (TypeError, ValueError):
        raise TargetError(f"{source} must be {RATE_LIMIT_EXPECTED}, not {value!r}") from None
    if not rate_limit_ok(rate):
        raise TargetError(f"{source} must be {RATE_LIMIT_EXPECTED}, not {value!r}")
    return rate


def display_url(url: str) -> str:
    """`url` as it may be shown: any `user:password@` becomes `***@` (never echoed)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    if "@" in rest:
        rest = _REDACTED + "@" + rest.rsplit("@", 1)[1]
    return f"{scheme}{sep}{rest}"


def base_url_rule(url: str, source: str = "the base URL") -> str:
    """The store's API root from `url` (stripped, without a trailing `/`), or a `TargetError`
    naming `source` (`EPCC_API_BASE_URL`, `--base-url`, `base_url`) and what was expected.

    A base URL is `http(s)://host[:port]` and nothing more: the client adds `/v2/...` and
    `/oauth/access_token` itself (epcc-api.md 1.5), so a path (`/v2`) would send every request
    to the wrong place and read as bad credentials. It never carries `user:password@` nor a
    query or fragment (where `?client_secret=...` would sit), and neither is ever repeated.
    """
    text = url.strip()
    base = text.rstrip("/")  # TF's default ends in "/" (§1.5)
    shown = display_url(base.split("?", 1)[0].split("#", 1)[0])
    expected = f"expected {BASE_URL_EXPECTED}"
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in base):
        raise TargetError(f"invalid store URL {shown!r} ({source}): {expected}")
    try:
        parts = urlsplit(base)
    except ValueError as error:
        raise TargetError(f"invalid store URL {shown!r} ({source}): {error}; {expected}") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise TargetError(f"invalid store URL {shown!r} ({source}): {expected}")
    if "@" in parts.netloc or "@" in base.partition("://")[2]:
        raise TargetError(
            f"the store URL {shown!r} ({source}) holds a user name or password: give the API "
            "root alone; the credentials go in EPCC_CLIENT_ID and EPCC_CLIENT_SECRET"
        )
    match = _PORT.match(parts.netloc)
    port = match.group("port") if match else ""
    if not match or not parts.hostname:
        raise TargetError(f"invalid store URL {shown!r} ({source}): no host; {expected}")
    if port is not None and not (port.isascii() and port.isdigit() and 1 <= int(port) <= 65535):
        raise TargetError(
            f"invalid store URL {shown!r} ({source}): the port {port!r} is not a number "
            "from 1 to 65535"
        )
    hidden = parts.query or parts.fragment or "?" in base or "#" in base
    if parts.path not in ("", "/"):
        root = f"{parts.scheme}://{parts.netloc}"
        also = " and a query string or fragment, not shown," if hidden else ""
        raise TargetError(
            f"the store URL ({source}) should be the API root, {root}, without a path: "
            f"{parts.path!r}{also} was given (provisioner adds /v2/... and /oauth/... itself)"
        )
    if hidden:
        raise TargetError(
            f"the store URL ({source}) holds a query string or fragment (a secret such as "
            "?client_secret=... written into it?); it is not shown: give the API root alone, "
            f"{parts.scheme}://{display_url(parts.netloc)}"
        )
    return base
