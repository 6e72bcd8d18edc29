"""The delivery log: one row per delivery id, moved along queued -> sent | failed | expired.

Rows hold the masked destination and the outcome, never the code or token.
Each function commits its own short transaction: the worker's state must be
durable before the next step (a crash must not forget an attempt).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from shared.contact import mask_destination
from shared.models.base import utcnow
from shared.models.otp import OtpDelivery
from shared.otp_contract import OtpDeliveryTask

QUEUED, SENT, FAILED, EXPIRED = "queued", "sent", "failed", "expired"
FINAL = (SENT, FAILED, EXPIRED)


def _row(session: Session, task: OtpDeliveryTask, provider: str) -> OtpDelivery:
    row = session.get(OtpDelivery, task.delivery_id, with_for_update=True)
    if row is not None:
        return row
    row = OtpDelivery(
        id=task.delivery_id,
        channel=task.channel.value,
        provider=provider,
        purpose=task.purpose.value,
        destination_masked=mask_destination(task.destination),
        status=QUEUED,
        attempts=0,
        queued_at=task.requested_at,
        expires_at=task.expires_at,
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:  # another worker inserted it first
        found = session.get(
            OtpDelivery, task.delivery_id, with_for_update=True, populate_existing=True
        )
        if found is None:
            raise
        return found
    return row


class DeliveryLog:
    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._sessions = session_factory

    def start_attempt(self, task: OtpDeliveryTask, provider: str) -> int | None:
        """Count one more attempt: its number, or None when the delivery is already settled."""
        with self._sessions() as session, session.begin():
            row = _row(session, task, provider)
            if row.status in FINAL:
                return None
            row.attempts += 1
            row.provider = provider
            return row.attempts

    def mark_sent(self, delivery_id: uuid.UUID, provider_status: str | None) -> None:
        with self._sessions() as session, session.begin():
            row = session.get(OtpDelivery, delivery_id, with_for_update=True)
            if row is None or row.status == SENT:
                return
            now = utcnow()
            row.status, row.provider_status, row.error = SENT, provider_status, None
            row.sent_at = row.finished_at = now

    def note_error(self, delivery_id: uuid.UUID, error: str, provider_status: str | None) -> None:
        """A transient failure: the row stays queued, a retry follows."""
        self._update(delivery_id, {"error": error[:512], "provider_status": provider_status})

    def mark_failed(
        self, task: OtpDeliveryTask, provider: str, error: str, provider_status: str | None
    ) -> bool:
        """Log a delivery given up on; False when the row was already final."""
        with self._sessions() as session, session.begin():
            row = _row(session, task, provider)
            if row.status in FINAL:
                return False
            row.status, row.error, row.finished_at = FAILED, error[:512], utcnow()
            row.provider_status = provider_status or row.provider_status
            return True

    def mark_expired(self, task: OtpDeliveryTask, provider: str) -> bool:
        """Log a code that expired unsent; False when the row was already final."""
        with self._sessions() as session, session.begin():
            row = _row(session, task, provider)
            if row.status in FINAL:
                return False
            row.status, row.finished_at = EXPIRED, utcnow()
            row.error = "the code expired before it could be sent"
            return True

    def _update(self, delivery_id: uuid.UUID, values: dict[str, Any]) -> None:
        with self._sessions() as session, session.begin():
            row = session.get(OtpDelivery, delivery_id, with_for_update=True)
            if row is not None:
                for key, value in values.items():
                    setattr(row, key, value)


def filtered(
    status: str | None,
    channel: str | None,
    purpose: str | None,
    since: datetime | None,
    until: datetime | None,
) -> Select[OtpDelivery]:
    query = select(OtpDelivery)
    if status:
        query = query.where(OtpDelivery.status == status)
    if channel:
        query = query.where(OtpDelivery.channel == channel)
    if purpose:
        query = query.where(OtpDelivery.purpose == purpose)
    if since:
        query = query.where(OtpDelivery.queued_at >= since)
    if until:
        query = query.where(OtpDelivery.queued_at < until)
    return query


def page(
    session: Session, query: Select[OtpDelivery], offset: int, limit: int
) -> tuple[list[OtpDelivery], int]:
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(OtpDelivery.queued_at.desc(), OtpDelivery.id.desc())
        .offset(offset)
        .limit(limit)
    ).all()
    return list(rows), total
