"""The auth service's expected failures, with the codes and messages of DESIGN.md §5."""

from __future__ import annotations

from shared.errors import Conflict, Forbidden, NotFound, ServiceError, Unauthorized, Unprocessable


class UserNotFound(NotFound):
    code = "user_not_found"
    message = "User not in the directory service."


class NotAssigned(Forbidden):
    code = "not_assigned"
    message = "You are not allowed to access this application. Contact Administrator."


class UserDisabled(Forbidden):
    code = "user_disabled"
    message = "This user is disabled. Contact Administrator."


class InvalidCredentials(Unauthorized):
    code = "invalid_credentials"
    message = "The login or password is incorrect."


class InvalidOtp(Unauthorized):
    code = "invalid_otp"
    message = "The code is incorrect."


class OtpExpired(Unauthorized):
    code = "otp_expired"
    message = "The code has expired or was already used. Request a new one."


class InvalidRefreshToken(Unauthorized):
    code = "invalid_refresh_token"
    message = "The refresh token is invalid."


class RefreshTokenExpired(Unauthorized):
    code = "refresh_token_expired"
    message = "The refresh token has expired. Sign in again."


class RefreshTokenReused(Unauthorized):
    code = "refresh_token_reused"
    message = "The refresh token was already used; the session has been revoked."


class RefreshInProgress(Conflict):
    code = "refresh_in_progress"
    message = "This refresh token is being exchanged by another request; retry shortly."


class InvalidResetToken(Unauthorized):
    code = "invalid_reset_token"
    message = "The recovery token is invalid, expired or already used."


class ChannelUnavailable(Unprocessable):
    code = "channel_unavailable"


class TooManyRequests(ServiceError):
    """429 with `Retry-After` (header and body) so a client knows when to come back."""

    status_code = 429
    code = "too_many_requests"
    message = "Too many requests; try again later."

    def __init__(self, retry_after: int, message: str | None = None, *, code: str | None = None):
        seconds = max(int(retry_after), 1)
        super().__init__(
            message, code=code, headers={"Retry-After": str(seconds)}, retry_after=seconds
        )


class AccountLocked(TooManyRequests):
    code = "account_locked"
    message = "Too many failed sign-in attempts. Try again later."


class OtpThrottled(TooManyRequests):
    code = "otp_throttled"
    message = "A code was sent recently or too many codes were requested; try again later."


class OtpAttemptsExceeded(TooManyRequests):
    code = "otp_attempts_exceeded"
    message = "Too many wrong codes. Request a new code later."


class SetupUnavailable(Conflict):
    code = "setup_done"
    message = "An administrator already exists; sign in instead."


class InvalidSetupToken(Forbidden):
    code = "invalid_setup_token"
    message = "The setup token is invalid or has expired."


class MfaChallengeExpired(Unauthorized):
    code = "mfa_challenge_expired"
    message = "This sign-in has expired or was already completed. Sign in again."


class InvalidSecondFactor(Unauthorized):
    code = "invalid_mfa_code"
    message = "The code is incorrect or was already used."


class MfaMethodUnavailable(Unprocessable):
    code = "mfa_method_unavailable"
    message = "This sign-in cannot be completed that way."


class MfaEnrolmentRequired(Forbidden):
    code = "mfa_enrollment_required"
    message = "A second factor is required here and none is set up."


class LastSecondFactor(Conflict):
    code = "last_second_factor"
    message = (
        "Your sign-in requires a second factor and this is your last one: "
        "add another before removing it."
    )


class SecondFactorNeedsBrowser(Forbidden):
    code = "mfa_browser_required"
    message = "This user's second factor is a passkey, which only the hosted sign-in page accepts."
