"""One delivery attempt: the request (headers, signature) and what its result means."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from dataclasses import dataclass
from datetime import datetime

import httpx

from kitdesk.domain.webhooks.urls import AddressRefused, HostUnresolved

SECRET_HEADER = "Impilo-Webhook-Secret"  # noqa: S105 (a header name)
SIGNATURE_HEADER = "Kitdesk-Signature"
EVENT_ID_HEADER = "Kitdesk-Event-Id"
RETRYABLE_STATUSES = frozenset({408, 429})


@dataclass(frozen=True)
class Result:
    """What one attempt came to."""

    response_status: int | None
    # Set when no usable response came back: timeout, network_error, address_refused, error.
    error: str | None
    retryable: bool
    succeeded: bool
    description: str
    duration_ms: int


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``Kitdesk-Signature`` value: HMAC-SHA256 over ``f"{timestamp}.{body}"``."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def headers_for(*, event_id: int, body: bytes, secret: str | None, now: datetime) -> dict[str, str]:
    """Every header of a delivery; the secret ones only when the account has a secret."""
    headers = {"Content-Type": "application/json", EVENT_ID_HEADER: str(event_id)}
    if secret is not None:
        headers[SECRET_HEADER] = secret
        headers[SIGNATURE_HEADER] = sign(secret, int(now.timestamp()), body)
    return headers


def judge(status: int, duration_ms: int) -> Result:
    """2xx succeeds; 408, 429 and 5xx are retried; redirects and other statuses fail at once."""
    if 200 <= status < 300:
        return Result(status, None, False, True, f"HTTP {status}", duration_ms)
    if 300 <= status < 400:
        text = f"HTTP {status}: redirects are not followed"
        return Result(status, None, False, False, text, duration_ms)
    if status in RETRYABLE_STATUSES or status >= 500:
        return Result(status, None, True, False, f"HTTP {status}", duration_ms)
    return Result(status, None, False, False, f"HTTP {status}: not retried", duration_ms)


def _failure(error: str, description: str, started: float, *, retryable: bool = True) -> Result:
    return Result(None, error, retryable, False, description, _elapsed_ms(started))


def _elapsed_ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


async def send(
    client: httpx.AsyncClient, *, url: str, body: bytes, headers: dict[str, str], limit: float
) -> Result:
    """POST ``body`` once, within ``limit`` seconds in total; never raises."""
    started = time.monotonic()
    try:
        async with (
            asyncio.timeout(limit),
            client.stream("POST", url, content=body, headers=headers) as response,
        ):
            # The body is never read: the status is all that counts, and a huge or endless
            # body must not hold the worker.
            status = response.status_code
    except AddressRefused:
        text = "the URL's host resolves to a non-public address: not sent"
        return _failure("address_refused", text, started, retryable=False)
    except HostUnresolved:
        return _failure("network_error", "the URL's host does not resolve", started)
    except (TimeoutError, httpx.TimeoutException):
        return _failure("timeout", f"no response within {limit:g} s", started)
    except httpx.TransportError as exc:
        return _failure("network_error", f"network error ({type(exc).__name__})", started)
    except Exception as exc:  # a send must never stop the worker; the attempt is retried
        return _failure("error", f"error ({type(exc).__name__})", started)
    return judge(status, _elapsed_ms(started))
