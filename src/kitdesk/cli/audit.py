"""``kitdesk audit``: reading the audit trail from the command line."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from kitdesk.cli.runtime import fail, run_in_transaction
from kitdesk.domain.audit import queries
from kitdesk.domain.audit.schemas import AuditEntryRead
from kitdesk.domain.common import MAX_ID, MAX_PAGE_SIZE, PageRequest

audit_app = typer.Typer(help="The audit trail (who did what to which records).")


def _moment(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        fail(f"{option} takes an ISO-8601 time such as 2026-11-27T09:30:00Z, got {value!r}", 2)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _line(entry: AuditEntryRead) -> str:
    ids = ",".join(str(i) for i in entry.resource_ids) or "-"
    who = f"account {entry.account_id}" if entry.account_id is not None else "no account"
    key = f"{entry.key_prefix}..." if entry.key_prefix else "-"
    outcome = entry.outcome if entry.reason is None else f"{entry.outcome} ({entry.reason})"
    changed = f"\tchanged {','.join(entry.changed_fields)}" if entry.changed_fields else ""
    return (
        f"{entry.id}\t{entry.occurred_at.isoformat()}\t{outcome}\t{entry.action}"
        f"\t{entry.resource_type} {ids}\t{who}\t{key}\t{entry.channel} {entry.request_id or '-'}"
        f"{changed}"
    )


@audit_app.command("list")
def audit_list(
    account: Annotated[
        int | None, typer.Option(help="Only what this account did.", min=1, max=MAX_ID)
    ] = None,
    action: Annotated[str | None, typer.Option(help="Only this action, e.g. patient.read.")] = None,
    resource_type: Annotated[
        str | None, typer.Option(help="Only this kind of record, e.g. patient.")
    ] = None,
    resource_id: Annotated[
        int | None,
        typer.Option(help="Only entries naming this record (lists included).", min=1, max=MAX_ID),
    ] = None,
    since: Annotated[str | None, typer.Option(help="From this ISO-8601 time (UTC).")] = None,
    until: Annotated[str | None, typer.Option(help="Before this ISO-8601 time (UTC).")] = None,
    limit: Annotated[int, typer.Option(help="How many entries.", min=1, max=MAX_PAGE_SIZE)] = 50,
    page: Annotated[int, typer.Option(help="Which page of LIMIT entries.", min=1)] = 1,
) -> None:
    """Print audit entries, newest first: id, time, outcome, action, records, account, key
    prefix, channel and request id, and the names of changed fields."""
    filters = queries.AuditFilters(
        account_id=account,
        action=action,
        resource_type=resource_type,
        resource_id=resource_id,
        start=_moment(since, "--since"),
        end=_moment(until, "--until"),
    )
    paging = PageRequest(page=page, size=limit, sort_descending=True)
    found = run_in_transaction(lambda s: queries.list_entries(s, filters=filters, page=paging))
    for entry in found.content:
        typer.echo(_line(entry))
    typer.echo(f"{len(found.content)} of {found.total} entries", err=True)
