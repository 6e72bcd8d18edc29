"""Client library for applications that sign their users in with Identity Services.

    from identity_client import IdentityClient

    with IdentityClient("https://auth.example.com", api_key="ask_...",
                        application_id="<the application's id>") as identity:
        tokens = identity.login("ada@example.com", "a long passphrase")
        user = identity.verify(tokens.access_token).subject

`IdentityClient` (sync) and `AsyncIdentityClient` (asyncio) cover the
app-facing REST API; `TokenVerifier` checks access tokens offline against the
published keys; `SyncWalker` keeps a local copy of the application's users;
`identity_client.fastapi` and `identity_client.asgi` protect routes.
"""

from identity_client.aio import AsyncIdentityClient
from identity_client.client import IdentityClient
from identity_client.errors import (
    AccountLocked,
    AppDisabled,
    IdentityError,
    InvalidApiKey,
    InvalidCredentials,
    InvalidMfaCode,
    InvalidOtp,
    InvalidRefreshToken,
    InvalidResetToken,
    InvalidToken,
    IpNotAllowed,
    MfaBrowserRequired,
    MfaChallengeExpired,
    MfaEnrollmentRequired,
    MfaMethodUnavailable,
    NotAssigned,
    OtpExpired,
    RefreshTokenExpired,
    RefreshTokenReused,
    ServiceUnavailable,
    SessionRevoked,
    Throttled,
    TokenExpired,
    TransportError,
    UserDisabled,
    UserNotFound,
    ValidationFailed,
    WeakPassword,
)
from identity_client.models import (
    Device,
    MfaChallenge,
    OtpChallenge,
    ResetDone,
    ResetStarted,
    SessionInfo,
    SessionRef,
    SyncPage,
    TokenPair,
    User,
)
from identity_client.sync import (
    AsyncSyncWalker,
    CursorStore,
    SyncReport,
    SyncState,
    SyncTarget,
    SyncWalker,
)
from identity_client.tokens import AsyncTokenVerifier, TokenVerifier, VerifiedToken

__all__ = [
    "AccountLocked",
    "AppDisabled",
    "AsyncIdentityClient",
    "AsyncSyncWalker",
    "AsyncTokenVerifier",
    "CursorStore",
    "Device",
    "IdentityClient",
    "IdentityError",
    "InvalidApiKey",
    "InvalidCredentials",
    "InvalidMfaCode",
    "InvalidOtp",
    "InvalidRefreshToken",
    "InvalidResetToken",
    "InvalidToken",
    "IpNotAllowed",
    "MfaBrowserRequired",
    "MfaChallenge",
    "MfaChallengeExpired",
    "MfaEnrollmentRequired",
    "MfaMethodUnavailable",
    "NotAssigned",
    "OtpChallenge",
    "OtpExpired",
    "RefreshTokenExpired",
    "RefreshTokenReused",
    "ResetDone",
    "ResetStarted",
    "ServiceUnavailable",
    "SessionInfo",
    "SessionRef",
    "SessionRevoked",
    "SyncPage",
    "SyncReport",
    "SyncState",
    "SyncTarget",
    "SyncWalker",
    "Throttled",
    "TokenExpired",
    "TokenPair",
    "TokenVerifier",
    "TransportError",
    "User",
    "UserDisabled",
    "UserNotFound",
    "ValidationFailed",
    "VerifiedToken",
    "WeakPassword",
]
