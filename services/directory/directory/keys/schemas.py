"""Response bodies of the API auth keys admin API (keys are created without a request body)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field


class ApiKeyOut(BaseModel):
    key_id: uuid.UUID
    application_id: uuid.UUID
    application_name: str
    prefix: str = Field(description="The visible part of the key, to tell keys apart")
    status: str
    created_at: datetime
    last_used_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    api_key: str = Field(
        description="The full key. Shown only in this response: store it now, it cannot be "
        "retrieved again."
    )


class ApiKeyPage(BaseModel):
    items: list[ApiKeyOut]
    total: int
    offset: int
    limit: int
