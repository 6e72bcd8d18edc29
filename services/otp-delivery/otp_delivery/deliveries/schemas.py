"""The delivery log as administrators see it."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, computed_field

from shared.models.otp import OtpDelivery


class DeliveryOut(BaseModel):
    id: uuid.UUID
    channel: str
    provider: str
    purpose: str
    destination: str  # masked
    status: str  # queued | sent | failed | expired
    attempts: int
    provider_status: str | None
    error: str | None
    queued_at: datetime
    sent_at: datetime | None
    finished_at: datetime | None
    expires_at: datetime

    @computed_field  # type: ignore[prop-decorator]
    @property
    def latency_ms(self) -> int | None:
        """Queued to sent, in milliseconds."""
        if self.sent_at is None:
            return None
        return int((self.sent_at - self.queued_at).total_seconds() * 1000)

    @classmethod
    def of(cls, row: OtpDelivery) -> DeliveryOut:
        return cls(
            id=row.id,
            channel=row.channel,
            provider=row.provider,
            purpose=row.purpose,
            destination=row.destination_masked,
            status=row.status,
            attempts=row.attempts,
            provider_status=row.provider_status,
            error=row.error,
            queued_at=row.queued_at,
            sent_at=row.sent_at,
            finished_at=row.finished_at,
            expires_at=row.expires_at,
        )


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    total: int
    offset: int
    limit: int
