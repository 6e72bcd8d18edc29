"""Reading and changing platform settings (table `platform_setting`, one row per setting).

A setting without a row has the deployment's environment value. The
`branding` row is `{"name", "colour", "logo"}`; otp-delivery reads its name
for the `{brand}` of OTP messages.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from console.platform.schemas import BrandingOut, PlatformOut, PlatformUpdate
from shared.admin_auth import AdminIdentity
from shared.admin_trail import record_admin_action
from shared.after_commit import defer
from shared.audit import EventType, changed_fields
from shared.errors import Unprocessable
from shared.invalidation import Topic
from shared.models.base import utcnow
from shared.models.console import BrandingAsset, PlatformSetting
from shared.platform import BRANDING, CONSOLE_SETTINGS, branding_of, logo_url
from shared.runtime import Runtime
from shared.settings import Environment, Settings

SETTING_FIELDS = CONSOLE_SETTINGS


def stored_rows(db: Session) -> dict[str, Any]:
    return {row.key: row.value for row in db.scalars(select(PlatformSetting))}


def branding_out(branding: dict[str, Any]) -> BrandingOut:
    return BrandingOut(
        name=branding["name"], colour=branding["colour"], logo_url=logo_url(branding)
    )


def current(db: Session, settings: Settings) -> PlatformOut:
    rows = stored_rows(db)
    values = {name: rows.get(name, getattr(settings, name)) for name in SETTING_FIELDS}
    return PlatformOut(
        **values,
        branding=branding_out(branding_of(rows)),
        set_in_console=sorted(name for name in SETTING_FIELDS if name in rows),
    )


def _put(db: Session, key: str, value: Any) -> None:
    row = db.get(PlatformSetting, key)
    if row is None:
        db.add(PlatformSetting(key=key, value=value, updated_at=utcnow()))
    else:
        row.value = value
        row.updated_at = utcnow()


def update(
    db: Session, runtime: Runtime, admin: AdminIdentity, body: PlatformUpdate
) -> PlatformOut:
    settings = runtime.settings
    if body.dev_codes and settings.env is Environment.PRODUCTION:
        raise Unprocessable(
            "dev_codes: dev codes cannot be switched on in production.",
            fields=[{"field": "dev_codes", "message": "not allowed in production"}],
        )
    before = current(db, settings)
    rows = stored_rows(db)
    for name in SETTING_FIELDS:
        value = getattr(body, name)
        if value is not None:
            _put(db, name, value)
    if body.branding is not None:
        branding = branding_of(rows)
        branding.update(body.branding.model_dump(exclude_none=True))
        _put(db, BRANDING, branding)
    db.flush()
    after = current(db, settings)
    diff = changed_fields(_audited(before), _audited(after))
    if diff["after"]:
        record_admin_action(db, runtime, admin, EventType.ADMIN_SETTINGS_UPDATED, details=diff)
        defer(db, lambda: runtime.bus.publish(Topic.PLATFORM))
    return after


def set_logo(
    db: Session,
    runtime: Runtime,
    admin: AdminIdentity,
    logo: str | None,
    meta: dict[str, Any] | None = None,
) -> str | None:
    """Point the branding at a stored logo (None: no logo); returns the previous asset name."""
    branding = branding_of(stored_rows(db))
    previous = branding.get("logo")
    branding["logo"] = logo
    _put(db, BRANDING, branding)
    if logo is not None:
        db.add(BrandingAsset(name=logo, content_type="image/png", meta=meta, created_at=utcnow()))
    if isinstance(previous, str) and (asset := db.get(BrandingAsset, previous)) is not None:
        db.delete(asset)
    db.flush()
    record_admin_action(
        db,
        runtime,
        admin,
        EventType.ADMIN_SETTINGS_UPDATED,
        details={"before": {"branding.logo": previous}, "after": {"branding.logo": logo}},
    )
    defer(db, lambda: runtime.bus.publish(Topic.PLATFORM))
    return previous if isinstance(previous, str) else None


def _audited(platform: PlatformOut) -> dict[str, Any]:
    data = platform.model_dump(exclude={"set_in_console", "branding"})
    data["branding.name"] = platform.branding.name
    data["branding.colour"] = platform.branding.colour
    return data
