"""Reading the audit trail in tests, and the facts about the demo data the tests rely on."""

from __future__ import annotations

from typing import Any

import typer
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kitdesk.cli.audit import audit_app
from kitdesk.db.models import Account, AuditEntry
from kitdesk.domain import demo
from kitdesk.domain.accounts.service import key_prefix
from kitdesk.domain.audit.queries import to_read
from tests.cli.conftest import Cli
from tests.conftest import TEST_KEYS, Api

PATIENTS = "/api/v3/patient"
DEMO_PATIENT = 1234
OTHER_PATIENT = 5678
CUSTOMER_PREFIX = key_prefix(TEST_KEYS.customer)
OTHER_PREFIX = key_prefix(TEST_KEYS.other_customer)
OPERATOR_PREFIX = key_prefix(TEST_KEYS.operator)


def account_id(api: Api, name: str = demo.DEMO_CUSTOMER) -> int:
    """The id of the demo account called ``name``."""
    found = api.call(lambda s: s.scalar(select(Account.id).where(Account.name == name)))
    assert found is not None
    return int(found)


def last_entry_id(api: Api) -> int:
    """The id of the newest audit entry (0 when there is none)."""
    return int(api.call(lambda s: s.scalar(select(func.max(AuditEntry.id)))) or 0)


def entries_after(api: Api, after: int) -> list[dict[str, Any]]:
    """Every audit entry written after entry ``after``, oldest first, as the API shows them."""

    async def read(session: AsyncSession) -> list[dict[str, Any]]:
        rows = await session.scalars(
            select(AuditEntry).where(AuditEntry.id > after).order_by(AuditEntry.id)
        )
        return [to_read(e).model_dump(mode="json", by_alias=True) for e in rows]

    return api.call(read)


def one_entry(api: Api, after: int) -> dict[str, Any]:
    """The single audit entry written after entry ``after``."""
    written = entries_after(api, after)
    assert len(written) == 1, written
    return written[0]


def expected(
    response: Any,
    *,
    action: str,
    resource_type: str,
    account: int | None,
    prefix: str | None,
    resource_id: int | None = None,
    resource_ids: list[int] | None = None,
    changed: list[str] | None = None,
    outcome: str = "success",
    reason: str | None = None,
) -> dict[str, Any]:
    """What an entry written by ``response``'s request must say (id and time left out)."""
    ids = resource_ids if resource_ids is not None else [resource_id] if resource_id else []
    return {
        "channel": "api",
        "requestId": response.headers["x-request-id"],
        "accountId": account,
        "keyPrefix": prefix,
        "action": action,
        "resourceType": resource_type,
        "resourceId": resource_id,
        "resourceIds": ids,
        "changedFields": changed,
        "outcome": outcome,
        "reason": reason,
    }


def without_id_and_time(entry: dict[str, Any]) -> dict[str, Any]:
    """An entry without the two values a test cannot predict."""
    return {k: v for k, v in entry.items() if k not in ("id", "occurredAt")}


def audited(
    api: Api, key: str, method: str, path: str, **kwargs: Any
) -> tuple[Any, dict[str, Any]]:
    """Send one request that must succeed; return it with the one entry it wrote."""
    before = last_entry_id(api)
    response = api.request(method, path, key=key, **kwargs)
    assert response.status_code in (200, 201, 204), response.text
    return response, one_entry(api, before)


def audit_command() -> typer.Typer:
    """``kitdesk`` with the ``audit`` command group, wired as ``cli/main.py`` wires it."""
    root = typer.Typer()
    root.add_typer(audit_app, name="audit")
    return root


def audit_lines(cli: Cli, *args: str) -> list[str]:
    """The lines ``kitdesk audit list ARGS`` prints (it must succeed)."""
    result = cli.runner.invoke(
        audit_command(), ["audit", "list", *args], env={"KITDESK_DATABASE_URL": cli.database_url}
    )
    assert result.exit_code == 0, result.output
    return result.stdout.splitlines()
