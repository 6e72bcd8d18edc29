"""The whole schema, grouped by the service that owns (writes) each table."""

from shared.models.audit import AuditEvent
from shared.models.auth import (
    AuthSession,
    Device,
    OidcClient,
    PasskeyCredential,
    PasswordResetToken,
    RecoveryCode,
    RefreshToken,
    SigningKey,
    TotpFactor,
)
from shared.models.base import Base, UTCDateTime, new_id, utcnow
from shared.models.console import BrandingAsset, PlatformSetting
from shared.models.directory import (
    AllowedNetwork,
    ApiKey,
    Application,
    Assignment,
    DirectoryOutbox,
    SyncCounter,
    SyncEntry,
    UserAccount,
)
from shared.models.otp import OtpDelivery, OtpProviderSetting

__all__ = [
    "AllowedNetwork",
    "ApiKey",
    "Application",
    "Assignment",
    "AuditEvent",
    "AuthSession",
    "Base",
    "BrandingAsset",
    "Device",
    "DirectoryOutbox",
    "OidcClient",
    "OtpDelivery",
    "OtpProviderSetting",
    "PasskeyCredential",
    "PasswordResetToken",
    "PlatformSetting",
    "RecoveryCode",
    "RefreshToken",
    "SigningKey",
    "SyncCounter",
    "SyncEntry",
    "TotpFactor",
    "UTCDateTime",
    "UserAccount",
    "new_id",
    "utcnow",
]
