"""One POST with an ``Idempotency-Key``: claim the key, do the work, store or release.

1. The key is claimed (``in_flight``) in a short transaction of its own, so a duplicate arriving
   on any server process meanwhile finds it and gets 409.
2. The request runs in a session this module owns (``deps`` hands it to the route). Its response
   is held back; a 2xx is stored on the claim row in that same transaction, which then commits:
   the change and its stored response commit together or not at all.
3. Anything else (a 4xx, a 5xx, an exception) rolls the work back and deletes the claim in a
   transaction of its own, so the client may retry with the same key. When the database is down
   that delete fails too: it is logged and retried in the background (``releases``), and the
   client still gets the request's own answer (a 503 ``database_unavailable``, say).
"""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from kitdesk.api.integrity import asgi, clock, releases, state
from kitdesk.api.problems import problem_response
from kitdesk.db.engine import session_scope
from kitdesk.domain.accounts.service import Caller
from kitdesk.domain.integrity import idempotency
from kitdesk.domain.integrity.idempotency import Claim, Policy

log = logging.getLogger("kitdesk.idempotency")

# A claim found gone or taken over while we looked is tried again this many times in all.
CLAIM_ATTEMPTS = 3
MSG_REUSED = "this Idempotency-Key was already used for a different request"
MSG_IN_FLIGHT = "a request with this Idempotency-Key is still in progress; retry later"


async def run(
    app: ASGIApp,
    scope: Scope,
    receive: Receive,
    send: Send,
    *,
    caller: Caller,
    key: str,
    policy: Policy,
) -> None:
    """Answer one idempotent request: replay, refuse, or run it and keep its response."""
    body = await asgi.read_body(receive)
    factory: async_sessionmaker[AsyncSession] = scope["app"].state.session_factory
    fingerprint = idempotency.fingerprint(scope["method"], asgi.path_with_query(scope), body)
    claim = await _claim(
        factory, account_id=caller.account_id, key=key, fingerprint=fingerprint, policy=policy
    )
    if claim.outcome == "replay":
        assert claim.response is not None
        await asgi.send_stored(send, claim.response, replayed=True)
    elif claim.outcome == "reused":
        await _problem(scope, receive, send, 422, "idempotency_key_reused", MSG_REUSED)
    elif claim.outcome == "claimed":
        assert claim.token is not None
        claimed = releases.ClaimRef(caller.account_id, key, claim.token)
        work = _Work(factory, claimed, policy)
        await work.run(app, scope, asgi.replaying(body, receive), send)
    else:
        await _in_flight(scope, receive, send)


async def _claim(
    factory: async_sessionmaker[AsyncSession],
    *,
    account_id: int,
    key: str,
    fingerprint: str,
    policy: Policy,
) -> Claim:
    for _ in range(CLAIM_ATTEMPTS):
        async with session_scope(factory) as session:
            claim = await idempotency.claim(
                session,
                account_id=account_id,
                key=key,
                fingerprint=fingerprint,
                now=clock.now(),
                policy=policy,
            )
        if claim.outcome != "retry":
            return claim
    return Claim("in_flight")


class _Work:
    """The claimed request's own transaction, and what happens to the claim afterwards."""

    def __init__(
        self,
        factory: async_sessionmaker[AsyncSession],
        claim: releases.ClaimRef,
        policy: Policy,
    ) -> None:
        self.factory = factory
        self.claim = claim
        self.policy = policy

    async def run(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
        recorder = asgi.ResponseRecorder()
        stored = False
        try:
            async with self.factory() as session:
                state.remember(scope, state.SESSION, session)
                try:
                    await app(scope, receive, recorder.send)
                    stored = await self._store(session, recorder)
                finally:
                    state.forget(scope, state.SESSION)
                    if not stored:
                        await _roll_back(session)
        finally:
            if not stored:
                # After the work's session is closed: on SQLite it held the write lock.
                await releases.release_or_retry_later(
                    self.factory,
                    self.claim,
                    state=scope["app"].state,
                    abandon_after=self.policy.abandon_after,
                )
        if stored or not 200 <= recorder.status < 300:
            await recorder.forward(send)
        else:  # the claim was taken over as abandoned while this request ran
            await _in_flight(scope, receive, send)

    async def _store(self, session: AsyncSession, recorder: asgi.ResponseRecorder) -> bool:
        """Keep a 2xx response with the work and commit both; anything else is not kept."""
        if not 200 <= recorder.status < 300:
            return False
        kept = await store_response(
            session,
            account_id=self.claim.account_id,
            key=self.claim.key,
            token=self.claim.token,
            response=recorder.stored(),
        )
        if kept:
            await session.commit()
        return kept


async def store_response(
    session: AsyncSession,
    *,
    account_id: int,
    key: str,
    token: str,
    response: idempotency.StoredResponse,
) -> bool:
    """Store the response on the claim, in the work's transaction (a seam for tests)."""
    return await idempotency.complete(
        session, account_id=account_id, key=key, token=token, response=response
    )


async def _roll_back(session: AsyncSession) -> None:
    """Undo the work; a rollback the lost database refuses is logged, not raised over the
    request's own error (the database discards the transaction with its connection)."""
    try:
        await session.rollback()
    except Exception:
        log.warning("rollback of a failed idempotent request failed", exc_info=True)


async def _in_flight(scope: Scope, receive: Receive, send: Send) -> None:
    await _problem(
        scope, receive, send, 409, "idempotency_key_in_flight", MSG_IN_FLIGHT, retry_after=1
    )


async def _problem(
    scope: Scope,
    receive: Receive,
    send: Send,
    status: int,
    code: str,
    message: str,
    *,
    retry_after: int | None = None,
) -> None:
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    response = problem_response(
        Request(scope), status=status, code=code, message=message, headers=headers
    )
    await response(scope, receive, send)
