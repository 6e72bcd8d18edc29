"""The endpoints a client's servers call: token, userinfo, revocation (RFC 7009) and
introspection (RFC 7662). The application's IP allow-list applies, fail-closed."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import jwt
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import JSONResponse, Response

from auth.context import SignInContext, caller_address
from auth.oidc.clients import RegisteredClient
from auth.oidc.codes import CodeStore
from auth.oidc.endpoints import Introspection, Revocation
from auth.oidc.grants import SignedInUser, user_claims
from auth.oidc.http import audit, oauth_request, read_form, runtime_of, server_of
from auth.oidc.schemas import Introspected, OidcTokens, UserInfo, oauth_errors
from auth.oidc.server import OidcRequest
from auth.sessions.lookup import session_view
from auth.sessions.revocation import revoke_sessions
from auth.sessions.service import open_session, refresh_token_pair
from auth.sessions.tokens import mint_access_token
from auth.trail import emit_on_commit, sign_in_record
from shared.audit import EventType, Outcome
from shared.client_ip import ip_allowed
from shared.db import transaction
from shared.errors import ServiceError
from shared.models import AuthSession

router = APIRouter(tags=["OpenID Connect"])


def _client_id_of(request: Request, form: FormData | None) -> str:
    """The client a token-endpoint call names (its Basic user, or `client_id`)."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
            return decoded.split(":", 1)[0]
        except (ValueError, UnicodeDecodeError):
            return ""
    return str(form.get("client_id") or "") if form is not None else ""


def _network_refusal(request: Request, client: RegisteredClient | None) -> Response | None:
    """The application's allow-list, fail-closed, for the calls its servers make."""
    if client is None:
        return None  # an unknown client: the endpoint answers invalid_client
    address = caller_address(request)
    if ip_allowed(address.effective_ip, client.networks):
        return None
    runtime = runtime_of(request)
    ctx = SignInContext.for_client(client.application_id, client.name, request)
    audit(
        runtime,
        ctx,
        EventType.API_DENIED_IP,
        outcome=Outcome.DENIED,
        details={"path": request.url.path},
    )
    body = {
        "error": "access_denied",
        "error_description": "This address may not call this "
        "endpoint for this client (the application's allowed IPs).",
    }
    return JSONResponse(body, status_code=403, headers={"Cache-Control": "no-store"})


def _invalid_form() -> JSONResponse:
    body = {
        "error": "invalid_request",
        "error_description": "The request body is too large or is not a form.",
    }
    return JSONResponse(body, status_code=400, headers={"Cache-Control": "no-store"})


@router.post(
    "/auth/oidc/token",
    response_model=None,
    responses={200: {"model": OidcTokens}, **oauth_errors(400, 401, 403, 409)},
)
async def token(request: Request) -> Response:
    """The token endpoint: a code (with PKCE) or a refresh token for tokens."""
    form = await read_form(request)
    if form is None:
        return _invalid_form()
    return await run_in_threadpool(_token, request, form)


def _token(request: Request, form: FormData) -> Response:
    runtime, server = runtime_of(request), server_of(request)
    client = server.query_client(_client_id_of(request, form))
    refused = _network_refusal(request, client)
    if refused is not None:
        return refused
    ctx = SignInContext.for_client(client.application_id, client.name, request) if client else None
    grant_type = str(form.get("grant_type") or "")
    with transaction(runtime.session_factory) as db:
        oreq = oauth_request(request, db, [], form=form, ctx=ctx)
        oreq.issue_tokens = lambda signed_in, scope: _issue(oreq, signed_in, scope)
        oreq.rotate_refresh = lambda plaintext: _rotate(oreq, plaintext)
        response = server.create_token_response(oreq)
        if oreq.code_reuse is not None:
            _code_reused(oreq, request)
    if response.status_code != 200:
        details = {
            "grant_type": grant_type[:32],
            "status": response.status_code,
            "error": _oauth_error(response),
        }
        audit(
            runtime,
            ctx,
            EventType.OIDC_TOKEN_DENIED,
            outcome=Outcome.DENIED,
            details=details,
            request=request,
        )
    return response


def _oauth_error(response: Response) -> str | None:
    try:
        import orjson

        return str(orjson.loads(bytes(response.body)).get("error"))
    except ValueError:
        return None


def _issue(oreq: OidcRequest, signed_in: SignedInUser, scope: str) -> dict[str, Any]:
    """The token response of a code exchange: an application session in the provider
    session's name, its refresh-token family, and an access token (the ID token is
    Authlib's, added after)."""
    db, runtime, ctx = oreq.db, oreq.runtime, oreq.ctx
    assert ctx is not None and oreq.client is not None
    client: RegisteredClient = oreq.client
    user = signed_in.user
    auth_session, plaintext, _ = open_session(
        db, runtime, ctx, user, None, sso_session_id=signed_in.sso_session_id, scope=scope
    )
    if not CodeStore(runtime).record_session(oreq.authorization_code, str(auth_session.id)):
        # The same code was presented again while this exchange ran: nothing it gives lives.
        revoke_sessions(db, runtime, user.id, [auth_session.id], "code_reused")
    access = mint_access_token(
        runtime,
        str(user.id),
        client.client_id,
        str(auth_session.id),
        client.token_signing_alg,
        {"scope": scope, "client_id": client.client_id},
    )
    emit_on_commit(
        db,
        runtime,
        sign_in_record(
            ctx,
            EventType.OIDC_CODE_EXCHANGED,
            user_id=user.id,
            details={"session_id": str(auth_session.id), "scope": scope},
        ),
    )
    return {
        "token_type": "Bearer",
        "access_token": access,
        "expires_in": runtime.settings.access_token_ttl_seconds,
        "refresh_token": plaintext,
        "scope": scope,
    }


