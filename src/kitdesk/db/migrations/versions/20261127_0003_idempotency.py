"""idempotency keys, rate-limit counters, claimed external order ids

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 09:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kitdesk.db.base

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "idempotency_keys",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("account_id", BIG_ID, nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("claim_token", sa.String(length=32), nullable=False),
        sa.Column("created_at", kitdesk.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("response_headers", sa.JSON(), nullable=True),
        sa.Column("response_body", sa.LargeBinary(), nullable=True),
        sa.CheckConstraint(
            "state IN ('in_flight', 'stored')", name=op.f("ck_idempotency_keys_state")
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_idempotency_keys_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_keys")),
        sa.UniqueConstraint("account_id", "key", name=op.f("uq_idempotency_keys_account_id_key")),
    )
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.create_index("ix_idempotency_keys_created_at", ["created_at"], unique=False)

    op.create_table(
        "rate_limit_counters",
        sa.Column("api_key_id", BIG_ID, nullable=False),
        sa.Column("window_start", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.CheckConstraint("count >= 0", name=op.f("ck_rate_limit_counters_count")),
        sa.ForeignKeyConstraint(
            ["api_key_id"],
            ["api_keys.id"],
            name=op.f("fk_rate_limit_counters_api_key_id_api_keys"),
        ),
        sa.PrimaryKeyConstraint("api_key_id", "window_start", name=op.f("pk_rate_limit_counters")),
    )
    with op.batch_alter_table("rate_limit_counters", schema=None) as batch_op:
        batch_op.create_index("ix_rate_limit_counters_window_start", ["window_start"], unique=False)

    op.create_table(
        "external_order_id_claims",
        sa.Column("account_id", BIG_ID, nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.Column("order_id", BIG_ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_external_order_id_claims_account_id_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_external_order_id_claims_order_id_orders")
        ),
        sa.PrimaryKeyConstraint("account_id", "value", name=op.f("pk_external_order_id_claims")),
    )
    with op.batch_alter_table("external_order_id_claims", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_external_order_id_claims_order_id"), ["order_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("external_order_id_claims", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_external_order_id_claims_order_id"))

    op.drop_table("external_order_id_claims")
    with op.batch_alter_table("rate_limit_counters", schema=None) as batch_op:
        batch_op.drop_index("ix_rate_limit_counters_window_start")

    op.drop_table("rate_limit_counters")
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.drop_index("ix_idempotency_keys_created_at")

    op.drop_table("idempotency_keys")
