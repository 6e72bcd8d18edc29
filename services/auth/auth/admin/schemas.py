"""Bodies of the console's sign-in and session-management API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from auth.schemas import LoginField, Strict
from shared.otp_contract import Channel


class SetupIn(Strict):
    setup_token: str = Field(min_length=1, max_length=256)
    name: str = Field(min_length=1, max_length=200)
    email: str | None = Field(default=None, max_length=254)
    mobile_number: str | None = Field(default=None, max_length=32)
    password: str = Field(min_length=1, max_length=1024)


class AdminLoginIn(Strict):
    login: str = LoginField
    password: str = Field(min_length=1, max_length=1024)


class AdminOtpRequestIn(Strict):
    login: str = LoginField
    channel: Channel | None = None


class AdminOtpVerifyIn(Strict):
    otp_request_id: str | None = Field(default=None, min_length=1, max_length=64)
    login: str | None = Field(default=None, min_length=1, max_length=254)
    code: str = Field(pattern=r"^[0-9]{4,10}$")

    @model_validator(mode="after")
    def _one_way_to_name_the_code(self) -> AdminOtpVerifyIn:
        if (self.otp_request_id is None) == (self.login is None):
            raise ValueError("give either otp_request_id or login")
        return self


class AdminRefreshIn(Strict):
    refresh_token: str = Field(min_length=1, max_length=256)


class DeviceOut(BaseModel):
    device_id: uuid.UUID
    device_key: str
    name: str | None
    platform: str | None
    first_seen_at: datetime
    last_seen_at: datetime
    active_sessions: int


class SessionInfo(BaseModel):
    session_id: uuid.UUID
    kind: Literal["app", "console", "sso"] = Field(
        description="app: an application's; console: an administrator's; sso: the sign-in "
        "session at the hosted page (single sign-on)"
    )
    application_id: uuid.UUID | None
    application_name: str | None
    device: DeviceOut | None
    ip: str | None
    user_agent: str | None
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    revoked_reason: str | None


class SessionList(BaseModel):
    items: list[SessionInfo]


class DeviceList(BaseModel):
    items: list[DeviceOut]


class UserActivity(BaseModel):
    devices: int
    active_sessions: int
    second_factors: list[Literal["passkey", "totp", "recovery_code"]] = Field(
        default_factory=list, description="What the user has enrolled, strongest first"
    )


class ActivityCounts(BaseModel):
    counts: dict[str, UserActivity]


class RevokedCount(BaseModel):
    revoked: int


class SecondFactorsOut(BaseModel):
    """A user's second factors as administrators see them (never a secret)."""

    totp: bool = Field(description="An authenticator app is set up")
    passkeys: list[PasskeyOut]
    recovery_codes_left: int
    mfa_required: bool = Field(
        description="Some sign-in of the user requires a second factor: their MFA flag, "
        "the deployment's setting or an assigned application's"
    )


class PasskeyOut(BaseModel):
    passkey_id: uuid.UUID
    name: str
    created_at: datetime
    last_used_at: datetime | None
    backed_up: bool = Field(description="A synced passkey (its provider keeps a copy)")


class FactorsReset(BaseModel):
    removed: dict[str, int] = Field(description="totp, passkeys, recovery_codes: how many")
    sessions_revoked: int


class AdminMfaVerifyIn(Strict):
    mfa_challenge_id: str = Field(min_length=1, max_length=64)
    method: Literal["totp", "recovery_code"]
    code: str = Field(min_length=6, max_length=32)


class AdminMfaOtpIn(Strict):
    mfa_challenge_id: str = Field(min_length=1, max_length=64)
    channel: Channel | None = None
