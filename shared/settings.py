"""Runtime settings, read from `IDENTITY_*` environment variables or secret files."""

from __future__ import annotations

import ipaddress
import os
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PLACEHOLDER_SECRETS = {"", "change-me", "changeme", "secret", "dev"}
# The longest an access token may live, whatever the setting is now: what a record of
# its session's revocation must outlast.
ACCESS_TOKEN_TTL_MAX_SECONDS = 86400


class Environment(StrEnum):
    DEV = "dev"
    TEST = "test"
    PRODUCTION = "production"


class Settings(BaseSettings):
    """One settings object for every service; each reads what it needs.

    Secrets (`secret_key`, database and Redis URLs with passwords) may also be
    given as files named like the variable (`identity_secret_key`) in `IDENTITY_SECRETS_DIR`
    (Docker/Kubernetes secrets), so they never need to sit in the environment.
    """

    model_config = SettingsConfigDict(
        env_prefix="IDENTITY_",
        secrets_dir=None,
        extra="ignore",
        case_sensitive=False,
    )

    env: Environment = Environment.PRODUCTION
    service_name: str = "identity"
    database_url: str = "mysql+pymysql://root@127.0.0.1:3306/identity"
    redis_url: str = "redis://127.0.0.1:6379/0"
    # Every Redis key, stream and channel starts with this, so several
    # deployments (or test runs) can share one Redis server.
    redis_prefix: str = "identity:"
    # Master key for encrypting secrets at rest and keying OTP hashes.
    # Comma-separated list: the first encrypts, all decrypt (rotation).
    secret_key: SecretStr = SecretStr("")
    data_dir: Path = Path("data")

    public_hostname: str = "auth.localhost"
    # CIDRs of reverse proxies whose X-Forwarded-For is believed. Empty means
    # nobody's: the TCP peer is the client.
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)
    default_region: str = "US"

    setup_token: SecretStr | None = None
    dev_codes: bool = False

    db_pool_size: int = Field(default=10, ge=1, le=200)
    db_max_overflow: int = Field(default=20, ge=0, le=500)

    # Argon2id; defaults are OWASP's first recommended profile (m=19 MiB, t=2, p=1).
    argon2_time_cost: int = Field(default=2, ge=2, le=10)
    argon2_memory_kib: int = Field(default=19456, ge=19456, le=1048576)
    argon2_parallelism: int = Field(default=1, ge=1, le=16)
    # Hashing processes per service process; 0: one per CPU it may use. Every auth replica on a
    # host starts its own, so several replicas sharing its CPUs want CPUs / replicas each.
    password_hashing_processes: int = Field(default=0, ge=0, le=256)
    password_min_length: int = Field(default=12, ge=8, le=128)

    api_key_cache_seconds: float = Field(default=5.0, ge=0, le=60)
    key_usage_flush_seconds: float = Field(default=5.0, gt=0, le=300)

    csv_max_rows: int = Field(default=200_000, ge=1)
    csv_max_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)

    sync_default_limit: int = Field(default=1000, ge=1)
    sync_max_limit: int = Field(default=10_000, ge=1)

    # Audit events older than this are deleted daily by the audit consumer; 0 keeps them forever.
    audit_retention_days: int = Field(default=365, ge=0, le=36500)
    # Stream entries another audit consumer left unacknowledged this long are taken over
    # (that consumer is presumed dead).
    audit_claim_idle_seconds: float = Field(default=60.0, gt=0, le=86400)
    # After a batch smaller than a full one, an audit consumer waits this long before the
    # next read, so a steady trickle of events is stored in batches rather than one by one.
    audit_batch_linger_ms: int = Field(default=100, ge=0, le=5000)

    access_token_ttl_seconds: int = Field(default=900, ge=60, le=ACCESS_TOKEN_TTL_MAX_SECONDS)
    # Signing keys rotate on their own after this many days (next becomes current); 0: only
    # when an administrator rotates them.
    signing_key_rotation_days: int = Field(default=90, ge=0, le=3650)
    token_issuer: str | None = None

    # Sign-in (the auth service). Refresh tokens slide within an absolute session lifetime.
    refresh_token_ttl_seconds: int = Field(default=30 * 86400, ge=3600, le=365 * 86400)
    session_max_lifetime_seconds: int = Field(default=90 * 86400, ge=3600, le=730 * 86400)
    # The provider's sign-in session (single sign-on at the hosted page): absolute lifetime.
    sso_session_seconds: int = Field(default=12 * 3600, ge=300, le=30 * 86400)
    # A refresh token presented again this soon after its rotation is a client retry,
    # answered with the same new pair; any later reuse revokes the session.
    refresh_reuse_grace_seconds: int = Field(default=10, ge=0, le=60)
    # How long a user profile cached for GET /auth/session lives without a directory event.
    session_cache_seconds: int = Field(default=600, ge=10, le=86400)
    otp_length: int = Field(default=6, ge=6, le=10)
    otp_ttl_seconds: int = Field(default=300, ge=60, le=600)
    otp_verify_max_attempts: int = Field(default=5, ge=1, le=10)
    otp_resend_cooldown_seconds: int = Field(default=30, ge=0, le=600)
    otp_hourly_cap_per_login: int = Field(default=10, ge=1, le=1000)
    # Per calling address; an application's server calls for all its users, so this is wide.
    otp_hourly_cap_per_ip: int = Field(default=300, ge=1, le=100_000)
    otp_sms_enabled: bool = True
    otp_email_enabled: bool = True
    # Second factors (TOTP, passkeys, recovery codes; issue 20). `mfa_required`: every
    # sign-in needs one, whatever the user's flag or the application says.
    # `mfa_otp_counts`: an SMS or email code is an acceptable second factor (as the seed
    # had it); off, users must enrol an authenticator app or a passkey.
    mfa_required: bool = False
    mfa_otp_counts: bool = True
    lockout_threshold: int = Field(default=5, ge=3, le=100)
    lockout_base_seconds: int = Field(default=60, ge=1, le=3600)
    lockout_max_seconds: int = Field(default=3600, ge=1, le=86400)
    lockout_window_seconds: int = Field(default=900, ge=60, le=86400)
    ip_failure_threshold: int = Field(default=100, ge=5, le=100_000)
    password_reset_ttl_seconds: int = Field(default=900, ge=300, le=3600)
    # Where the emailed recovery link points; default https://<public hostname>/reset-password.
    password_reset_url: str | None = None
    setup_token_ttl_seconds: int = Field(default=86400, ge=600, le=30 * 86400)

    # OTP delivery (the otp-delivery worker and its Test SMS).
    otp_worker_concurrency: int = Field(default=4, ge=1, le=64)
    # Loopback and private addresses are refused as provider hosts unless this
    # is on (tests, an internal SMS gateway); link-local/metadata never pass.
    otp_allow_private_hosts: bool = False
    otp_http_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    otp_smtp_timeout_seconds: float = Field(default=15.0, gt=0, le=60)
    otp_task_time_limit_seconds: int = Field(default=60, ge=2, le=600)
    otp_max_attempts: int = Field(default=5, ge=1, le=20)
    otp_retry_backoff_seconds: float = Field(default=2.0, gt=0, le=60)
    otp_retry_backoff_max_seconds: float = Field(default=30.0, gt=0, le=600)
    # How long a message a crashed worker held stays invisible before another
    # worker gets it; must exceed the longest task plus the longest retry wait.
    otp_visibility_timeout_seconds: int = Field(default=120, ge=3, le=86400)

    # The console calls the other services' APIs here (Traefik, or the embedded process).
    console_api_base_url: str = "http://127.0.0.1:8000"
    # A console sign-in ends after this long without a request, and after the maximum regardless.
    console_session_idle_seconds: int = Field(default=1800, ge=60, le=86400)
    console_session_max_seconds: int = Field(default=12 * 3600, ge=300, le=7 * 86400)

    log_level: str = "INFO"

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_proxies(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _valid_networks(cls, value: list[str]) -> list[str]:
        return [str(ipaddress.ip_network(item, strict=False)) for item in value]

    @model_validator(mode="after")
    def _otp_timeouts_fit(self) -> Settings:
        longest_call = max(self.otp_http_timeout_seconds, self.otp_smtp_timeout_seconds)
        if self.otp_task_time_limit_seconds <= longest_call:
            raise ValueError(
                "IDENTITY_OTP_TASK_TIME_LIMIT_SECONDS must exceed the provider timeouts"
            )
        if self.otp_visibility_timeout_seconds <= (
            self.otp_task_time_limit_seconds + self.otp_retry_backoff_max_seconds
        ):
            raise ValueError(
                "IDENTITY_OTP_VISIBILITY_TIMEOUT_SECONDS must exceed the task time limit "
                "plus the longest retry wait, or a running task would be handed out twice"
            )
        return self

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        if self.env is Environment.PRODUCTION:
            keys = [k.strip() for k in self.secret_key.get_secret_value().split(",")]
            if not keys or any(k.lower() in PLACEHOLDER_SECRETS or len(k) < 32 for k in keys):
                raise ValueError(
                    "IDENTITY_SECRET_KEY must be set to a strong value (32+ characters) "
                    "in production; generate one with `python -m shared.cli gen-secret`"
                )
            if self.dev_codes:
                raise ValueError("IDENTITY_DEV_CODES cannot be enabled in production")
            if self.database_url.startswith("sqlite") or self.redis_url.startswith("memory"):
                raise ValueError("the embedded SQLite/in-memory mode is for dev only")
        return self

    @property
    def is_dev(self) -> bool:
        return self.env is Environment.DEV

    @cached_property
    def trusted_proxy_networks(
        self,
    ) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        return tuple(ipaddress.ip_network(net) for net in self.trusted_proxies)

    @property
    def issuer(self) -> str:
        return self.token_issuer or f"http://{self.public_hostname}"

    def secret_keys(self) -> list[str]:
        return [k.strip() for k in self.secret_key.get_secret_value().split(",") if k.strip()]


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment, with secret files when IDENTITY_SECRETS_DIR is set."""
    secrets_dir = os.environ.get("IDENTITY_SECRETS_DIR")
    if secrets_dir:
        overrides["_secrets_dir"] = secrets_dir
    return Settings(**overrides)
