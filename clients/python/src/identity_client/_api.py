"""Each app-facing endpoint as a `Call`: the request to send and how to read its answer.

The sync and the async clients run the same calls; only how they wait differs.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import httpx

from identity_client.errors import IdentityError, error_from_response
from identity_client.models import (
    Device,
    MfaChallenge,
    OtpChallenge,
    ResetDone,
    ResetStarted,
    SessionInfo,
    SyncPage,
    TokenPair,
    User,
)

T = TypeVar("T")
API_KEY_HEADER = "X-Auth-Service-Key"
# Never reached the service: safe to send again, whatever the request was.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# Sent, answer lost: only a request that may be repeated is sent again.
LOST = (httpx.ReadTimeout, httpx.WriteTimeout, httpx.RemoteProtocolError, httpx.ReadError)


@dataclass(frozen=True)
class RetryPolicy:
    """503 and connection failures are retried with capped exponential backoff and full
    jitter (so many clients retrying do not arrive together); a 4xx never is."""

    retries: int = 3
    base_seconds: float = 0.2
    cap_seconds: float = 3.0

    def delay(self, attempt: int, retry_after: str | None = None) -> float:
        ceiling = min(self.cap_seconds, self.base_seconds * 2**attempt)
        wait = random.uniform(0, ceiling)
        if retry_after and retry_after.isdigit():
            wait = max(wait, min(float(retry_after), self.cap_seconds))
        return wait


@dataclass(frozen=True)
class Call(Generic[T]):
    method: str
    path: str
    parse: Callable[[httpx.Response], T]
    json: dict[str, Any] | None = None
    params: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    # May it be sent again when its answer was lost? Refresh may (a retry inside the
    # grace window gets the same pair); an OTP request may not (a second code).
    repeatable: bool = False
    ok: tuple[int, ...] = (200,)

    def retryable_status(self, response: httpx.Response) -> bool:
        if response.status_code == 503:
            return True
        # A duplicate of this same refresh is still being answered: its answer comes.
        return response.status_code == 409 and self.path.endswith("/token/refresh")

    def retryable_error(self, exc: Exception) -> bool:
        return isinstance(exc, NOT_SENT) or (self.repeatable and isinstance(exc, LOST))

    def answer(self, response: httpx.Response) -> T:
        if response.status_code not in self.ok:
            raise error_from_response(response)
        return self.parse(response)


def _json(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    if not isinstance(body, dict):
        raise IdentityError("unexpected answer", status=response.status_code)
    return body


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def register(login: str) -> Call[User]:
    return Call(
        "POST", "/auth/register", lambda r: User.from_json(_json(r)["user"]), json={"login": login}
    )


def request_otp(login: str, channel: str | None) -> Call[OtpChallenge]:
    body: dict[str, Any] = {"login": login}
    if channel:
        body["channel"] = channel
    return Call(
        "POST",
        "/auth/otp/request",
        lambda r: OtpChallenge.from_json(_json(r)),
        json=body,
        ok=(202,),
    )


def _sign_in_answer(response: httpx.Response) -> TokenPair | MfaChallenge:
    """Tokens, or the second step a first factor led to (`mfa_required`)."""
    body = _json(response)
    if body.get("mfa_required"):
        return MfaChallenge.from_json(body)
    return TokenPair.from_json(body)


def _with_device(body: dict[str, Any], device: Device | None) -> dict[str, Any]:
    if device:
        body["device"] = device.to_json()
    return body


def verify_otp(
    code: str, otp_request_id: str | None, login: str | None, device: Device | None
) -> Call[TokenPair | MfaChallenge]:
    body: dict[str, Any] = {"code": code}
    if otp_request_id:
        body["otp_request_id"] = otp_request_id
    if login:
        body["login"] = login
    return Call("POST", "/auth/otp/verify", _sign_in_answer, json=_with_device(body, device))


def login(login_text: str, password: str, device: Device | None) -> Call[TokenPair | MfaChallenge]:
    body: dict[str, Any] = {"login": login_text, "password": password}
    return Call("POST", "/auth/login", _sign_in_answer, json=_with_device(body, device))


def _challenge_id(challenge: MfaChallenge | str) -> str:
    return challenge.mfa_challenge_id if isinstance(challenge, MfaChallenge) else challenge


def verify_mfa(
    challenge: MfaChallenge | str, method: str, code: str, device: Device | None
) -> Call[TokenPair]:
    # Never sent again on a lost answer: the code is accepted once, so a second send
    # would be refused and hide the first one's success.
    body = {"mfa_challenge_id": _challenge_id(challenge), "method": method, "code": code}
    return Call(
        "POST",
        "/auth/mfa/verify",
        lambda r: TokenPair.from_json(_json(r)),
        json=_with_device(body, device),
    )


def send_mfa_code(challenge: MfaChallenge | str, channel: str | None) -> Call[OtpChallenge]:
    body = {"mfa_challenge_id": _challenge_id(challenge)}
    if channel:
        body["channel"] = channel
    return Call(
        "POST", "/auth/mfa/otp", lambda r: OtpChallenge.from_json(_json(r)), json=body, ok=(202,)
    )


def session(access_token: str) -> Call[SessionInfo]:
    return Call(
        "GET",
        "/auth/session",
        lambda r: SessionInfo.from_json(_json(r)),
        headers=_bearer(access_token),
        repeatable=True,
    )


def refresh(refresh_token: str) -> Call[TokenPair]:
    return Call(
        "POST",
        "/auth/token/refresh",
        lambda r: TokenPair.from_json(_json(r)),
        json={"refresh_token": refresh_token},
        repeatable=True,
    )


def logout(refresh_token: str | None, access_token: str | None) -> Call[None]:
    if refresh_token:
        return Call(
            "POST",
            "/auth/logout",
            lambda r: None,
            json={"refresh_token": refresh_token},
            repeatable=True,
        )
    if access_token:
        return Call(
            "POST", "/auth/logout", lambda r: None, headers=_bearer(access_token), repeatable=True
        )
    raise ValueError("give the refresh token or the access token of the session to end")


def request_password_reset(login_text: str) -> Call[ResetStarted]:
    return Call(
        "POST",
        "/auth/password/request-reset",
        lambda r: ResetStarted.from_json(_json(r)),
        json={"login": login_text},
        ok=(202,),
    )


def reset_password(token: str, new_password: str) -> Call[ResetDone]:
    def parse(response: httpx.Response) -> ResetDone:
        body = _json(response)
        return ResetDone(bool(body["password_reset"]), int(body["sessions_revoked"]))

    return Call(
        "POST", "/auth/password/reset", parse, json={"token": token, "new_password": new_password}
    )


def sync_page(since: str | None, limit: int | None, etag: str | None) -> Call[SyncPage]:
    params: dict[str, Any] = {}
    if since:
        params["since"] = since
    if limit:
        params["limit"] = limit
    headers = {"If-None-Match": etag} if etag else {}

    def parse(response: httpx.Response) -> SyncPage:
        if response.status_code == 304:
            return SyncPage("", (), (), since or "", False, etag, not_modified=True)
        return SyncPage.from_json(_json(response), response.headers.get("etag"))

    return Call(
        "GET", "/users/sync", parse, params=params, headers=headers, repeatable=True, ok=(200, 304)
    )
