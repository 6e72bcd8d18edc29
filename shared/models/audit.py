"""Tables owned by the audit service: the append-only audit event log and API usage counters."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from shared.models.base import Base, UTCDateTime


class AuditEvent(Base):
    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_type_time", "type", "occurred_at"),
        Index("ix_audit_event_user_time", "subject_user_id", "occurred_at"),
        Index("ix_audit_event_app_time", "application_id", "occurred_at"),
        Index("ix_audit_event_ip_time", "effective_ip", "occurred_at"),
        # Without it, filtering on a rare outcome alone scans the whole table.
        Index("ix_audit_event_outcome_time", "outcome", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"),
        primary_key=True,
        autoincrement=True,
    )
    # The emitter's id: inserting the same event twice is a no-op.
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    type: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))
    actor_type: Mapped[str | None] = mapped_column(String(16))
    actor_id: Mapped[str | None] = mapped_column(String(64))
    actor_name: Mapped[str | None] = mapped_column(String(200))
    subject_user_id: Mapped[str | None] = mapped_column(String(36))
    application_id: Mapped[str | None] = mapped_column(String(36))
    effective_ip: Mapped[str | None] = mapped_column(String(45))
    forwarded_ip: Mapped[str | None] = mapped_column(String(512))
    remote_addr: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(512))
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class AuditUsage(Base):
    """Per-application API call counters, kept by the consumer in the transaction that stores
    the events (so they count each event once), and untouched by purges and retention."""

    __tablename__ = "audit_usage"

    application_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    calls: Mapped[int] = mapped_column(BigInteger, default=0)
    denied: Mapped[int] = mapped_column(BigInteger, default=0)
    last_call_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_denied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
