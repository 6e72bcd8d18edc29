"""Authlib's grants and extensions, bound to this service's sessions, codes and keys.

The protocol (request validation, client authentication, PKCE, the ID token)
is Authlib's; what is ours is where things live: codes in Redis
(`codes.py`), sessions and refresh-token families in MySQL (the same
rotation, grace and reuse detection as `POST /auth/token/refresh`), keys in
`signing_key`.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from authlib.oauth2.rfc6749 import InvalidGrantError, InvalidRequestError, OAuth2Error
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant, RefreshTokenGrant
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import OpenIDCode, UserInfo

from auth.accounts import get_user_for_app, user_payload
from auth.oidc.clients import PUBLIC, RegisteredClient
from auth.oidc.codes import AuthorizationCode, CodeStore
from auth.sessions import repository
from auth.sessions.tokens import hash_refresh_token
from shared.errors import ServiceError
from shared.models import UserAccount
from shared.runtime import Runtime

if TYPE_CHECKING:
    from auth.oidc.server import OidcRequest

TOKEN_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]


@dataclass(frozen=True)
class SignedInUser:
    """Who the hosted page signed in, through which provider session, and how."""

    user: UserAccount
    sso_session_id: uuid.UUID
    auth_time: int
    amr: tuple[str, ...]

    def get_user_id(self) -> str:
        return str(self.user.id)


def user_claims(user: dict[str, Any], scope: str) -> dict[str, Any]:
    """A directory user (`user_payload`) as OIDC claims, for the scopes granted: the ID
    token's and userinfo's. `emp_id` is a claim of our own, with `profile`."""
    scopes = set(scope.split())
    claims: dict[str, Any] = {"sub": str(user["auth_user_id"])}
    if "profile" in scopes:
        updated = datetime.fromisoformat(str(user["updated_at"]).replace("Z", "+00:00"))
        claims.update(name=user["name"], updated_at=int(updated.timestamp()))
        claims["emp_id"] = user["emp_id"]
    if "email" in scopes and user["email"]:
        # The directory's administrators enter addresses; nothing here proves them.
        claims.update(email=user["email"], email_verified=False)
    if "phone" in scopes and user["mobile_number"]:
        claims.update(phone_number=user["mobile_number"], phone_number_verified=False)
    return claims


class PkceS256(CodeChallenge):
    """PKCE with S256 only: required of public clients, accepted from confidential ones."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if data.get("code_challenge") and not data.get("code_challenge_method"):
            # Without a method RFC 7636 means "plain", which is refused.
            raise InvalidRequestError("'code_challenge_method' must be S256.")
        if not data.get("code_challenge") and grant.request.client.client_type == PUBLIC:
            raise InvalidRequestError("A public client must use PKCE (code_challenge, S256).")
        super().validate_code_challenge(grant, redirect_uri)


