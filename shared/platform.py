"""Platform settings: the settings an administrator may change in the console at run time.

The console stores them in `platform_setting` (one row each); every service
lays the rows over its environment settings (`Runtime.settings`) at start and
again whenever the console publishes `Topic.PLATFORM`, so a change reaches
every replica within a second. A value that does not fit the setting's type
is ignored (the environment value stays), and dev codes stay off in
production whatever the row says. The token issuer is not among them: it is
fixed per deployment (IDENTITY_TOKEN_ISSUER, else the environment's public
hostname), so renaming the public hostname here changes links and what the
console shows without invalidating every token already issued.
"""

from __future__ import annotations

from typing import Any

import structlog
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.models.console import PlatformSetting
from shared.settings import Environment, Settings

log = structlog.get_logger("platform")

CONSOLE_SETTINGS = (
    "public_hostname",
    "access_token_ttl_seconds",
    "refresh_token_ttl_seconds",
    "signing_key_rotation_days",
    "otp_length",
    "otp_ttl_seconds",
    "otp_verify_max_attempts",
    "otp_resend_cooldown_seconds",
    "otp_hourly_cap_per_login",
    "otp_sms_enabled",
    "otp_email_enabled",
    "dev_codes",
    "mfa_required",
    "mfa_otp_counts",
)


def stored_overrides(session: Session) -> dict[str, Any]:
    rows = session.scalars(select(PlatformSetting).where(PlatformSetting.key.in_(CONSOLE_SETTINGS)))
    return {row.key: row.value for row in rows}


def apply_overrides(base: Settings, overrides: dict[str, Any]) -> Settings:
    """`base` with the console's values laid over it (each checked against its field)."""
    update: dict[str, Any] = {}
    for name, value in overrides.items():
        annotation = Settings.model_fields[name].annotation
        try:
            update[name] = TypeAdapter[Any](annotation or Any).validate_python(value)
        except ValidationError:
            log.warning("platform_setting_ignored", setting=name)
    if base.env is Environment.PRODUCTION:
        update.pop("dev_codes", None)
    return base.model_copy(update=update)


# The console's branding (the `branding` row: {"name", "colour", "logo"}), which the
# console, OTP messages ({brand}) and the auth service's hosted sign-in page all show.
BRANDING = "branding"
DEFAULT_BRAND_NAME = "Identity Services"
DEFAULT_COLOUR = "#1d4ed8"
LOGO_PATH = "/console/branding/logo"  # served by the console, on the same host


def branding_of(rows: dict[str, Any]) -> dict[str, Any]:
    """The branding among stored platform rows, defaults filled in."""
    value = rows.get(BRANDING)
    stored = value if isinstance(value, dict) else {}
    name = stored.get("name")
    return {
        "name": name.strip() if isinstance(name, str) and name.strip() else DEFAULT_BRAND_NAME,
        "colour": stored.get("colour") or DEFAULT_COLOUR,
        "logo": stored.get("logo"),
    }


def read_branding(session: Session) -> dict[str, Any]:
    row = session.get(PlatformSetting, BRANDING)
    return branding_of({BRANDING: row.value} if row else {})


def logo_url(branding: dict[str, Any]) -> str | None:
    # The asset name in the URL makes browsers fetch a new logo at once.
    logo = branding.get("logo")
    return f"{LOGO_PATH}?v={logo}" if logo else None
