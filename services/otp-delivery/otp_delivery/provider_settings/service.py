"""Reading and replacing the delivery settings; secrets are write-only and audited masked."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from otp_delivery.outbound import literal_problem
from otp_delivery.provider_settings.repository import ChannelSettings, load_channel, save_channel
from otp_delivery.provider_settings.schemas import (
    ChannelSettingsOut,
    EmailSettingsIn,
    OtpSettingsOut,
    OtpSettingsUpdate,
)
from otp_delivery.providers import secret_fields
from shared.admin_auth import AdminIdentity
from shared.admin_trail import record_admin_action
from shared.audit import EventType, changed_fields
from shared.errors import Unprocessable
from shared.models.base import utcnow
from shared.runtime import Runtime

# Secrets a provider cannot work without (others, like an SMTP password, are optional).
REQUIRED_SECRETS = {("sms", "fast2sms"): ("api_key",)}


def masked_config(settings: ChannelSettings) -> dict[str, Any]:
    shown: dict[str, Any] = dict(settings.config)
    for name in secret_fields(settings.channel, settings.provider):
        shown[name] = {"set": bool(settings.secrets.get(name))}
    return shown


def channel_out(settings: ChannelSettings | None) -> ChannelSettingsOut | None:
    if settings is None:
        return None
    return ChannelSettingsOut(
        is_enabled=settings.is_enabled,
        provider=settings.provider,
        config=masked_config(settings),
        template=settings.template,
        subject=settings.subject if settings.channel == "email" else None,
        updated_at=settings.updated_at,
        updated_by=settings.updated_by,
    )


def current_settings(db: Session, runtime: Runtime) -> OtpSettingsOut:
    return OtpSettingsOut(
        sms=channel_out(load_channel(db, runtime.box, "sms")),
        email=channel_out(load_channel(db, runtime.box, "email")),
    )


def update_settings(
    db: Session, runtime: Runtime, admin: AdminIdentity, body: OtpSettingsUpdate
) -> OtpSettingsOut:
    """Validate every channel given, then save them together (nothing is saved on a 422)."""
    channels = [("sms", body.sms), ("email", body.email)]
    planned: list[tuple[ChannelSettings | None, ChannelSettings]] = []
    for channel, incoming in channels:
        if incoming is None:
            continue
        before = load_channel(db, runtime.box, channel)
        after = _merged(channel, incoming, before, admin)
        _check_hosts(after, allow_private=runtime.settings.otp_allow_private_hosts)
        planned.append((before, after))
    for before, after in planned:
        save_channel(db, runtime.box, after)
        diff = changed_fields(_audit_view(before), _audit_view(after))
        write_only = sorted(_secrets_changed(before, after))
        if diff["after"] or write_only:
            record_admin_action(
                db,
                runtime,
                admin,
                EventType.ADMIN_PROVIDER_UPDATED,
                details={"channel": after.channel, **diff, "write_only_changed": write_only},
            )
    return current_settings(db, runtime)


def _merged(
    channel: str,
    incoming: Any,
    before: ChannelSettings | None,
    admin: AdminIdentity,
) -> ChannelSettings:
    provider: str = incoming.provider
    names = secret_fields(channel, provider)
    given = incoming.config.model_dump()
    kept = before.secrets if before and before.provider == provider else {}
    secrets: dict[str, str] = {}
    for name in names:
        value = given.pop(name, None)
        if value is None and kept.get(name):
            secrets[name] = kept[name]
        elif value:
            secrets[name] = value
    for name in REQUIRED_SECRETS.get((channel, provider), ()):
        if name not in secrets:
            path = f"{channel}.config.{name}"
            raise Unprocessable(
                f"{path}: required for {provider}",
                fields=[{"field": path, "message": f"required for {provider}"}],
            )
    return ChannelSettings(
        channel=channel,
        provider=provider,
        is_enabled=incoming.is_enabled,
        config=given,
        secrets=secrets,
        template=incoming.template,
        subject=incoming.subject if isinstance(incoming, EmailSettingsIn) else "",
        updated_at=utcnow(),
        updated_by=str(admin.id),
    )


def _check_hosts(settings: ChannelSettings, *, allow_private: bool) -> None:
    for field in ("host", "url", "base_url"):
        value = settings.config.get(field)
        if not value:
            continue
        host = urlsplit(value).hostname if field != "host" else value
        problem = literal_problem(host or "", allow_private=allow_private)
        if problem:
            path = f"{settings.channel}.config.{field}"
            raise Unprocessable(f"{path}: {problem}", fields=[{"field": path, "message": problem}])


def _audit_view(settings: ChannelSettings | None) -> dict[str, Any]:
    if settings is None:
        return {}
    return {
        "provider": settings.provider,
        "is_enabled": settings.is_enabled,
        "config": masked_config(settings),
        "template": settings.template,
        "subject": settings.subject,
    }


def _secrets_changed(before: ChannelSettings | None, after: ChannelSettings) -> set[str]:
    old = before.secrets if before else {}
    return {n for n in set(old) | set(after.secrets) if old.get(n) != after.secrets.get(n)}
