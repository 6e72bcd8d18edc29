"""`/otp/deliveries`: the delivery log, filtered and paged."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from otp_delivery.deliveries import repository
from otp_delivery.deliveries.schemas import DeliveryOut, DeliveryPage
from shared.admin_auth import CurrentAdmin
from shared.db import DbSession
from shared.errors import Unprocessable, error_responses

router = APIRouter(prefix="/otp", tags=["delivery log"], responses=error_responses(401, 403, 422))


@router.get("/deliveries", response_model=DeliveryPage)
def list_deliveries(
    db: DbSession,
    _: CurrentAdmin,
    status: Literal["queued", "sent", "failed", "expired"] | None = None,
    channel: Literal["sms", "email"] | None = None,
    purpose: Literal["login", "mfa", "password_reset", "test"] | None = None,
    since: Annotated[datetime | None, Query(alias="from", description="queued at or after")] = None,
    until: Annotated[datetime | None, Query(alias="to", description="queued before")] = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> DeliveryPage:
    """List OTP deliveries, newest first, with filters and paging."""
    for name, value in (("from", since), ("to", until)):
        if value is not None and value.tzinfo is None:
            raise Unprocessable(
                f"{name}: give a time zone (e.g. 2025-01-01T00:00:00Z)",
                fields=[{"field": name, "message": "a time zone is required"}],
            )
    query = repository.filtered(status, channel, purpose, since, until)
    rows, total = repository.page(db, query, offset, limit)
    return DeliveryPage(
        items=[DeliveryOut.of(r) for r in rows], total=total, offset=offset, limit=limit
    )