class CodeGrant(AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = TOKEN_AUTH_METHODS
    request: OidcRequest

    def save_authorization_code(self, code: str, request: Any) -> None:
        signed_in: SignedInUser = request.user
        data = request.payload.data
        item = AuthorizationCode(
            client_id=request.client.client_id,
            redirect_uri=request.payload.redirect_uri,
            scope=request.scope,
            user_id=str(signed_in.user.id),
            sso_session_id=str(signed_in.sso_session_id),
            auth_time=signed_in.auth_time,
            amr=list(signed_in.amr),
            nonce=data.get("nonce"),
            code_challenge=data.get("code_challenge"),
            code_challenge_method=data.get("code_challenge_method"),
        )
        CodeStore(self.request.runtime).issue(code, item)

    def query_authorization_code(self, code: str, client: Any) -> AuthorizationCode | None:
        store = CodeStore(self.request.runtime)
        item = store.take(code)
        if item is None:
            self.request.code_reuse = store.reused(code)
            return None
        if item.client_id != client.client_id or item.expired:
            return None
        return item

    def delete_authorization_code(self, authorization_code: Any) -> None:
        pass  # taken (GETDEL) when it was looked up: a code is never read twice

    def authenticate_user(self, authorization_code: Any) -> SignedInUser | None:
        item: AuthorizationCode = authorization_code
        client: RegisteredClient = self.request.client  # type: ignore[assignment]
        user, assigned = get_user_for_app(
            self.request.db, uuid.UUID(item.user_id), client.application_id
        )
        # Disabled or unassigned in the 60 s since the code was issued: no tokens.
        if user is None or user.status != "active" or user.is_admin or not assigned:
            return None
        sso = repository.live_session(self.request.db, uuid.UUID(item.sso_session_id))
        if sso is None:
            return None
        return SignedInUser(user, sso.id, item.auth_time, tuple(item.amr))

    def generate_token(
        self,
        user: Any = None,
        scope: str | None = None,
        grant_type: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = True,
    ) -> dict[str, Any]:
        return self.request.issue_tokens(user, scope or "")

    def save_token(self, token: dict[str, Any]) -> None:
        pass  # issue_tokens stored the session and its refresh token


class IdToken(OpenIDCode):
    """The ID token of a code exchange: signed with the client's algorithm, `kid` set."""

    def __init__(self, runtime: Runtime) -> None:
        super().__init__(require_nonce=False)
        self._runtime = runtime  # per process: the keys, the issuer, the lifetime

    def exists_nonce(self, nonce: str, request: Any) -> bool:
        return CodeStore(self._runtime).nonce_seen(request.payload.client_id, nonce)

    def resolve_client_private_key(self, client: Any) -> Any:
        return self._runtime.tokens.signing_key(client.token_signing_alg).jwk

    def get_encode_header(self, client: Any) -> dict[str, str]:
        material = self._runtime.tokens.signing_key(client.token_signing_alg)
        return {"alg": material.alg, "kid": material.kid, "typ": "JWT"}

    def get_client_claims(self, client: Any) -> dict[str, Any]:
        now = int(time.time())
        return {
            "iss": self._runtime.tokens.issuer,
            "aud": client.client_id,
            "iat": now,
            "exp": now + self._runtime.settings.access_token_ttl_seconds,
        }

    def generate_user_info(self, user: Any, scope: str) -> UserInfo:
        signed_in: SignedInUser = user
        claims = user_claims(user_payload(signed_in.user), scope)
        claims["sid"] = str(signed_in.sso_session_id)
        return UserInfo(claims)


@dataclass(frozen=True)
class RefreshCredential:
    """A presented refresh token as Authlib's grant checks it (the client, the scope)."""

    application_id: uuid.UUID | None
    scope: str | None

    def check_client(self, client: Any) -> bool:
        return self.application_id == client.application_id

    def get_scope(self) -> str | None:
        return self.scope


class RefreshGrant(RefreshTokenGrant):
    """`grant_type=refresh_token`: the library validates, our rotation answers.

    Rotation, the retry grace and reuse detection are those of the seed's
    `POST /auth/token/refresh` (auth/sessions/service.py), so both doors to a
    family behave the same.
    """

    TOKEN_ENDPOINT_AUTH_METHODS = TOKEN_AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True
    request: OidcRequest

    def authenticate_refresh_token(self, refresh_token: str) -> RefreshCredential | None:
        found = repository.find_refresh(self.request.db, hash_refresh_token(refresh_token))
        if found is None:
            return None
        return RefreshCredential(found.session.application_id, found.session.scope)

    def authenticate_user(self, refresh_token: Any) -> Any:
        return refresh_token  # the rotation checks the user (active, assigned)

    def create_token_response(self) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        plaintext = self.request.form.get("refresh_token", "")
        try:
            token = self.request.rotate_refresh(plaintext)
        except ServiceError as exc:
            raise _as_oauth_error(exc) from exc
        return 200, token, self.TOKEN_RESPONSE_HEADER

    def revoke_old_credential(self, refresh_token: Any) -> None:
        pass  # the rotation marked it used


def _as_oauth_error(exc: ServiceError) -> OAuth2Error:
    error = InvalidGrantError(description=exc.message)
    if exc.status_code == 409:  # a duplicate exchange still being answered: retry
        error.status_code = 409
    return error
