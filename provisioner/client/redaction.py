"""No token, secret or Authorization header in any error, log line or repr.

`redact` masks known secret values and anything shaped like a credential; `RedactingFilter`
applies it to the log records of the client's modules, httpx and httpcore while a client is
open.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable

# Loggers whose records pass the redacting filter while a client is open. A logger's filters
# only see that logger's own records (not those of its children), so every module of the
# client that logs is named (a test keeps the list complete), and httpcore's sub-modules too.
REDACTED_LOGGERS = (
    "provisioner.client.paging",
    "provisioner.client.retry",
    "provisioner.client.session",
    "provisioner.client.settings",
    "provisioner.client.transport",
    "httpx",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
)
# A bearer credential: 20+ token characters, or 6+ with a digit or a token-only symbol. Plain
# words are left alone ("A bearer access token is required" is a sentence, not a token).
_BEARER = re.compile(
    r"(?i)(bearer\s+)"
    r"(?:[A-Za-z0-9._~+/=-]{20,}|(?=[A-Za-z._~+/=-]*[0-9._~+/=])[A-Za-z0-9._~+/=-]{6,})"
    r"(?![A-Za-z0-9._~+/=-])"
)
_SECRET_FIELD = re.compile(r"(?i)(client_secret[\"']?\s*[=:]\s*[\"']?)[^\s'\"&,;}]+")
REDACTED = "***"  # the same mask as provisioner.storeurl.display_url


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with every known secret value and anything shaped like a credential masked."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    text = _BEARER.sub(rf"\g<1>{REDACTED}", text)
    return _SECRET_FIELD.sub(rf"\g<1>{REDACTED}", text)


class RedactingFilter(logging.Filter):
    """Masks the secret, the tokens and credential-shaped text in every record it sees."""

    def __init__(self, secrets: Callable[[], Iterable[str]]) -> None:
        super().__init__()
        self._secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message, self._secrets())
        if clean != message:
            record.msg = clean
            record.args = None
        return True

    def install(self) -> None:
        """Filter the records of every logger in `REDACTED_LOGGERS`."""
        for name in REDACTED_LOGGERS:
            logging.getLogger(name).addFilter(self)

    def remove(self) -> None:
        """Stop filtering."""
        for name in REDACTED_LOGGERS:
            logging.getLogger(name).removeFilter(self)
