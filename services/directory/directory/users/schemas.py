"""Request and response bodies of the users admin API."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

UserStatus = Literal["active", "disabled"]
# A name is shown in consoles, logs and applications' own screens: no NUL, no
# escape sequences, no line breaks that could forge a second line.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
CONTROL_MESSAGE = "must not contain control characters or line breaks"


class UserFields(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("name", "emp_id", "mobile_carrier", check_fields=False)
    @classmethod
    def _printable(cls, value: str | None) -> str | None:
        if value is not None and CONTROL_CHARACTERS.search(value):
            raise ValueError(CONTROL_MESSAGE)
        return value


class UserCreate(UserFields):
    name: str = Field(min_length=1, max_length=200)
    email: str | None = Field(default=None, max_length=254)
    mobile_number: str | None = Field(default=None, max_length=32)
    emp_id: str | None = Field(default=None, max_length=64)
    mobile_carrier: str | None = Field(default=None, max_length=32)
    status: UserStatus = "active"
    is_admin: bool = False
    mfa_enabled: bool = False
    password: str | None = Field(default=None, max_length=1024)
    application_ids: list[uuid.UUID] = Field(default_factory=list, max_length=1000)


class UserUpdate(UserFields):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    email: str | None = Field(default=None, max_length=254)
    mobile_number: str | None = Field(default=None, max_length=32)
    emp_id: str | None = Field(default=None, max_length=64)
    mobile_carrier: str | None = Field(default=None, max_length=32)
    status: UserStatus | None = None
    is_admin: bool | None = None
    mfa_enabled: bool | None = None
    password: str | None = Field(default=None, max_length=1024)


class AppRef(BaseModel):
    id: uuid.UUID
    name: str


class UserOut(BaseModel):
    """A directory user as administrators see it (the sync `user` plus admin fields)."""

    auth_user_id: uuid.UUID
    name: str
    mobile_number: str | None
    email: str | None
    emp_id: str | None
    status: UserStatus
    updated_at: datetime
    sync_hash: str
    is_admin: bool
    mfa_enabled: bool
    has_password: bool
    mobile_carrier: str | None
    applications: list[AppRef]
    created_at: datetime


class UserPage(BaseModel):
    items: list[UserOut]
    total: int
    offset: int
    limit: int


class AssignmentsUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    application_ids: list[uuid.UUID] = Field(max_length=1000)


class AssignmentsOut(BaseModel):
    auth_user_id: uuid.UUID
    applications: list[AppRef]


class BulkAssignment(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Literal["assign", "unassign"]
    user_ids: list[uuid.UUID] = Field(min_length=1, max_length=10_000)
    application_ids: list[uuid.UUID] = Field(min_length=1, max_length=100)


class BulkAssignmentOut(BaseModel):
    action: Literal["assign", "unassign"]
    changed: int
