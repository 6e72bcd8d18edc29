"""Request and response bodies of `/audit/events` and `/audit/purge`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ActorOut(BaseModel):
    type: str | None = Field(description="admin, app, user or system")
    id: str | None
    name: str | None


class TargetOut(BaseModel):
    type: str = Field(description="user, application or api_key: what the event acted on")
    id: str | None
    name: str | None = Field(description="Current name (a key: its prefix and application)")


class EventOut(BaseModel):
    """One audit event. The console's Event, User, IP, Date and Time columns are
    `type`, `subject_user_name` (or `actor.name`), `effective_ip` and `occurred_at` (UTC);
    its Actor and Target columns are `actor` (who acted) and `target` (what on)."""

    id: int
    uuid: str
    type: str
    outcome: str
    occurred_at: datetime
    actor: ActorOut
    target: TargetOut | None = Field(description="None: the event acted on nothing named")
    subject_user_id: str | None
    subject_user_name: str | None = Field(description="Current name; None once deleted")
    application_id: str | None
    application_name: str | None = Field(description="Current name; None once deleted")
    effective_ip: str | None = Field(description="The IP the IP policy judged")
    forwarded_ip: str | None = Field(description="The raw X-Forwarded-For header")
    remote_addr: str | None = Field(description="The TCP peer")
    user_agent: str | None
    details: dict[str, Any]


class EventPage(BaseModel):
    items: list[EventOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next (older) page; null on the last page"
    )


class PurgeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    older_than_days: int = Field(
        strict=True,
        ge=0,
        le=36500,
        description="Delete events older than this many days; 0 deletes all history",
    )


class PurgeOut(BaseModel):
    deleted: int
