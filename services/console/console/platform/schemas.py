"""Bodies of `/console/api/platform`. Limits mirror the environment settings' own."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,62})"
HOSTNAME_PATTERN = rf"^{LABEL}(\.{LABEL})*(:[0-9]{{1,5}})?$"
COLOUR_PATTERN = r"^#[0-9a-fA-F]{6}$"


class BrandingOut(BaseModel):
    name: str = Field(description="Shown in the console and in OTP messages as {brand}")
    colour: str
    logo_url: str | None


class PlatformOut(BaseModel):
    public_hostname: str
    access_token_ttl_seconds: int
    refresh_token_ttl_seconds: int
    signing_key_rotation_days: int
    otp_length: int
    otp_ttl_seconds: int
    otp_verify_max_attempts: int
    otp_resend_cooldown_seconds: int
    otp_hourly_cap_per_login: int
    otp_sms_enabled: bool
    otp_email_enabled: bool
    dev_codes: bool
    mfa_required: bool = Field(description="Every sign-in needs a second factor")
    mfa_otp_counts: bool = Field(description="An SMS or email code counts as a second factor")
    branding: BrandingOut
    set_in_console: list[str] = Field(
        description="Settings changed here; the others are the deployment's environment values"
    )


class BrandingUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str | None = Field(default=None, min_length=1, max_length=60)
    colour: str | None = Field(default=None, pattern=COLOUR_PATTERN)


class PlatformUpdate(BaseModel):
    """Only the fields given change."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    public_hostname: str | None = Field(default=None, max_length=253, pattern=HOSTNAME_PATTERN)
    access_token_ttl_seconds: int | None = Field(default=None, ge=60, le=86400)
    refresh_token_ttl_seconds: int | None = Field(default=None, ge=3600, le=365 * 86400)
    signing_key_rotation_days: int | None = Field(default=None, ge=0, le=3650)
    otp_length: int | None = Field(default=None, ge=6, le=10)
    otp_ttl_seconds: int | None = Field(default=None, ge=60, le=600)
    otp_verify_max_attempts: int | None = Field(default=None, ge=1, le=10)
    otp_resend_cooldown_seconds: int | None = Field(default=None, ge=0, le=600)
    otp_hourly_cap_per_login: int | None = Field(default=None, ge=1, le=1000)
    otp_sms_enabled: bool | None = None
    otp_email_enabled: bool | None = None
    dev_codes: bool | None = None
    mfa_required: bool | None = None
    mfa_otp_counts: bool | None = None
    branding: BrandingUpdate | None = None


class RotateSecretIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    overlap_seconds: int | None = Field(
        default=None,
        ge=0,
        le=7 * 86400,
        description="The previous keys keep verifying this long (default: longer than any "
        "token they signed lives; 0 for keys believed compromised)",
    )


class RotateSecretOut(BaseModel):
    signing_kids: list[str] = Field(description="The keys that sign from now on, one per algorithm")
    previous_verify_until: datetime
