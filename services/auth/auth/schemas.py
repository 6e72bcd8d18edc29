"""Bodies shared by the auth endpoints: the `user` object, devices, token and OTP answers."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.otp_contract import Channel


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


LoginField = Field(
    min_length=1,
    max_length=254,
    description="Email address or mobile number",
    examples=["ada@example.com"],
)


class DeviceIn(Strict):
    """The device a user signs in from, as the consuming application identifies it."""

    device_id: str = Field(min_length=1, max_length=128)
    name: str | None = Field(default=None, max_length=128)
    platform: str | None = Field(default=None, max_length=64)


class UserOut(BaseModel):
    """A directory user as applications see it (the same object as in `/users/sync`)."""

    auth_user_id: uuid.UUID
    name: str
    mobile_number: str | None
    email: str | None
    emp_id: str | None
    status: Literal["active", "disabled"]
    updated_at: datetime
    sync_hash: str


class SessionRef(BaseModel):
    session_id: uuid.UUID
    created_at: datetime
    expires_at: datetime


class TokenResponse(BaseModel):
    token_type: Literal["Bearer"] = "Bearer"
    access_token: str
    expires_in: int
    refresh_token: str
    refresh_expires_in: int
    session: SessionRef
    user: UserOut


class OtpChallenge(BaseModel):
    """A code is on its way; verify it with `otp_request_id` and the code."""

    otp_request_id: str
    channel: Channel
    destination: str
    expires_in: int
    resend_after: int
    dev_code: str | None = Field(default=None, description="Only when dev codes are enabled")


SecondFactorMethod = Literal["totp", "recovery_code", "otp"]


class MfaRequired(BaseModel):
    """The password (or code) was right and a second factor is needed: no tokens yet.

    Complete it with `POST /auth/mfa/verify` (`totp`, `recovery_code`) or, where
    `otp` is among `methods`, with a code: sent at once when it is the only
    method (then `otp_request_id` and the code's fields are here), else on
    `POST /auth/mfa/otp`; then `POST /auth/otp/verify`.
    """

    mfa_required: Literal[True] = True
    mfa_challenge_id: str
    methods: list[SecondFactorMethod]
    expires_in: int = Field(
        description="Seconds left: the code's when one was sent", examples=[300]
    )
    otp_request_id: str | None = None
    channel: Channel | None = None
    destination: str | None = None
    resend_after: int | None = None
    dev_code: str | None = Field(default=None, description="Only when dev codes are enabled")


class SessionOut(BaseModel):
    user: UserOut
    session: SessionRef
