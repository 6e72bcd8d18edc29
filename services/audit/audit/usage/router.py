"""`/audit/usage`: API usage counters per application, for the console."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from audit import names
from audit.usage import repository
from audit.usage.schemas import AppUsageOut, UsageList
from shared.admin_auth import CurrentAdmin
from shared.db import DbSession
from shared.errors import error_responses

router = APIRouter(prefix="/audit", tags=["usage"], responses=error_responses(401, 403, 422))


@router.get("/usage", response_model=UsageList)
def list_usage(
    db: DbSession, _: CurrentAdmin, application_id: uuid.UUID | None = None
) -> UsageList:
    """API calls, denied calls and last call per application, busiest first."""
    rows = repository.usage_rows(db, application_id)
    apps = names.application_names(db, (row.application_id for row in rows))
    return UsageList(
        items=[
            AppUsageOut(
                application_id=row.application_id,
                application_name=apps.get(row.application_id),
                calls=row.calls,
                denied=row.denied,
                last_call_at=row.last_call_at,
                last_denied_at=row.last_denied_at,
            )
            for row in rows
        ]
    )
