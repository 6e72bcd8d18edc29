"""Typed errors, one per error code of the service's envelope.

The service answers every failure as `{"error": {"code", "message", ...}}`;
`error_from_response` turns it into the matching exception, so an
application can `except NotAssigned:` rather than compare strings. The
seed's two sign-in messages are `UserNotFound` ("User not in the directory
service.") and `NotAssigned` ("You are not allowed to access this
application. Contact Administrator."): show `str(exc)` to the user as it is.
"""

from __future__ import annotations

from typing import Any

import httpx


class IdentityError(Exception):
    """Any answer of the service that is not a success, or no answer at all."""

    code = "error"

    def __init__(
        self, message: str, *, status: int = 0, code: str | None = None, **fields: Any
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code or type(self).code
        self.fields = fields  # the envelope's extra fields (attempts_left, retry_after, ...)


class TransportError(IdentityError):
    """The service could not be reached (after the retries)."""

    code = "transport_error"


class ServiceUnavailable(IdentityError):
    """503: a dependency of the service is down (after the retries); try again later."""

    code = "unavailable"


class ValidationFailed(IdentityError):
    """422: the request was malformed; `fields` says which field."""

    code = "validation_error"


class InvalidApiKey(IdentityError):
    code = "invalid_api_key"


class AppDisabled(IdentityError):
    code = "app_disabled"


class IpNotAllowed(IdentityError):
    code = "ip_not_allowed"


class UserNotFound(IdentityError):
    """The seed's "User not in the directory service."."""

    code = "user_not_found"


class NotAssigned(IdentityError):
    """The seed's "You are not allowed to access this application. Contact Administrator."."""

    code = "not_assigned"


class UserDisabled(IdentityError):
    code = "user_disabled"


class InvalidCredentials(IdentityError):
    code = "invalid_credentials"


class InvalidOtp(IdentityError):
    """A wrong code; `attempts_left` says how many tries remain."""

    code = "invalid_otp"

    @property
    def attempts_left(self) -> int | None:
        value = self.fields.get("attempts_left")
        return int(value) if value is not None else None


class OtpExpired(IdentityError):
    code = "otp_expired"


class Throttled(IdentityError):
    """429 (too many codes, tries or sign-ins): `retry_after` seconds to wait."""

    code = "too_many_requests"

    @property
    def retry_after(self) -> int | None:
        value = self.fields.get("retry_after")
        return int(value) if value is not None else None


class AccountLocked(Throttled):
    code = "account_locked"


class InvalidToken(IdentityError):
    code = "invalid_token"


class TokenExpired(InvalidToken):
    code = "token_expired"


class SessionRevoked(InvalidToken):
    code = "session_revoked"


class InvalidRefreshToken(IdentityError):
    code = "invalid_refresh_token"


class RefreshTokenExpired(InvalidRefreshToken):
    code = "refresh_token_expired"


class RefreshTokenReused(InvalidRefreshToken):
    """A rotated refresh token came back: the session is revoked; sign the user in again."""

    code = "refresh_token_reused"


class InvalidResetToken(IdentityError):
    code = "invalid_reset_token"


class WeakPassword(ValidationFailed):
    code = "weak_password"


class InvalidMfaCode(IdentityError):
    """A wrong (or already used) authenticator-app or recovery code; the pending sign-in
    stays open, and wrong codes count towards the account's lockout (`AccountLocked`)."""

    code = "invalid_mfa_code"


class MfaChallengeExpired(IdentityError):
    """The pending second step is over (expired, completed, or the user may no longer
    sign in): start the sign-in again."""

    code = "mfa_challenge_expired"


class MfaMethodUnavailable(IdentityError):
    """This second step cannot be completed that way (see `MfaChallenge.methods`)."""

    code = "mfa_method_unavailable"


class MfaEnrollmentRequired(IdentityError):
    """A second factor is required and the user has none that counts: the message names
    the account page where they set one up."""

    code = "mfa_enrollment_required"


class MfaBrowserRequired(IdentityError):
    """The user's only second factor is a passkey, which only the hosted sign-in page
    (OpenID Connect) can take."""

    code = "mfa_browser_required"


def _codes() -> dict[str, type[IdentityError]]:
    found: dict[str, type[IdentityError]] = {}
    pending: list[type[IdentityError]] = [IdentityError]
    while pending:
        cls = pending.pop()
        found.setdefault(cls.code, cls)
        pending.extend(cls.__subclasses__())
    return found


BY_CODE = _codes()
# Codes that share a meaning with one above.
BY_CODE.update(
    otp_throttled=Throttled,
    otp_attempts_exceeded=Throttled,
    refresh_in_progress=ServiceUnavailable,
)


def error_from_response(response: httpx.Response) -> IdentityError:
    """The exception for a non-2xx answer (the envelope, or what there is of it)."""
    try:
        body = response.json()
        error = body["error"]
        code, message = str(error["code"]), str(error["message"])
        fields = {k: v for k, v in error.items() if k not in ("code", "message")}
    except (ValueError, KeyError, TypeError):
        code, message, fields = "", response.text[:200] or response.reason_phrase, {}
    if response.status_code == 409 and code == "refresh_in_progress":
        # A duplicate of this very refresh is being answered: a retry gets its answer.
        return ServiceUnavailable(message, status=409, code=code, **fields)
    cls = BY_CODE.get(code)
    if cls is None:
        cls = {503: ServiceUnavailable, 422: ValidationFailed, 429: Throttled}.get(
            response.status_code, IdentityError
        )
    return cls(message, status=response.status_code, code=code or None, **fields)
