"""asymmetric signing keys: algorithm, public JWK, activation; HS256 secrets retired

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02

The platform secrets (HS256) stop signing at the upgrade and keep verifying
what they signed for a day and a minute: longer than any access token lives.
"""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

# Frozen here rather than imported from the models, so this file never changes.
DT = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
LEGACY_OVERLAP = timedelta(seconds=86400 + 60)


revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("signing_key", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("alg", sa.String(length=16), nullable=False, server_default="HS256")
        )
        batch_op.add_column(sa.Column("public_jwk", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("activated_at", DT, nullable=True))
    now = datetime.now(UTC).replace(tzinfo=None)
    key = sa.table(
        "signing_key",
        sa.column("created_at", DT),
        sa.column("activated_at", DT),
        sa.column("retired_at", DT),
        sa.column("verify_until", DT),
    )
    op.execute(key.update().values(activated_at=key.c.created_at))
    op.execute(key.update().where(key.c.retired_at.is_(None)).values(retired_at=now))
    op.execute(
        key.update()
        .where(sa.or_(key.c.verify_until.is_(None), key.c.verify_until > now + LEGACY_OVERLAP))
        .values(verify_until=now + LEGACY_OVERLAP)
    )


def downgrade() -> None:
    # Asymmetric keys have no HS256 secret to fall back to.
    op.execute(sa.text("DELETE FROM signing_key WHERE alg <> 'HS256'"))
    with op.batch_alter_table("signing_key", schema=None) as batch_op:
        batch_op.drop_column("activated_at")
        batch_op.drop_column("public_jwk")
        batch_op.drop_column("alg")
