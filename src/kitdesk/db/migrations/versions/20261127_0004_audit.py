"""audit trail

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 12:00:00.000000

Written by hand: only the audit table, and on PostgreSQL the trigger that keeps it append-only.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kitdesk.db.base

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# Refuses UPDATE and DELETE to every role but superusers: they can disable any trigger anyway
# (session_replication_role, ALTER TABLE), and letting them through means an administrator's
# purge, or a test harness wiping its database, needs no extra step. Kitdesk's own role must not
# be a superuser for the trail to be append-only (see docs/guarantees.md).
APPEND_ONLY_FUNCTION = """
CREATE FUNCTION audit_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        IF TG_OP = 'DELETE' THEN
            RETURN OLD;
        END IF;
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit_entries is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$
"""
APPEND_ONLY_TRIGGER = """
CREATE TRIGGER audit_entries_append_only
BEFORE UPDATE OR DELETE ON audit_entries
FOR EACH ROW EXECUTE FUNCTION audit_entries_append_only()
"""


def upgrade() -> None:
    op.create_table(
        "audit_entries",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("occurred_at", kitdesk.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column("account_id", BIG_ID, nullable=True),
        sa.Column("key_prefix", sa.String(length=32), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("resource_type", sa.String(length=32), nullable=False),
        sa.Column("resource_id", BIG_ID, nullable=True),
        sa.Column("resource_ids", sa.Text(), nullable=True),
        sa.Column("changed_fields", sa.JSON(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=True),
        sa.CheckConstraint(
            "outcome IN ('success', 'denied')", name=op.f("ck_audit_entries_outcome")
        ),
        sa.CheckConstraint(
            "channel IN ('api', 'cli', 'system')", name=op.f("ck_audit_entries_channel")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_entries")),
    )
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_audit_entries_account_id_occurred_at", ["account_id", "occurred_at"], unique=False
        )
        batch_op.create_index(
            "ix_audit_entries_resource_type_resource_id",
            ["resource_type", "resource_id"],
            unique=False,
        )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(APPEND_ONLY_FUNCTION)
        op.execute(APPEND_ONLY_TRIGGER)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_entries_append_only ON audit_entries")
        op.execute("DROP FUNCTION audit_entries_append_only()")
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_entries_resource_type_resource_id")
        batch_op.drop_index("ix_audit_entries_account_id_occurred_at")
    op.drop_table("audit_entries")
