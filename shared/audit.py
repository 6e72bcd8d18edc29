"""The audit event contract and its emitter (XADD to the audit stream).

The audit service's consumer reads the stream in a consumer group and stores
each event once (idempotent on `uuid`). Event types are a closed set.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

import orjson
import redis
import structlog
from pydantic import BaseModel, Field

from shared.logging import mask_secrets
from shared.models.base import utcnow
from shared.redis_client import BatchedRedis

log = structlog.get_logger("audit")

STREAM_FIELD = "event"


class EventType(StrEnum):
    # Administrators' actions
    ADMIN_SETUP = "admin.setup"
    ADMIN_USER_CREATED = "admin.user.created"
    ADMIN_USER_UPDATED = "admin.user.updated"
    ADMIN_USER_DELETED = "admin.user.deleted"
    ADMIN_USER_ASSIGNMENTS = "admin.user.assignments"
    ADMIN_USERS_IMPORTED = "admin.user.imported"
    ADMIN_APP_CREATED = "admin.application.created"
    ADMIN_APP_UPDATED = "admin.application.updated"
    ADMIN_APP_DELETED = "admin.application.deleted"
    ADMIN_KEY_CREATED = "admin.api_key.created"
    ADMIN_KEY_DELETED = "admin.api_key.deleted"
    ADMIN_PROVIDER_UPDATED = "admin.otp_provider.updated"
    ADMIN_SETTINGS_UPDATED = "admin.settings.updated"
    ADMIN_SECRET_ROTATED = "admin.token_secret.rotated"  # HS256 secrets, before signing keys
    SIGNING_KEYS_ROTATED = "signing_keys.rotated"  # by an administrator or on schedule
    ADMIN_SESSION_REVOKED = "admin.session.revoked"
    ADMIN_OIDC_CLIENT_UPDATED = "admin.oidc_client.updated"
    ADMIN_OIDC_CLIENT_SECRET_ROTATED = "admin.oidc_client.secret_rotated"
    ADMIN_OIDC_CLIENT_DELETED = "admin.oidc_client.deleted"
    # Application API traffic
    API_CALL = "api.call"
    API_DENIED_KEY = "api.denied.invalid_key"
    API_DENIED_APP_DISABLED = "api.denied.app_disabled"
    API_DENIED_IP = "api.denied.ip_rejected"
    # Sign-in
    LOGIN_SUCCEEDED = "login.succeeded"
    LOGIN_FAILED = "login.failed"
    ACCOUNT_LOCKED = "login.locked"
    OTP_REQUESTED = "otp.requested"
    OTP_SENT = "otp.sent"
    OTP_DELIVERY_FAILED = "otp.delivery_failed"
    OTP_VERIFIED = "otp.verified"
    OTP_VERIFY_FAILED = "otp.verify_failed"
    TOKEN_REFRESHED = "token.refreshed"
    REFRESH_REUSE_DETECTED = "token.refresh_reuse_detected"
    SESSION_REVOKED = "session.revoked"
    PASSWORD_RESET_REQUESTED = "password.reset_requested"
    PASSWORD_RESET_COMPLETED = "password.reset_completed"
    PASSWORD_CHANGED = "password.changed"  # by the user, on the account page
    # Second factors (TOTP, passkeys, recovery codes)
    MFA_ENROLLED = "mfa.enrolled"
    MFA_REMOVED = "mfa.removed"
    MFA_VERIFIED = "mfa.verified"
    MFA_VERIFY_FAILED = "mfa.verify_failed"
    MFA_RECOVERY_CODES_GENERATED = "mfa.recovery_codes_generated"
    PASSKEY_COUNTER_REGRESSED = "mfa.passkey_counter_regressed"  # refused: a copied key?
    ADMIN_MFA_RESET = "admin.user.mfa_reset"
    # OpenID Connect
    OIDC_AUTHORIZED = "oidc.authorization.granted"  # a code issued (after sign-in or by SSO)
    OIDC_DENIED = "oidc.authorization.denied"  # with the reason
    OIDC_CODE_EXCHANGED = "oidc.code.exchanged"
    OIDC_CODE_REUSED = "oidc.code.reused"  # the session it gave is revoked
    OIDC_TOKEN_DENIED = "oidc.token.denied"  # a token request refused, with the OAuth error
    OIDC_TOKEN_REVOKED = "oidc.token.revoked"  # RFC 7009
    OIDC_LOGOUT = "oidc.logout"  # RP-initiated logout ended the provider session
    # The audit log itself
    AUDIT_PURGED = "audit.purged"


class Outcome(StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"
    DENIED = "denied"


class AuditRecord(BaseModel):
    """One audit event as it travels through the stream (the contract)."""

    uuid: str = Field(default_factory=lambda: str(uuid.uuid4()))
    occurred_at: datetime = Field(default_factory=utcnow)
    type: EventType
    outcome: Outcome = Outcome.SUCCESS
    actor_type: str | None = None  # admin | app | user | system
    actor_id: str | None = None
    actor_name: str | None = None
    subject_user_id: str | None = None
    application_id: str | None = None
    effective_ip: str | None = None
    forwarded_ip: str | None = None
    remote_addr: str | None = None
    user_agent: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)

    def to_stream(self) -> dict[str, bytes]:
        data = self.model_dump(mode="json")
        data["details"] = mask_secrets(data["details"])
        return {STREAM_FIELD: orjson.dumps(data)}

    @classmethod
    def from_stream(cls, fields: dict[Any, Any]) -> AuditRecord:
        raw = fields.get(STREAM_FIELD) or fields.get(STREAM_FIELD.encode())
        if raw is None:
            raise ValueError("stream entry has no event field")
        return cls.model_validate(orjson.loads(raw))


class AuditEmitter:
    def __init__(self, client: redis.Redis, stream: str) -> None:
        self._redis = client
        self._stream = stream

    def emit(self, record: AuditRecord) -> None:
        self._redis.xadd(self._stream, record.to_stream())  # type: ignore[arg-type]

    async def emit_async(self, client: BatchedRedis, record: AuditRecord) -> None:
        """`emit` from the event loop, without a thread hop (the app-facing hot path);
        concurrent requests' events share one round trip."""
        await client.xadd(self._stream, record.to_stream())

    def emit_after_commit(self, record: AuditRecord) -> None:
        """For events of a write that already committed: a Redis hiccup is logged, not raised."""
        try:
            self.emit(record)
        except redis.RedisError as exc:
            log.error("audit_emit_failed", type=record.type, uuid=record.uuid, error=str(exc))


def changed_fields(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """`{"before": {...}, "after": {...}}` of the fields that differ, for admin audit details."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {
        "before": {k: before.get(k) for k in keys},
        "after": {k: after.get(k) for k in keys},
    }