def _rotate(oreq: OidcRequest, plaintext: str) -> dict[str, Any]:
    assert oreq.ctx is not None
    pair = refresh_token_pair(oreq.db, oreq.runtime, oreq.ctx, plaintext)
    claims = jwt.decode(pair["access_token"], options={"verify_signature": False})
    body = {
        "token_type": "Bearer",
        "access_token": pair["access_token"],
        "expires_in": pair["expires_in"],
        "refresh_token": pair["refresh_token"],
    }
    if claims.get("scope"):
        body["scope"] = claims["scope"]
    return body


def _code_reused(oreq: OidcRequest, request: Request) -> None:
    """A code presented again: revoke the session its first exchange started."""
    runtime, ctx = oreq.runtime, oreq.ctx
    session_id = oreq.code_reuse
    revoked = None
    if session_id:
        row = oreq.db.get(AuthSession, uuid.UUID(session_id))
        if row is not None:
            revoke_sessions(oreq.db, runtime, row.user_id, [row.id], "code_reused")
            revoked = str(row.id)
    audit(
        runtime,
        ctx,
        EventType.OIDC_CODE_REUSED,
        outcome=Outcome.DENIED,
        details={"revoked_session_id": revoked},
        request=request,
    )


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("bearer "):
        return None
    return header[7:].strip() or None


def _userinfo_error(status: int, error: str, description: str) -> JSONResponse:
    challenge = f'Bearer error="{error}", error_description="{description}"'
    return JSONResponse(
        {"error": error, "error_description": description},
        status_code=status,
        headers={"WWW-Authenticate": challenge, "Cache-Control": "no-store"},
    )


@router.get(
    "/auth/oidc/userinfo",
    response_model=None,
    responses={200: {"model": UserInfo}, **oauth_errors(401, 403)},
)
async def userinfo(request: Request) -> Response:
    """The signed-in user's claims, for the scopes the access token was granted."""
    return await _userinfo(request)


@router.post(
    "/auth/oidc/userinfo",
    response_model=None,
    responses={200: {"model": UserInfo}, **oauth_errors(401, 403)},
)
async def userinfo_by_post(request: Request) -> Response:
    """The signed-in user's claims (the same, for clients that POST)."""
    return await _userinfo(request)


async def _userinfo(request: Request) -> Response:
    bearer = _bearer(request)
    if bearer is None:
        return _userinfo_error(401, "invalid_token", "A bearer access token is required.")
    try:
        audience = str(jwt.decode(bearer, options={"verify_signature": False}).get("aud"))
    except jwt.PyJWTError:
        return _userinfo_error(401, "invalid_token", "The access token is invalid.")
    client = server_of(request).query_client(audience)
    if client is None:
        return _userinfo_error(401, "invalid_token", "The access token is invalid.")
    refused = _network_refusal(request, client)
    if refused is not None:
        return refused
    verified_tokens = request.app.state.verified_tokens
    try:
        verified = await run_in_threadpool(verified_tokens.verify, bearer, audience)
        view = await session_view(runtime_of(request), verified_tokens, audience, bearer)
    except ServiceError as exc:
        return _userinfo_error(401, "invalid_token", exc.message)
    scope = str(verified.claims.get("scope") or "")
    if "openid" not in scope.split():
        return _userinfo_error(403, "insufficient_scope", "The token was not granted openid.")
    return JSONResponse(user_claims(view["user"], scope), headers={"Cache-Control": "no-store"})


async def _endpoint(request: Request, endpoint: type[Revocation] | type[Introspection]) -> Response:
    form = await read_form(request)
    if form is None:
        return _invalid_form()
    return await run_in_threadpool(_run_endpoint, request, form, endpoint)


def _run_endpoint(
    request: Request, form: FormData, endpoint: type[Revocation] | type[Introspection]
) -> Response:
    runtime, server = runtime_of(request), server_of(request)
    client = server.query_client(_client_id_of(request, form))
    refused = _network_refusal(request, client)
    if refused is not None:
        return refused
    ctx = SignInContext.for_client(client.application_id, client.name, request) if client else None
    with transaction(runtime.session_factory) as db:
        oreq = oauth_request(request, db, [], form=form, ctx=ctx)
        oreq.audit = lambda event, user_id=None, details=None: audit(
            runtime, ctx, event, user_id=user_id, details=details, request=request
        )
        response: Response = endpoint(server, oreq).respond()
        return response


@router.post(
    "/auth/oidc/revoke",
    response_model=None,
    responses={200: {"description": "Revoked (or unknown)"}, **oauth_errors(400, 401, 403)},
)
async def revoke(request: Request) -> Response:
    """Token revocation (RFC 7009): ends the session a refresh or access token names."""
    return await _endpoint(request, Revocation)


@router.post(
    "/auth/oidc/introspect",
    response_model=None,
    responses={200: {"model": Introspected}, **oauth_errors(400, 401, 403)},
)
async def introspect(request: Request) -> Response:
    """Token introspection (RFC 7662), for the client the token was issued to."""
    return await _endpoint(request, Introspection)
