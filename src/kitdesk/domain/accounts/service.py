"""Accounts and API keys: creation, listing, deactivation and authentication."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import FromClause, Select, bindparam, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from kitdesk.db import driver
from kitdesk.db.base import utcnow
from kitdesk.db.models import Account, ApiKey
from kitdesk.domain.audit import recorder as audit
from kitdesk.errors import Conflict, Invalid, Unauthorized, not_found

KEY_PREFIX_LENGTH = 12
# Longest account name and key label (the columns' size).
MAX_NAME_LENGTH = 200
# last_used_at is refreshed at most this often, so reads do not write on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class Caller:
    """Who is making a request: the account and the key it used."""

    account_id: int
    account_kind: str
    key_prefix: str

    @property
    def is_operator(self) -> bool:
        return self.account_kind == "operator"


@dataclass
class KeyRejected(Unauthorized):
    """A known key that no longer works (expired, deactivated, account disabled).

    It answers exactly as an unknown key does; the owner is kept for the audit trail only.
    """

    account_id: int | None = None
    key_prefix: str | None = None


@dataclass(frozen=True)
class IssuedKey:
    """A freshly created key; ``secret`` is shown once and never stored."""

    key: ApiKey
    secret: str


def hash_key(secret: str) -> str:
    """SHA-256 of a key. Keys are long random strings, so a fast hash is enough."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def key_prefix(secret: str) -> str:
    """The part of a key that may be shown again after creation."""
    return secret[:KEY_PREFIX_LENGTH]


def generate_secret() -> str:
    """A new random key: ``kd_`` followed by 43 URL-safe characters (256 bits)."""
    return "kd_" + secrets.token_urlsafe(32)


async def create_account(
    session: AsyncSession, *, name: str, kind: str = "customer", account_id: int | None = None
) -> Account:
    """Create a customer or operator account."""
    if kind not in ("customer", "operator"):
        raise Invalid(code="invalid_account_kind", message="kind must be customer or operator")
    if not name.strip():
        raise Invalid(code="invalid_account_name", message="name must not be empty")
    if len(name.strip()) > MAX_NAME_LENGTH:
        raise Invalid(
            code="invalid_account_name",
            message=f"name must be at most {MAX_NAME_LENGTH} characters",
        )
    account = Account(name=name.strip(), kind=kind)
    if account_id is not None:
        account.id = account_id
    session.add(account)
    await session.flush()
    return account


async def get_account(session: AsyncSession, account_id: int) -> Account:
    """One account by id."""
    account = await session.get(Account, account_id)
    if account is None:
        raise not_found("account", account_id)
    return account


async def list_accounts(session: AsyncSession) -> list[Account]:
    """Every account, oldest first."""
    return list((await session.scalars(select(Account).order_by(Account.id))).all())


async def set_unique_external_order_ids(
    session: AsyncSession, *, account_id: int, unique: bool
) -> Account:
    """Turn per-account uniqueness of ``externalOrderIds`` on or off."""
    account = await get_account(session, account_id)
    account.unique_external_order_ids = unique
    await session.flush()
    return account


async def create_key(
    session: AsyncSession,
    *,
    account_id: int,
    name: str = "",
    expires_at: datetime | None = None,
    secret: str | None = None,
) -> IssuedKey:
    """Issue a key for an account. ``secret`` fixes its value (demo data, scripts)."""
    await get_account(session, account_id)
    if len(name) > MAX_NAME_LENGTH:
        raise Invalid(
            code="invalid_key_name",
            message=f"a key name must be at most {MAX_NAME_LENGTH} characters",
        )
    if expires_at is not None and expires_at <= utcnow():
        raise Invalid(code="invalid_expiry", message="expiry must be in the future")
    value = secret if secret is not None else generate_secret()
    if len(value) < 16:
        raise Invalid(code="weak_api_key", message="an API key must be at least 16 characters")
    digest = hash_key(value)
    taken = await session.scalar(select(ApiKey.id).where(ApiKey.key_hash == digest))
    if taken is not None:
        raise Conflict(code="duplicate_api_key", message="this API key is already in use")
    key = ApiKey(
        account_id=account_id,
        name=name,
        prefix=key_prefix(value),
        key_hash=digest,
        expires_at=expires_at,
    )
    session.add(key)
    await session.flush()
    audit.record(session, action="apiKey.create", resource_type="apiKey", resource_id=key.id)
    return IssuedKey(key=key, secret=value)


async def list_keys(session: AsyncSession, *, account_id: int | None = None) -> list[ApiKey]:
    """Keys (never their secrets), optionally of one account."""
    query = select(ApiKey).order_by(ApiKey.id)
    if account_id is not None:
        query = query.where(ApiKey.account_id == account_id)
    return list((await session.scalars(query)).all())


async def deactivate_key(session: AsyncSession, *, key_id: int) -> ApiKey:
    """Deactivate a key; it answers 401 from then on."""
    key = await session.get(ApiKey, key_id)
    if key is None:
        raise not_found("API key", key_id)
    changed = []
    if key.deactivated_at is None:
        key.deactivated_at = utcnow()
        await session.flush()
        changed = ["deactivatedAt"]
    audit.record(
        session,
        action="apiKey.deactivate",
        resource_type="apiKey",
        resource_id=key.id,
        changed=changed,
    )
    return key


