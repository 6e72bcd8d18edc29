"""Request and response bodies of the applications admin API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

AppStatus = Literal["active", "disabled"]

# Entries are checked and normalised by the service, so the error can name the bad value.
NetworkEntry = Annotated[str, Field(max_length=100)]


class ApplicationFields(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ApplicationCreate(ApplicationFields):
    name: str = Field(min_length=1, max_length=100)
    allowed_ips: list[NetworkEntry] = Field(
        default_factory=list,
        max_length=1000,
        description="IPv4/IPv6 addresses or CIDRs; empty means every call is rejected.",
    )
    status: AppStatus = "active"
    require_mfa: bool = Field(
        default=False,
        description="Every user signing in to it needs a second factor, whatever their own "
        "MFA flag says.",
    )


class ApplicationUpdate(ApplicationFields):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    allowed_ips: list[NetworkEntry] | None = Field(
        default=None, max_length=1000, description="Replaces the whole allow-list."
    )
    status: AppStatus | None = None
    require_mfa: bool | None = None


class ApplicationOut(BaseModel):
    id: uuid.UUID
    name: str
    allowed_ips: list[str]
    status: AppStatus
    require_mfa: bool = Field(description="Its users need a second factor to sign in")
    accepts_requests: bool = Field(
        description="False while the application is disabled or has no allowed networks: "
        "every API call it makes is then rejected."
    )
    users: int = Field(description="Users assigned to the application")
    keys: int = Field(description="API auth keys of the application")
    created_at: datetime
    updated_at: datetime


class ApplicationPage(BaseModel):
    items: list[ApplicationOut]
    total: int
    offset: int
    limit: int
