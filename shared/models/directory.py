"""Tables owned by the directory service: users, applications, keys, assignments, sync feed,
and the outbox of its events."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shared.models.base import Base, UTCDateTime, new_id, utcnow


class UserAccount(Base):
    """A person in the directory; `is_admin` makes them an Identity Services administrator."""

    __tablename__ = "user_account"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200), index=True)
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    mobile_number: Mapped[str | None] = mapped_column(String(20), unique=True)
    emp_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    mobile_carrier: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="active", index=True)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    mfa_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    sync_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    assignments: Mapped[list[Assignment]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )


class Application(Base):
    """A consuming application: calls the app-facing API with its own keys, from its allow-list."""

    __tablename__ = "application"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="active")
    # Users signing in to it need a second factor, whatever their own MFA flag says.
    require_mfa: Mapped[bool] = mapped_column(default=False, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    networks: Mapped[list[AllowedNetwork]] = relationship(
        back_populates="application",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="AllowedNetwork.position",
    )


class AllowedNetwork(Base):
    __tablename__ = "allowed_network"
    __table_args__ = (UniqueConstraint("application_id", "cidr"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    application_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("application.id", ondelete="CASCADE")
    )
    cidr: Mapped[str] = mapped_column(String(43))
    position: Mapped[int] = mapped_column(Integer, default=0)

    application: Mapped[Application] = relationship(back_populates="networks")


class ApiKey(Base):
    """An application's API auth key; only its SHA-256 is stored."""

    __tablename__ = "api_key"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    application_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("application.id", ondelete="CASCADE"), index=True
    )
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="active")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Assignment(Base):
    """User X may sign in to, and is synced to, application Y."""

    __tablename__ = "assignment"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True
    )
    application_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("application.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[UserAccount] = relationship(back_populates="assignments")


class SyncEntry(Base):
    """Per-application change feed: one row per (app, user) ever assigned.

    `seq` comes from `SyncCounter` under a row lock held until commit, so seq
    order is commit order and a cursor never skips a late-committing change.
    """

    __tablename__ = "sync_entry"
    __table_args__ = (
        Index("ix_sync_entry_app_seq", "application_id", "seq", unique=True),
        Index("ix_sync_entry_user_id", "user_id"),
    )

    application_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("application.id", ondelete="CASCADE"), primary_key=True
    )
    # No foreign key: the entry outlives a deleted user so apps learn of the removal.
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    is_removed: Mapped[bool] = mapped_column(Boolean, default=False)


class SyncCounter(Base):
    __tablename__ = "sync_counter"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class DirectoryOutbox(Base):
    """The directory events of one change (a JSON list, in order), committed with it, until
    the stream has them.

    Deleted once the event is on the Redis stream: right after the commit, or by
    the relay when that failed. A Redis blip after a commit delays the event (auth
    ends the sessions a little later) instead of losing it.
    """

    __tablename__ = "directory_outbox"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    events: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