@dataclass(frozen=True)
class KeyCheck:
    """A presented key that works: who uses it, and whether its last use should be recorded."""

    caller: Caller
    key_id: int
    use_due: bool


class _KeyRow(NamedTuple):
    """A row of ``_KEY_LOOKUP``, in its column order."""

    id: int
    account_id: int
    prefix: str
    key_hash: str
    expires_at: datetime | None
    deactivated_at: datetime | None
    last_used_at: datetime | None
    kind: str
    active: bool


_KEY_LOOKUP = (
    select(
        ApiKey.id,
        ApiKey.account_id,
        ApiKey.prefix,
        ApiKey.key_hash,
        ApiKey.expires_at,
        ApiKey.deactivated_at,
        ApiKey.last_used_at,
        Account.kind,
        Account.active,
    )
    .join(Account, Account.id == ApiKey.account_id)
    .where(ApiKey.key_hash == bindparam("digest"))
)
# The number of columns of ``_KEY_LOOKUP``, which ``key_lookup_with`` puts first.
KEY_COLUMNS = len(_KEY_LOOKUP.selected_columns)


def key_lookup_with(columns: Sequence[Any], target: FromClause, onclause: Any) -> Select[Any]:
    """The key lookup (parameter ``digest``) with ``columns`` of ``target`` beside its own,
    LEFT JOINed on ``onclause``: a read that needs the key's account in the same round trip.

    Its rows' first ``KEY_COLUMNS`` values are what ``check_key`` takes as ``found``. Whatever
    the rest holds is read for the key's own account only, and must be dropped unless the key
    passes.
    """
    keys = ApiKey.__table__.join(Account.__table__, Account.id == ApiKey.account_id)
    return (
        select(*_KEY_LOOKUP.selected_columns, *columns)
        .select_from(keys.outerjoin(target, onclause))
        .where(ApiKey.key_hash == bindparam("digest"))
    )


def key_accepted(now: Any) -> Any:
    """The SQL twin of ``check_key``'s acceptance: true for a key row (of ``ApiKey`` joined to its
    ``Account``) that ``check_key`` would accept at ``now`` (a bind parameter given the same
    value as ``check_key``'s ``now``). For a statement that writes something only for an
    accepted key, in the round trip that reads the key."""
    return (
        ApiKey.deactivated_at.is_(None)
        & or_(ApiKey.expires_at.is_(None), ApiKey.expires_at > now)
        & Account.active.is_(True)
    )


def key_account() -> Any:
    """The account of the key whose hash is the parameter ``digest``, as a scalar subquery: a
    read of that account's rows in the key lookup's own statement (see ``key_lookup_with``)."""
    return select(ApiKey.account_id).where(ApiKey.key_hash == bindparam("digest")).scalar_subquery()


# Conditional, so two requests that both saw a stale time write it once between them.
_RECORD_USE = (
    update(ApiKey)
    .where(
        ApiKey.id == bindparam("key_id"),
        or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < bindparam("stale_before")),
    )
    .values(last_used_at=bindparam("now"))
    .execution_options(synchronize_session=False)
)


async def check_key(
    session: AsyncSession | AsyncConnection,
    secret: str | None,
    *,
    resolution: timedelta = LAST_USED_RESOLUTION,
    found: Sequence[Sequence[Any]] | None = None,
    now: datetime | None = None,
) -> KeyCheck:
    """The caller behind a presented key, or Unauthorized; reads only (see ``record_use``).

    ``found``: the key's row already read (by a ``key_lookup_with`` statement for
    ``hash_key(secret)``; empty when there was none), instead of reading it here. ``now``: the
    time the key is judged at (default: the current time); ``key_accepted`` judges the same.
    """
    if not secret:
        raise Unauthorized(code="unauthorized", message="missing Impilo-API-Key header")
    digest = hash_key(secret)
    if found is None:
        found = await driver.fetch(session, _KEY_LOOKUP, {"digest": digest})
    if now is None:
        now = utcnow()
    rejected = "invalid, expired or deactivated API key"
    if not found or not hmac.compare_digest(found[0][3], digest):
        raise Unauthorized(code="unauthorized", message=rejected)
    row = _KeyRow(*found[0])
    if (
        row.deactivated_at is not None
        or (row.expires_at is not None and row.expires_at <= now)
        or not row.active
    ):
        raise KeyRejected(
            code="unauthorized", message=rejected, account_id=row.account_id, key_prefix=row.prefix
        )
    caller = Caller(account_id=row.account_id, account_kind=row.kind, key_prefix=row.prefix)
    due = row.last_used_at is None or now - row.last_used_at >= resolution
    return KeyCheck(caller=caller, key_id=row.id, use_due=due)


async def record_use(
    session: AsyncSession | AsyncConnection,
    *,
    key_id: int,
    resolution: timedelta = LAST_USED_RESOLUTION,
) -> None:
    """Set a key's last use to now, unless another request did so within ``resolution``."""
    now = utcnow()
    await session.execute(
        _RECORD_USE, {"key_id": key_id, "stale_before": now - resolution, "now": now}
    )


async def authenticate(
    session: AsyncSession, secret: str | None, *, resolution: timedelta = LAST_USED_RESOLUTION
) -> Caller:
    """The caller behind a presented key, or Unauthorized; records the key's use when due."""
    check = await check_key(session, secret, resolution=resolution)
    if check.use_due:
        await record_use(session, key_id=check.key_id, resolution=resolution)
    return check.caller
