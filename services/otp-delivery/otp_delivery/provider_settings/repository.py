"""Provider settings rows: non-secret config as JSON, secrets as one encrypted JSON blob."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from shared.models.base import utcnow
from shared.models.otp import OtpProviderSetting
from shared.security.encryption import SecretBox


@dataclass(frozen=True)
class ChannelSettings:
    channel: str
    provider: str
    is_enabled: bool
    config: dict[str, Any]  # non-secret provider fields
    secrets: dict[str, str]
    template: str
    subject: str
    updated_at: datetime
    updated_by: str | None

    def provider_config(self) -> dict[str, Any]:
        """What the provider is built from: config with the secrets put back."""
        return {**self.config, **self.secrets}


def load_channel(session: Session, box: SecretBox, channel: str) -> ChannelSettings | None:
    row = session.get(OtpProviderSetting, channel)
    if row is None:
        return None
    stored = row.config or {}
    secrets = json.loads(box.decrypt(row.secrets_encrypted)) if row.secrets_encrypted else {}
    return ChannelSettings(
        channel=row.channel,
        provider=row.provider,
        is_enabled=row.is_enabled,
        config=dict(stored.get("provider_config", {})),
        secrets=secrets,
        template=stored.get("template", ""),
        subject=stored.get("subject", ""),
        updated_at=row.updated_at,
        updated_by=row.updated_by,
    )


def save_channel(session: Session, box: SecretBox, settings: ChannelSettings) -> OtpProviderSetting:
    row = session.get(OtpProviderSetting, settings.channel)
    if row is None:
        row = OtpProviderSetting(channel=settings.channel)
        session.add(row)
    row.provider = settings.provider
    row.is_enabled = settings.is_enabled
    row.config = {
        "provider_config": settings.config,
        "template": settings.template,
        "subject": settings.subject,
    }
    row.secrets_encrypted = box.encrypt(json.dumps(settings.secrets)) if settings.secrets else None
    row.updated_at = utcnow()
    row.updated_by = settings.updated_by
    session.flush()
    return row
