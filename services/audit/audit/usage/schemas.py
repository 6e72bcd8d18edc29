"""Response bodies of `/audit/usage`."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class AppUsageOut(BaseModel):
    application_id: str
    application_name: str | None = Field(description="Current name; None once deleted")
    calls: int = Field(description="Calls that passed the key, status and IP checks")
    denied: int = Field(description="Calls refused: application disabled or IP not allowed")
    last_call_at: datetime | None
    last_denied_at: datetime | None


class UsageList(BaseModel):
    items: list[AppUsageOut]
