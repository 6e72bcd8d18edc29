"""What the service answers, as typed, immutable objects (the fields of DESIGN.md §5)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value)  # Python 3.11 reads the "Z" too


MAPPED_FIELDS = ("name", "mobile_number", "email", "emp_id", "status")


def sync_hash_of(user: dict[str, Any]) -> str:
    """The service's `sync_hash` recipe (SHA-256 of the canonical JSON of the mapped fields)."""
    fields = {k: user.get(k) for k in MAPPED_FIELDS}
    payload = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class User:
    """A directory user as applications see it (sign-in answers and `/users/sync` alike)."""

    auth_user_id: str
    name: str
    mobile_number: str | None
    email: str | None
    emp_id: str | None
    status: str  # active | disabled
    updated_at: datetime
    sync_hash: str

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> User:
        # Positional and unconverted (the JSON is strings already): a full sync builds
        # one per user, and this is most of the walk's own CPU.
        return cls(
            data["auth_user_id"],
            data["name"],
            data.get("mobile_number"),
            data.get("email"),
            data.get("emp_id"),
            data["status"],
            _time(data["updated_at"]),
            data["sync_hash"],
        )

    @property
    def is_active(self) -> bool:
        return self.status == "active"


@dataclass(frozen=True, slots=True)
class SessionRef:
    session_id: str
    created_at: datetime
    expires_at: datetime

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SessionRef:
        return cls(
            str(data["session_id"]), _time(str(data["created_at"])), _time(str(data["expires_at"]))
        )


@dataclass(frozen=True, slots=True)
class TokenPair:
    """A sign-in's or a refresh's answer: keep both tokens in the application's session."""

    access_token: str
    refresh_token: str
    expires_in: int
    refresh_expires_in: int
    session: SessionRef
    user: User

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TokenPair:
        return cls(
            access_token=str(data["access_token"]),
            refresh_token=str(data["refresh_token"]),
            expires_in=int(data["expires_in"]),
            refresh_expires_in=int(data["refresh_expires_in"]),
            session=SessionRef.from_json(data["session"]),
            user=User.from_json(data["user"]),
        )


@dataclass(frozen=True, slots=True)
class OtpChallenge:
    """A code is on its way: verify it with `otp_request_id` and the code the user types."""

    otp_request_id: str
    channel: str  # sms | email
    destination: str  # masked
    expires_in: int
    resend_after: int
    dev_code: str | None = None  # only when the service runs with dev codes

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> OtpChallenge:
        return cls(
            otp_request_id=str(data["otp_request_id"]),
            channel=str(data["channel"]),
            destination=str(data["destination"]),
            expires_in=int(data["expires_in"]),
            resend_after=int(data["resend_after"]),
            dev_code=data.get("dev_code"),
        )


@dataclass(frozen=True, slots=True)
class MfaChallenge:
    """The first factor was right and a second one is needed: no tokens yet.

    `methods` says what may complete it, strongest first: "totp" (an authenticator
    app) and "recovery_code" through `verify_mfa`, "otp" (a code by SMS or email)
    through `send_mfa_code` and then `verify_otp`. When a code is the only way it was
    sent at once: `code_sent` is true and the `otp_*` fields describe it (as an
    `OtpChallenge` does), so `verify_otp(code, otp_request_id=...)` finishes it.
    """

    mfa_challenge_id: str
    methods: tuple[str, ...]
    expires_in: int  # seconds left (the code's, when one was sent)
    otp_request_id: str | None = None
    channel: str | None = None
    destination: str | None = None  # masked
    resend_after: int | None = None
    dev_code: str | None = None  # only when the service runs with dev codes

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MfaChallenge:
        resend_after = data.get("resend_after")
        return cls(
            mfa_challenge_id=str(data["mfa_challenge_id"]),
            methods=tuple(str(m) for m in data["methods"]),
            expires_in=int(data["expires_in"]),
            otp_request_id=data.get("otp_request_id"),
            channel=data.get("channel"),
            destination=data.get("destination"),
            resend_after=int(resend_after) if resend_after is not None else None,
            dev_code=data.get("dev_code"),
        )

    @property
    def code_sent(self) -> bool:
        """A code by SMS or email is already on its way (finish with `verify_otp`)."""
        return self.otp_request_id is not None


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """`GET /auth/session`: the live session and its user (revocation-aware)."""

    user: User
    session: SessionRef

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SessionInfo:
        return cls(User.from_json(data["user"]), SessionRef.from_json(data["session"]))


@dataclass(frozen=True, slots=True)
class ResetStarted:
    channel: str
    destination: str
    expires_in: int
    dev_token: str | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ResetStarted:
        return cls(
            str(data["channel"]),
            str(data["destination"]),
            int(data["expires_in"]),
            data.get("dev_token"),
        )


@dataclass(frozen=True, slots=True)
class ResetDone:
    password_reset: bool
    sessions_revoked: int


@dataclass(frozen=True, slots=True)
class Device:
    """The device a user signs in from, as the application identifies it."""

    device_id: str
    name: str | None = None
    platform: str | None = None

    def to_json(self) -> dict[str, str]:
        body = {"device_id": self.device_id}
        if self.name:
            body["name"] = self.name
        if self.platform:
            body["platform"] = self.platform
        return body


@dataclass(frozen=True)
class SyncPage:
    """One page of `/users/sync`; `not_modified` when `If-None-Match` matched (304).

    `users` are built when first read; the walker reads the raw entries and builds a
    `User` only for those it upserts.
    """

    application_id: str
    raw_users: tuple[dict[str, Any], ...]
    removed: tuple[str, ...]
    next_cursor: str
    has_more: bool
    etag: str | None
    not_modified: bool = False

    @cached_property
    def users(self) -> tuple[User, ...]:
        return tuple(User.from_json(u) for u in self.raw_users)

    @classmethod
    def from_json(cls, data: dict[str, Any], etag: str | None) -> SyncPage:
        return cls(
            application_id=str(data["application"]["id"]),
            raw_users=tuple(data["users"]),
            removed=tuple(str(r) for r in data["removed"]),
            next_cursor=str(data["next_cursor"]),
            has_more=bool(data["has_more"]),
            etag=etag,
        )
