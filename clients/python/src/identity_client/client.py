"""`IdentityClient`: the app-facing REST API, synchronous (httpx)."""

from __future__ import annotations

import time
from types import TracebackType
from typing import TypeVar

import httpx

from identity_client import _api
from identity_client._api import API_KEY_HEADER, Call, RetryPolicy
from identity_client.errors import TransportError
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
from identity_client.tokens import TokenVerifier, VerifiedToken

T = TypeVar("T")
DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=3.0)


class IdentityClient:
    """One application's client: its API key on every call, its id as tokens' audience.

    `base_url` is where the service is reached (its Traefik). Calls that fail
    with 503 or that could not connect are retried (`retry`); every other
    failure raises the `IdentityError` subclass of its error code.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        application_id: str | None = None,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        verifier: TokenVerifier | None = None,
        http: httpx.Client | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.application_id = application_id
        self._retry = retry or RetryPolicy()
        self._http = http or httpx.Client(base_url=self.base_url, timeout=timeout)
        self._owns_http = http is None
        self._api_key = api_key
        self._verifier = verifier

    # -- plumbing --------------------------------------------------------------------
    def _run(self, call: Call[T]) -> T:
        headers = {API_KEY_HEADER: self._api_key, **call.headers}
        attempt = 0
        while True:
            try:
                response = self._http.request(
                    call.method, call.path, json=call.json, params=call.params, headers=headers
                )
            except httpx.TransportError as exc:
                if attempt >= self._retry.retries or not call.retryable_error(exc):
                    raise TransportError(f"{call.method} {call.path}: {exc!r}") from exc
            else:
                if not call.retryable_status(response) or attempt >= self._retry.retries:
                    return call.answer(response)
                time.sleep(self._retry.delay(attempt, response.headers.get("retry-after")))
                attempt += 1
                continue
            time.sleep(self._retry.delay(attempt))
            attempt += 1

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> IdentityClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- the API -----------------------------------------------------------------------
    def register(self, login: str) -> User:
        """The user, if they exist, are active and are assigned to this application."""
        return self._run(_api.register(login))

    def request_otp(self, login: str, channel: str | None = None) -> OtpChallenge:
        """Send a sign-in code to the user (`channel`: "sms" or "email"; else the login's)."""
        return self._run(_api.request_otp(login, channel))

    def verify_otp(
        self,
        code: str,
        *,
        otp_request_id: str | None = None,
        login: str | None = None,
        device: Device | None = None,
    ) -> TokenPair | MfaChallenge:
        """Sign in with the code the user typed (by the challenge's id, or by login); a
        user with an authenticator app gets an `MfaChallenge` (finish with verify_mfa)."""
        return self._run(_api.verify_otp(code, otp_request_id, login, device))

    def login(
        self, login: str, password: str, device: Device | None = None
    ) -> TokenPair | MfaChallenge:
        """Password sign-in; a user who needs a second factor gets an `MfaChallenge`
        (finish with verify_mfa, or verify_otp when a code was sent)."""
        return self._run(_api.login(login, password, device))

    def verify_mfa(
        self,
        challenge: MfaChallenge | str,
        method: str,
        code: str,
        device: Device | None = None,
    ) -> TokenPair:
        """Finish a sign-in that answered `MfaChallenge` (or its `mfa_challenge_id`):
        `method` "totp" with the authenticator app's code, or "recovery_code"."""
        return self._run(_api.verify_mfa(challenge, method, code, device))

    def send_mfa_code(
        self, challenge: MfaChallenge | str, channel: str | None = None
    ) -> OtpChallenge:
        """Send a code by SMS or email for a second step whose `methods` include "otp";
        finish with `verify_otp(code, otp_request_id=...)`."""
        return self._run(_api.send_mfa_code(challenge, channel))

    def session(self, access_token: str) -> SessionInfo:
        """The live session and user of an access token (knows about revocation)."""
        return self._run(_api.session(access_token))

    def refresh(self, refresh_token: str) -> TokenPair:
        """A new pair for a refresh token (rotation: store the new refresh token)."""
        return self._run(_api.refresh(refresh_token))

    def logout(self, *, refresh_token: str | None = None, access_token: str | None = None) -> None:
        """End the session of either token; a second call is harmless."""
        self._run(_api.logout(refresh_token, access_token))

    def request_password_reset(self, login: str) -> ResetStarted:
        return self._run(_api.request_password_reset(login))

    def reset_password(self, token: str, new_password: str) -> ResetDone:
        return self._run(_api.reset_password(token, new_password))

    def sync_page(
        self, since: str | None = None, *, limit: int | None = None, etag: str | None = None
    ) -> SyncPage:
        """One page of `/users/sync` (prefer `SyncWalker`, which walks and applies them)."""
        return self._run(_api.sync_page(since, limit, etag))

    # -- access tokens, offline ---------------------------------------------------------
    @property
    def verifier(self) -> TokenVerifier:
        """Offline checks against the published keys (made on first use)."""
        if self._verifier is None:
            if self.application_id is None:
                raise ValueError("application_id is needed to check tokens (their audience)")
            self._verifier = TokenVerifier(
                f"{self.base_url}/.well-known/jwks.json", audience=self.application_id
            )
        return self._verifier

    def verify(self, access_token: str, *, check_revocation: bool = False) -> VerifiedToken:
        """The token's claims, checked offline; with `check_revocation` also asks
        `/auth/session` (a revoked session raises `SessionRevoked`)."""
        verified = self.verifier.verify(access_token)
        if check_revocation:
            self.session(access_token)
        return verified

    def __repr__(self) -> str:
        return f"IdentityClient({self.base_url!r}, application_id={self.application_id!r})"
