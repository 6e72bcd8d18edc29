"""directory events outbox

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

# Frozen here rather than imported from the models, so this file never changes.
DT = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "directory_outbox",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("events", sa.Text(), nullable=False),
        sa.Column("created_at", DT, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_directory_outbox")),
    )
    with op.batch_alter_table("directory_outbox", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_directory_outbox_created_at"), ["created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("directory_outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_directory_outbox_created_at"))
    op.drop_table("directory_outbox")
