"""What a request that got no answer ran into: one classification for people and for retries.

`classify_transport_error` is the one place that reads a failed exchange: the short word of the
statistics, one line for the message, whether it can heal within a run, whether the request
may have reached the store (a lost answer), and whether the store refused the connection
(what a store restarting causes).
"""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass

import httpx

# Transport failures that happen before the request left: it cannot have been applied.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass(frozen=True)
class TransportFailure:
    """What a request that got no answer ran into, for people and for the retry policy.

    `kind` is the short word of the statistics (`timeout`, `connection error`); `cause` one
    line saying what happened (`connection refused by 127.0.0.1:8710`); `retryable` is False
    for what cannot heal within a run (a name that does not resolve, a TLS protocol or
    certificate mismatch), which is then reported at once instead of retried. `maybe_sent` is
    False when the request cannot have left (no connection, no pool slot): it cannot have been
    applied. `refused` is True for a connection the store refused or could not take: what a
    store restarting causes (a store that is up refuses nothing); a connection dropped after
    the request was sent (a lost answer) is not one of these.
    """

    kind: str
    cause: str
    retryable: bool
    maybe_sent: bool = True
    refused: bool = False


def failure_kind(error: BaseException | None) -> str:
    """The short word of the statistics for a failed exchange (`None`: no answer at all)."""
    if error is None:
        return "no answer"
    if isinstance(error, TimeoutError | httpx.TimeoutException):
        return "timeout"
    if isinstance(error, httpx.NetworkError | httpx.RemoteProtocolError):
        return "connection error"  # refused, reset, or dropped before the answer was complete
    return type(error).__name__


def _causes(error: BaseException) -> list[BaseException]:
    """`error` and the exceptions it wraps (httpx -> httpcore -> OSError / ssl.SSLError)."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and all(current is not seen for seen in chain):
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _reason(error: BaseException) -> str:
    if isinstance(error, ssl.SSLError) and error.reason:
        return str(error.reason).replace("_", " ").lower()
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error) or type(error).__name__


def _from_cause(cause: BaseException, where: str) -> tuple[str, bool] | None:
    """The line and the retry decision for a wrapped OS or TLS error, if it says more."""
    if isinstance(cause, ssl.SSLCertVerificationError):
        why = cause.verify_message or _reason(cause)
        return f"TLS certificate verification failed for {where}: {why}", False
    if isinstance(cause, ssl.SSLError):
        reason = _reason(cause)
        hint = ""
        if "wrong version number" in reason or "record layer" in reason:
            hint = " (is it a plain http:// server?)"
        return f"TLS handshake failed with {where}: {reason}{hint}", False
    if isinstance(cause, socket.gaierror):
        host = where.rsplit(":", 1)[0] if where.count(":") == 1 else where
        temporary = cause.errno == socket.EAI_AGAIN
        suffix = " (temporary)" if temporary else ""
        return f"name resolution failed for {host}: {_reason(cause)}{suffix}", temporary
    if isinstance(cause, ConnectionRefusedError):
        return f"connection refused by {where}", True
    if isinstance(cause, ConnectionResetError):
        return f"connection reset by {where}", True
    return None


def _from_error(error: BaseException, where: str) -> str:
    """The line for an httpx error whose causes say nothing more specific."""
    if isinstance(error, httpx.ConnectTimeout):
        return f"timed out connecting to {where}"
    if isinstance(error, httpx.TimeoutException):
        return f"timed out waiting for {where} to answer"
    if isinstance(error, httpx.RemoteProtocolError):
        return f"{where} closed the connection before the answer was complete"
    last = _reason(_causes(error)[-1])
    if isinstance(error, httpx.ConnectError):
        return f"cannot connect to {where}: {last}"
    return last


def classify_transport_error(error: BaseException, where: str = "the store") -> TransportFailure:
    """The one place that says what a failed exchange ran into (`where` is `host:port`).

    Used for the message (one line, with or without `--debug`) and for the retry decision:
    a name that does not resolve and a TLS mismatch are not retried; a temporary resolver
    failure (EAI_AGAIN), a refused or reset connection and a timeout are.
    """
    kind = failure_kind(error)
    maybe_sent = not isinstance(error, _NOT_SENT)
    refused = isinstance(error, httpx.ConnectError)
    for cause in _causes(error):
        found = _from_cause(cause, where)
        if found is not None:
            return TransportFailure(kind, found[0], found[1], maybe_sent, refused)
    return TransportFailure(kind, _from_error(error, where), True, maybe_sent, refused)
