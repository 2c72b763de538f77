"""The HTTP client webhooks are sent with.

Checking a URL's addresses once and then letting the client resolve the name again would leave
a window for DNS rebinding (public at the check, private at the send). Here the client connects
only to addresses it has just resolved and checked itself; TLS still verifies the host name.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

from kitdesk.domain.webhooks.urls import resolve
from kitdesk.settings import Settings


class CheckedBackend(httpcore.AsyncNetworkBackend):
    """Resolves each host itself and connects only to addresses that pass the public check."""

    def __init__(self, *, allow_private: bool) -> None:
        self._inner = httpcore.AnyIOBackend()
        self._allow_private = allow_private

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await resolve(host, port, allow_private=self._allow_private)
        last_error: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_error = exc
        assert last_error is not None  # resolve() returns at least one address
        raise last_error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("webhooks are never sent over unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def create_client(settings: Settings) -> httpx.AsyncClient:
    """A client that never follows redirects, ignores proxy variables and checks every address."""
    ssl_context = httpx.create_ssl_context(trust_env=False)
    transport = httpx.AsyncHTTPTransport(verify=ssl_context, trust_env=False)
    # httpx offers no public way to choose the network backend, so the pool is replaced whole.
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=ssl_context,
        network_backend=CheckedBackend(allow_private=settings.webhook_allow_private_urls),
        max_connections=100,
        max_keepalive_connections=20,
    )
    return httpx.AsyncClient(
        transport=transport,
        timeout=httpx.Timeout(settings.webhook_timeout_seconds),
        follow_redirects=False,
        trust_env=False,
        headers={"User-Agent": "Kitdesk-Webhooks/0.1"},
    )
