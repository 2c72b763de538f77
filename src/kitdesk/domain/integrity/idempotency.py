"""Idempotency keys: claim a key, store the response with the work, replay it, purge old keys.

A key moves through two states in ``idempotency_keys``:

- ``in_flight``: claimed (in a short transaction of its own) by the request now doing the work;
- ``stored``: the work committed, together with the response stored on this row.

A request that fails is never stored: its claim is deleted and the client may retry.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kitdesk.db.models import IdempotencyKey
from kitdesk.domain.integrity.sql import rows_affected, upsert_insert

MAX_KEY_LENGTH = 255
IN_FLIGHT = "in_flight"
STORED = "stored"

Outcome = Literal["claimed", "replay", "in_flight", "reused", "retry"]


def key_is_valid(raw: bytes) -> bool:
    """1 to 255 printable ASCII characters (space to tilde)."""
    return 1 <= len(raw) <= MAX_KEY_LENGTH and all(0x20 <= byte <= 0x7E for byte in raw)


def canonical_body(body: bytes) -> bytes:
    """JSON re-serialized with sorted keys and no spacing; anything else as sent."""
    if not body.strip():
        return b""
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):
        return body
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode("ascii")


def fingerprint(method: str, path: str, body: bytes) -> str:
    """SHA-256 (hex) of the method, the path (with any query string) and the canonical body."""
    digest = hashlib.sha256()
    for part in (method.upper().encode("ascii"), path.encode("utf-8"), canonical_body(body)):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


@dataclass(frozen=True)
class StoredResponse:
    """A response kept for replay: status, headers (without Content-Length) and body bytes."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes


@dataclass(frozen=True)
class Claim:
    """What a claim attempt found.

    ``claimed``: this request owns the key (``token``); ``replay``: a completed request with the
    same fingerprint (``response``); ``in_flight``: the same request is still running elsewhere;
    ``reused``: the key belongs to a different request; ``retry``: the key changed hands while
    we looked, try again.
    """

    outcome: Outcome
    token: str | None = None
    response: StoredResponse | None = None


@dataclass(frozen=True)
class Policy:
    """How long completed keys are replayed and when an in-flight claim counts as abandoned."""

    retention: timedelta
    abandon_after: timedelta


async def claim(
    session: AsyncSession,
    *,
    account_id: int,
    key: str,
    fingerprint: str,
    now: datetime,
    policy: Policy,
) -> Claim:
    """Try to claim ``key`` for one request; commit right after so others see the claim."""
    token = secrets.token_hex(16)
    statement = (
        upsert_insert(session, IdempotencyKey.__table__)
        .values(
            account_id=account_id,
            key=key,
            fingerprint=fingerprint,
            state=IN_FLIGHT,
            claim_token=token,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["account_id", "key"])
        .returning(IdempotencyKey.__table__.c.id)
    )
    if (await session.execute(statement)).first() is not None:
        return Claim("claimed", token=token)
    row = (
        await session.execute(
            select(IdempotencyKey).where(
                IdempotencyKey.account_id == account_id, IdempotencyKey.key == key
            )
        )
    ).scalar_one_or_none()
    if row is None:  # its owner failed and released it in between
        return Claim("retry")
    if _still_valid(row, now, policy):
        return _existing(row, fingerprint)
    return await _take_over(session, row, fingerprint=fingerprint, now=now, token=token)


def _still_valid(row: IdempotencyKey, now: datetime, policy: Policy) -> bool:
    age = now - row.created_at
    return age < (policy.retention if row.state == STORED else policy.abandon_after)


def _existing(row: IdempotencyKey, fingerprint: str) -> Claim:
    if row.fingerprint != fingerprint:
        return Claim("reused")
    if row.state != STORED:
        return Claim("in_flight")
    assert row.response_status is not None
    assert row.response_body is not None
    headers = [(str(name), str(value)) for name, value in row.response_headers or []]
    return Claim("replay", response=StoredResponse(row.response_status, headers, row.response_body))


async def _take_over(
    session: AsyncSession, row: IdempotencyKey, *, fingerprint: str, now: datetime, token: str
) -> Claim:
    """An expired or abandoned key counts as new: take it, unless someone else just did."""
    result = await session.execute(
        update(IdempotencyKey)
        .where(
            IdempotencyKey.id == row.id,
            IdempotencyKey.claim_token == row.claim_token,
            IdempotencyKey.state == row.state,
        )
        .values(
            fingerprint=fingerprint,
            state=IN_FLIGHT,
            claim_token=token,
            created_at=now,
            response_status=None,
            response_headers=None,
            response_body=None,
        )
        .execution_options(synchronize_session=False)
    )
    return Claim("claimed", token=token) if rows_affected(result) == 1 else Claim("retry")


async def complete(
    session: AsyncSession, *, account_id: int, key: str, token: str, response: StoredResponse
) -> bool:
    """Store the response on our claim, in the work's own transaction.

    False when the claim is no longer ours (taken over as abandoned): the caller must then roll
    the work back, so that exactly one request's work and response ever commit for a key.
    """
    result = await session.execute(
        update(IdempotencyKey)
        .where(
            IdempotencyKey.account_id == account_id,
            IdempotencyKey.key == key,
            IdempotencyKey.claim_token == token,
            IdempotencyKey.state == IN_FLIGHT,
        )
        .values(
            state=STORED,
            response_status=response.status,
            response_headers=[list(pair) for pair in response.headers],
            response_body=response.body,
        )
        .execution_options(synchronize_session=False)
    )
    return rows_affected(result) == 1


async def release(session: AsyncSession, *, account_id: int, key: str, token: str) -> None:
    """Drop our in-flight claim after a failed request, so the client may retry."""
    await session.execute(
        delete(IdempotencyKey)
        .where(
            IdempotencyKey.account_id == account_id,
            IdempotencyKey.key == key,
            IdempotencyKey.claim_token == token,
            IdempotencyKey.state == IN_FLIGHT,
        )
        .execution_options(synchronize_session=False)
    )


async def purge_expired(session: AsyncSession, *, now: datetime, policy: Policy) -> int:
    """Delete every key older than the retention period; returns how many went.

    Younger abandoned claims stay: the next request with their key takes them over.
    """
    result = await session.execute(
        delete(IdempotencyKey)
        .where(IdempotencyKey.created_at <= now - policy.retention)
        .execution_options(synchronize_session=False)
    )
    return rows_affected(result)
