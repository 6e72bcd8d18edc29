"""audit usage counters per application; audit events indexed by outcome

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

# Frozen here rather than imported from the models, so this file never changes.
DT = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_usage",
        sa.Column("application_id", sa.String(length=36), nullable=False),
        sa.Column("calls", sa.BigInteger(), nullable=False),
        sa.Column("denied", sa.BigInteger(), nullable=False),
        sa.Column("last_call_at", DT, nullable=True),
        sa.Column("last_denied_at", DT, nullable=True),
        sa.PrimaryKeyConstraint("application_id", name=op.f("pk_audit_usage")),
    )
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.create_index(
            "ix_audit_event_outcome_time", ["outcome", "occurred_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_event_outcome_time")
    op.drop_table("audit_usage")
