"""The `GET /users/sync` body, described for OpenAPI (the body itself is streamed)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class SyncApplication(BaseModel):
    id: uuid.UUID
    name: str


class SyncUser(BaseModel):
    auth_user_id: uuid.UUID
    name: str
    mobile_number: str | None
    email: str | None
    emp_id: str | None
    status: Literal["active", "disabled"]
    updated_at: datetime
    sync_hash: str = Field(
        description="SHA-256 hex of the canonical JSON of name, mobile_number, email, "
        "emp_id and status; update the local copy only when it changes."
    )


class SyncPage(BaseModel):
    application: SyncApplication
    users: list[SyncUser] = Field(description="Users assigned to the calling application.")
    removed: list[uuid.UUID] = Field(
        description="With `since`: users to drop (unassigned, deleted or made administrator)."
    )
    next_cursor: str = Field(description="Pass as `since` for the next page or the next delta.")
    has_more: bool
