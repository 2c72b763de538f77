"""The integrity middleware: per-key rate limits and ``Idempotency-Key`` on every API POST.

It only acts on ``/api/v3/`` requests that need it (rate limiting on, or a POST carrying an
``Idempotency-Key``). Then it authenticates the caller once, in a short transaction that also
counts the request against the key's rate limit, and hands the caller on to the route.
A request whose key does not authenticate passes through untouched: the route answers 401.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from kitdesk.api.deps import API_KEY_HEADER
from kitdesk.api.integrity import asgi, clock, idempotent, state
from kitdesk.api.problems import problem_response
from kitdesk.db.engine import session_scope
from kitdesk.domain.accounts.service import Caller, authenticate
from kitdesk.domain.integrity import idempotency, ratelimit
from kitdesk.domain.integrity.maintenance import idempotency_policy
from kitdesk.errors import Unauthorized
from kitdesk.settings import Settings

API_PREFIX = "/api/v3/"
IDEMPOTENCY_HEADER = b"idempotency-key"
MSG_BAD_KEY = "Idempotency-Key must be 1 to 255 printable ASCII characters"
MSG_TWO_KEYS = "send at most one Idempotency-Key header"


@dataclass(frozen=True)
class _Identified:
    caller: Caller
    count: int | None  # requests made with this key in the current window, when limiting


class IntegrityMiddleware:
    """Rate limiting and idempotency for the API; see docs/guarantees.md."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.policy = idempotency_policy(settings)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(API_PREFIX):
            await self.app(scope, receive, send)
            return
        keys = asgi.header(scope, IDEMPOTENCY_HEADER) if scope["method"] == "POST" else []
        limit = self.settings.rate_limit_requests
        api_keys = asgi.header(scope, API_KEY_HEADER.lower().encode("ascii"))
        if not (keys or limit) or not api_keys:
            await self.app(scope, receive, send)
            return
        found = await self._identify(scope, api_keys[0].decode("latin-1"))
        if found is None:
            await self.app(scope, receive, send)
            return
        state.remember(scope, state.CALLER, found.caller)
        if limit is not None and found.count is not None and found.count > limit:
            await self._too_many(scope, receive, send, limit)
        elif not keys:
            await self.app(scope, receive, send)
        elif len(keys) > 1 or not idempotency.key_is_valid(keys[0]):
            message = MSG_TWO_KEYS if len(keys) > 1 else MSG_BAD_KEY
            response = problem_response(
                Request(scope), status=400, code="invalid_idempotency_key", message=message
            )
            await response(scope, receive, send)
        else:
            await idempotent.run(
                self.app,
                scope,
                receive,
                send,
                caller=found.caller,
                key=keys[0].decode("ascii"),
                policy=self.policy,
            )

    async def _identify(self, scope: Scope, secret: str) -> _Identified | None:
        """Authenticate (as the routes do) and count the request, in one short transaction."""
        async with session_scope(scope["app"].state.session_factory) as session:
            try:
                resolution = timedelta(seconds=self.settings.api_key_last_used_seconds)
                caller = await authenticate(session, secret, resolution=resolution)
            except Unauthorized:
                return None
            count = None
            if self.settings.rate_limit_requests is not None:
                window = ratelimit.window_of(clock.now(), self.settings.rate_limit_window_seconds)
                count = await ratelimit.count_request(session, secret=secret, window=window)
            return _Identified(caller=caller, count=count)

    async def _too_many(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        seconds = self.settings.rate_limit_window_seconds
        moment = clock.now()
        retry_after = ratelimit.window_of(moment, seconds).retry_after(moment)
        response = problem_response(
            Request(scope),
            status=429,
            code="too_many_requests",
            message=f"rate limit of {limit} requests per {seconds} seconds reached for this "
            f"API key; retry in {retry_after} seconds",
            headers={"Retry-After": str(retry_after)},
        )
        await response(scope, receive, send)
