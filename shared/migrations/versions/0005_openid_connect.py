"""OpenID Connect: client settings per application; session kinds, provider sessions, scope

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

# Frozen here rather than imported from the models, so this file never changes.
DT = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "oidc_client",
        sa.Column("application_id", sa.Uuid(), nullable=False),
        sa.Column("client_type", sa.String(length=16), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=True),
        sa.Column("secret_hint", sa.String(length=16), nullable=True),
        sa.Column("secret_created_at", DT, nullable=True),
        sa.Column("redirect_uris", sa.JSON(), nullable=False),
        sa.Column("post_logout_redirect_uris", sa.JSON(), nullable=False),
        sa.Column("token_signing_alg", sa.String(length=16), nullable=False),
        sa.Column("created_at", DT, nullable=False),
        sa.Column("updated_at", DT, nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["application.id"],
            name=op.f("fk_oidc_client_application_id_application"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("application_id", name=op.f("pk_oidc_client")),
    )
    with op.batch_alter_table("auth_session", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=16), nullable=False, server_default="app")
        )
        batch_op.add_column(sa.Column("sso_session_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("secret_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("scope", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("auth_methods", sa.String(length=64), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_auth_session_sso_session_id"), ["sso_session_id"], unique=False
        )
    session = sa.table(
        "auth_session", sa.column("kind", sa.String), sa.column("application_id", sa.Uuid)
    )
    op.execute(session.update().where(session.c.application_id.is_(None)).values(kind="console"))


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM auth_session WHERE kind = 'sso'"))
    with op.batch_alter_table("auth_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_auth_session_sso_session_id"))
        batch_op.drop_column("auth_methods")
        batch_op.drop_column("scope")
        batch_op.drop_column("secret_hash")
        batch_op.drop_column("sso_session_id")
        batch_op.drop_column("kind")
    op.drop_table("oidc_client")
